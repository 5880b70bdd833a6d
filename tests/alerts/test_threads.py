"""Replies, copies and reposts of an alerted post land in the alert's Slack thread."""

from __future__ import annotations

from datetime import timedelta

from alerts.outbox import deliver_due
from alerts.slack import SlackSender
from fakes.slack import FakeSlack
from storage import Store
from tests.alerts.factories import triage
from tests.alerts.queueing import T0, mention, queue


def test_replies_and_reposts_go_under_the_alert_not_into_the_channel(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    original = mention(1, text="Acme lost all my photos after the update, furious")
    assert queue(store, [original]) == 1
    assert deliver_due(store, sender, now=T0).sent == 1
    (alert,) = slack.messages

    reply = mention(2, text="same here, support never answered", in_reply_to="t3_1")
    repost = mention(3, network="hackernews", native_id="hn3", text=f"RT @user1: {original.text}")
    calm_reply = mention(4, text="works for me", in_reply_to="t3_1")
    queue(store, [reply, repost])
    queue(store, [calm_reply], verdict=triage("positive", "low"))
    deliver_due(store, sender, now=T0 + timedelta(seconds=10))

    top_level = [m for m in slack.messages if not m.get("thread_ts")]
    assert top_level == [alert]  # one message in the channel for the whole conversation
    replies = slack.thread(alert["ts"])
    assert [r["channel"] for r in replies] == [alert["channel_id"]] * 3
    texts = [r["text"] for r in replies]
    assert texts[0].startswith("Reply by user2") and "support never answered" in texts[0]
    assert texts[1].startswith("Repost or copy by user3")
    assert texts[2].startswith("Reply by user4")  # a calm reply is context, not a new alert


def test_a_reply_waits_for_its_alert_and_never_goes_out_first(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(1)])
    slack.rate_limit(retry_after=30)
    assert deliver_due(store, sender, now=T0).retried == 1
    queue(store, [mention(2, text="me too!!", in_reply_to="t3_1")])

    assert deliver_due(store, sender, now=T0 + timedelta(seconds=10)).sent == 0
    assert slack.messages == []  # the reply did not jump ahead of its alert
    assert deliver_due(store, sender, now=T0 + timedelta(seconds=31)).sent == 2
    alert, reply = slack.messages
    assert "thread_ts" not in alert
    assert reply["thread_ts"] == alert["ts"]


def test_replies_to_replies_hang_under_the_first_alert(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(1)])
    deliver_due(store, sender, now=T0)
    queue(store, [mention(2, text="first reply here", in_reply_to="t3_1")])
    queue(store, [mention(3, text="answer to the reply", in_reply_to="t3_2")])
    deliver_due(store, sender, now=T0 + timedelta(seconds=5))
    alert = slack.messages[0]
    # Slack threads are one level deep: a reply's ts is never a thread_ts.
    assert [m["thread_ts"] for m in slack.messages[1:]] == [alert["ts"], alert["ts"]]


def test_a_failed_alert_takes_its_queued_replies_with_it(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(1)])
    queue(store, [mention(2, text="a reply to it", in_reply_to="t3_1")])
    slack.error("msg_too_long")
    report = deliver_due(store, sender, now=T0)
    assert report.failed == 1
    assert store.due_alerts(T0 + timedelta(days=1)) == []  # the reply waits for nothing
    assert slack.messages == []
