"""The outbox against the real Store and the fake Slack: what reaches the channel, and how often."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from alerts.console import ConsoleSender
from alerts.fatigue import Policy
from alerts.outbox import DeliveryReport, backoff, deliver_due
from alerts.routes import Route
from alerts.slack import SlackSender
from fakes.slack import FakeSlack
from storage import Store
from tests.alerts.factories import triage
from tests.alerts.queueing import T0, mention, queue

# For tests about retries and claims: no burst grouping, no pacing (tests/alerts/test_fatigue.py).
FREE = Policy(group_after=10_000, burst=10_000)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'listenpost.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def sender(slack: FakeSlack) -> SlackSender:
    return SlackSender(slack.token, base_url=slack.base_url)


def test_rate_limited_alert_is_delivered_once_after_retry_after(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    assert queue(store, [mention()]) == 1
    slack.rate_limit(retry_after=30)

    assert deliver_due(store, sender, now=T0) == DeliveryReport(retried=1)
    assert deliver_due(store, sender, now=T0 + timedelta(seconds=20)) == DeliveryReport()
    assert len(slack.posts) == 1  # nothing sent before Retry-After ran out
    assert deliver_due(store, sender, now=T0 + timedelta(seconds=31)) == DeliveryReport(sent=1)
    assert deliver_due(store, sender, now=T0 + timedelta(hours=2)) == DeliveryReport()

    assert len(slack.messages) == 1
    assert store.delivered_count() == 1


def test_channel_broadcasts_in_a_post_reach_slack_inert(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    hostile = mention(text="<!channel> <@U0ADMIN> Acme stole my money", author="<!here>")
    queue(store, [hostile])
    deliver_due(store, sender, now=T0)

    (message,) = slack.messages
    payload = json.dumps(message["blocks"])
    for received in (message["text"], payload):
        assert "<!channel>" not in received
        assert "<!here>" not in received
        assert "<@U0ADMIN>" not in received
        assert "&lt;!channel&gt;" in received


def test_permanent_error_marks_failed_and_is_never_retried(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention()])
    slack.error("msg_too_long")

    assert deliver_due(store, sender, now=T0) == DeliveryReport(failed=1)
    assert store.due_alerts(T0 + timedelta(days=30)) == []
    assert deliver_due(store, sender, now=T0 + timedelta(days=30)) == DeliveryReport()
    assert len(slack.posts) == 1
    assert store.delivered_count() == 0


def test_restart_does_not_resend_delivered_alerts(db_url: str, slack: FakeSlack) -> None:
    sender = SlackSender(slack.token, base_url=slack.base_url)
    first = Store(db_url)
    queue(first, [mention(1), mention(2)])
    assert deliver_due(first, sender, now=T0).sent == 2
    first.close()

    reopened = Store(db_url)
    try:
        # The same mentions polled and routed again after the restart queue nothing new.
        assert queue(reopened, [mention(1), mention(2)]) == 0
        assert deliver_due(reopened, sender, now=T0 + timedelta(hours=1)) == DeliveryReport()
        assert reopened.delivered_count() == 2
    finally:
        reopened.close()
    assert len(slack.messages) == 2


def test_retry_after_pauses_only_that_channel(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    routes = [Route(name="a", channel="#team-a"), Route(name="b", channel="#team-b")]
    queue(store, [mention(1), mention(2)], routes=routes)
    slack.rate_limit(retry_after=60, channel="#team-a")

    report = deliver_due(store, sender, now=T0)
    assert report == DeliveryReport(sent=2, retried=1, deferred=1)
    assert [p["channel"] for p in slack.posts].count("#team-a") == 1  # no second 429
    assert sorted(m["channel"] for m in slack.messages) == ["#team-b", "#team-b"]

    assert deliver_due(store, sender, now=T0 + timedelta(seconds=61)).sent == 2
    assert sorted(m["channel"] for m in slack.messages) == ["#team-a"] * 2 + ["#team-b"] * 2


def test_outage_backs_off_exponentially_then_delivers(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention()])
    slack.server_error(500)
    slack.server_error(503)

    assert deliver_due(store, sender, now=T0).retried == 1
    assert deliver_due(store, sender, now=T0 + timedelta(seconds=29)) == DeliveryReport()
    second = T0 + timedelta(seconds=30)
    assert deliver_due(store, sender, now=second).retried == 1
    assert deliver_due(store, sender, now=second + timedelta(seconds=59)) == DeliveryReport()
    assert deliver_due(store, sender, now=second + timedelta(seconds=60)).sent == 1
    assert len(slack.posts) == 3 and len(slack.messages) == 1


def test_server_errors_never_use_up_the_attempts(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    """`max_attempts` bounds bugs only: an outage longer than it is waited out, not a loss."""
    queue(store, [mention()])
    for _ in range(5):
        slack.server_error(500)

    assert deliver_due(store, sender, now=T0, max_attempts=2).retried == 1
    later = T0 + timedelta(minutes=1)
    assert deliver_due(store, sender, now=later, max_attempts=2).retried == 1
    assert deliver_due(store, sender, now=T0 + timedelta(days=1), max_attempts=2).retried == 1
    assert len(slack.posts) == 3 and store.delivered_count() == 0
    assert deliver_due(store, sender, now=T0 + timedelta(days=2), max_attempts=2).retried == 1
    assert deliver_due(store, sender, now=T0 + timedelta(days=3), max_attempts=2).retried == 1
    assert deliver_due(store, sender, now=T0 + timedelta(days=4), max_attempts=2).sent == 1


def test_duplicates_and_calm_mentions_are_not_alerted(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    original = mention(1, text="Acme outage, everything is down")
    # user1 posting the same words on another network: a cross-post
    repost = mention(
        2, network="hackernews", author="user1", text="Acme outage, everything is down"
    )
    assert queue(store, [original, repost]) == 1  # the near-duplicate copy is no new alert
    assert queue(store, [mention(3)], verdict=triage("positive", "low")) == 0
    assert deliver_due(store, sender, now=T0).sent == 2
    message, copy = slack.messages
    assert "https://www.reddit.com/r/acme/comments/1/" in message["text"]
    assert copy["thread_ts"] == message["ts"]  # the copy is shown under the original


def test_console_sender_delivers_through_the_same_outbox(store: Store) -> None:
    out = io.StringIO()
    queue(store, [mention()])
    report = deliver_due(store, ConsoleSender(Console(file=out, width=120)), now=T0)
    assert report == DeliveryReport(sent=1)
    assert "Acme is down again, I want a refund (#1)" in out.getvalue()
    assert store.delivered_count() == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in range(4)] == [30, 60, 120, 240]
    assert backoff(10_000) == timedelta(minutes=10)  # long rate-limited histories do not overflow


def test_a_429_storm_delivers_everything_once_in_order_without_early_sends(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(n) for n in range(1, 6)])
    slack.rate_limit(retry_after=30)
    assert deliver_due(store, sender, policy=FREE, now=T0).retried == 1
    # Passes before Retry-After runs out send nothing at all: no extra 429 is earned.
    for seconds in (5, 15, 29):
        later = T0 + timedelta(seconds=seconds)
        assert deliver_due(store, sender, policy=FREE, now=later).sent == 0
    assert len(slack.posts) == 1
    slack.rate_limit(retry_after=10)
    deliver_due(store, sender, policy=FREE, now=T0 + timedelta(seconds=30))
    deliver_due(store, sender, policy=FREE, now=T0 + timedelta(seconds=41))
    assert len(slack.posts) == 7  # 5 messages + 2 rate-limited attempts, nothing more
    assert [m["text"].split("(#")[1][0] for m in slack.messages] == ["1", "2", "3", "4", "5"]
    assert store.delivered_count() == 5


def test_a_revoked_token_holds_every_alert_until_fixed_instead_of_failing_them(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(n) for n in range(1, 31)])
    slack.error("token_revoked")
    report = deliver_due(store, sender, policy=FREE, now=T0)
    assert report.failed == 0 and report.sent == 0
    assert len(slack.posts) == 1  # one refusal, not thirty
    early = T0 + timedelta(minutes=5)
    assert deliver_due(store, sender, policy=FREE, now=early) == DeliveryReport()
    later = deliver_due(store, sender, policy=FREE, now=T0 + timedelta(minutes=11))
    assert later.sent == 30 and store.delivered_count() == 30


def test_an_unknown_channel_holds_only_that_channel(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    routes = [Route("a", "#gone"), Route("b", "#brand-alerts")]
    queue(store, [mention(1)], routes=routes)
    slack.error("channel_not_found", channel="#gone")
    report = deliver_due(store, sender, now=T0)
    assert report.sent == 1 and report.failed == 0
    assert [m["channel"] for m in slack.messages] == ["#brand-alerts"]


def test_two_processes_on_one_database_send_each_alert_once(db_url: str, slack: FakeSlack) -> None:
    first, second = Store(db_url), Store(db_url)
    queue(first, [mention(n) for n in range(1, 11)])
    sender = SlackSender(slack.token, base_url=slack.base_url)
    due = first.due_alerts(T0)
    assert len(due) == 10
    # The second process starts its pass after the first claimed some alerts.
    for item in due[:5]:
        assert first.claim(item.id, T0, T0 + timedelta(minutes=2))
    deliver_due(second, sender, policy=FREE, now=T0)
    assert len(slack.messages) == 0  # the channel's older alerts are being sent: none overtakes
    assert deliver_due(second, sender, policy=FREE, now=T0 + timedelta(minutes=1)).sent == 0
    # The first process died holding five claims: they come back once the lease runs out.
    assert deliver_due(second, sender, policy=FREE, now=T0 + timedelta(minutes=3)).sent == 10
    assert len(slack.messages) == 10 and second.delivered_count() == 10
    order = [next(n for n in range(1, 11) if f"(#{n})" in json.dumps(m)) for m in slack.messages]
    assert order == list(range(1, 11))
    first.close()
    second.close()
