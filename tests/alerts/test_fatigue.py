"""Alert fatigue: bursts folded into one message, per-channel pacing, 429 storms, quiet hours."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from alerts.fatigue import Policy
from alerts.outbox import DeliveryReport, deliver_due
from alerts.routes import Route
from alerts.slack import SlackSender
from fakes.slack import FakeSlack
from storage import Store, alerting
from tests.alerts.factories import triage
from tests.alerts.queueing import T0, delivered_at, mention, queue, waiting

POLICY = Policy(group_after=5, group_window=timedelta(minutes=10), per_second=1.0, burst=3)


def drain(
    store: Store,
    sender: SlackSender,
    start: datetime = T0,
    routes: list[Route] | None = None,
    step: timedelta = timedelta(seconds=1),
    passes: int = 200,
) -> datetime:
    """Run a delivery pass every `step` of simulated time until nothing is due; returns the end."""
    now = start
    for _ in range(passes):
        deliver_due(store, sender, now=now, routes=routes or [], policy=POLICY)
        if not waiting(store):
            return now
        now += step
    raise AssertionError("the outbox never drained")


def test_a_burst_sends_the_first_alerts_then_one_message_with_the_rest_in_its_thread(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(n) for n in range(1, 13)])
    drain(store, sender)

    top = [m for m in slack.messages if not m.get("thread_ts")]
    assert len(top) == 6  # five alerts as usual, then the summary
    assert [m["text"].split("(#")[1][0] for m in top[:5]] == ["1", "2", "3", "4", "5"]
    group = top[5]
    assert group["text"].startswith("🔁 7 more like this — Acme · outage")
    (listing,) = slack.thread(group["ts"])
    lines = [b["text"]["text"] for b in listing["blocks"]]
    assert [line.split("(#")[1].split(")")[0] for line in lines] == [str(n) for n in range(6, 13)]
    assert store.delivered_count() == 13  # every alert accounted for, none sent twice


def test_thirty_people_saying_one_thing_fold_into_a_message_that_says_how_many(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    """Each person is an alert (not a copy of the first), so the burst tells the channel how
    many people are saying it; a same-author cross-post threads under that author's alert."""
    sentence = "Is Acme down? Checkout keeps failing for me"
    assert queue(store, [mention(n, text=sentence) for n in range(1, 31)]) == 30
    drain(store, sender)
    cross_post = mention(31, network="x", native_id="x31", author="user1", text=sentence)
    assert queue(store, [cross_post]) == 0  # a copy: it goes under user1's alert
    drain(store, sender, start=T0 + timedelta(minutes=1))

    top = [m for m in slack.messages if not m.get("thread_ts")]
    assert len(top) == 6
    assert top[5]["text"] == (
        "🔁 25 more like this — Acme · outage · 25 different people are saying this"
    )
    assert "*25 different people are saying this*" in top[5]["blocks"][0]["text"]["text"]
    listed = sum(len(m["blocks"]) for m in slack.thread(top[5]["ts"]))
    assert listed == 25
    (copy,) = slack.thread(top[0]["ts"])
    assert copy["text"].startswith("Repost or copy by user1")


def test_alike_alerts_arriving_during_a_burst_join_its_thread(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(n) for n in range(1, 9)])
    end = drain(store, sender)
    queue(store, [mention(n) for n in range(9, 12)])
    drain(store, sender, start=end + timedelta(minutes=2))

    top = [m for m in slack.messages if not m.get("thread_ts")]
    assert len(top) == 6
    thread = slack.thread(top[5]["ts"])
    assert [len(m["blocks"]) for m in thread] == [3, 3]
    (update,) = slack.updates  # the summary's count follows the thread
    assert update["ts"] == top[5]["ts"] and update["text"].startswith("🔁 6 more like this")


def test_different_categories_are_not_grouped_together(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    billing = triage()
    billing.categories[:] = ["billing"]
    queue(store, [mention(n) for n in range(1, 5)])
    queue(store, [mention(n) for n in range(5, 9)], verdict=billing)
    drain(store, sender)
    assert len(slack.messages) == 8 and not any(m.get("thread_ts") for m in slack.messages)


def test_pacing_keeps_each_channel_within_one_message_per_second(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    free = Policy(group_after=1000, burst=3, per_second=1.0)
    queue(store, [mention(n) for n in range(1, 21)])
    first = deliver_due(store, sender, now=T0, policy=free)
    assert first == DeliveryReport(sent=3, deferred=17)
    now = T0
    while waiting(store):
        now += timedelta(milliseconds=500)
        deliver_due(store, sender, now=now, policy=free)
    assert_paced(delivered_at(store, "#brand-alerts"), burst=3)
    assert len(slack.messages) == 20


def test_a_paced_backlog_does_not_hold_up_other_channels(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    free = Policy(group_after=1000, burst=3)
    queue(store, [mention(n) for n in range(1, 121)], routes=[Route("a", "#a")])
    queue(store, [mention(500)], routes=[Route("b", "#b")])
    report = deliver_due(store, sender, now=T0, policy=free)
    assert report.sent == 4
    assert [m["channel"] for m in slack.messages] == ["#a", "#a", "#a", "#b"]


def test_a_429_storm_delivers_everything_once_in_order_within_limits(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    channels = ["#a", "#b", "#c"]
    routes = [Route(c.strip("#"), c) for c in channels]
    expected: dict[str, list[str]] = {c: [] for c in channels}
    for n in range(1, 16):
        # Different brands: this is about rate limits, not burst grouping.
        queue(store, [mention(n)], routes=routes, brand=f"Brand{n}")
        for c in channels:
            expected[c].append(f"(#{n})")
    rng = random.Random(7)
    now = T0
    blocked: dict[str, datetime] = {}  # channel -> end of its Retry-After
    armed: set[str] = set()  # channels whose next post gets a 429
    for _ in range(600):
        for c in sorted(set(channels) - armed):
            if rng.random() < 0.3:
                slack.rate_limit(retry_after=rng.choice([1, 2, 5]), channel=c)
                armed.add(c)
        posts, limited = len(slack.posts), len(slack.rate_limited)
        deliver_due(store, sender, now=now, routes=routes, policy=POLICY)
        for post in slack.posts[posts:]:
            c = post["channel"]
            assert now >= blocked.get(c, now), f"{c} posted to during its Retry-After"
        for c, retry in slack.rate_limited[limited:]:
            assert c is not None
            blocked[c] = now + timedelta(seconds=retry)
            armed.discard(c)
        if not waiting(store):
            break
        now += timedelta(milliseconds=500)
    else:
        raise AssertionError("the storm never drained")
    assert len(slack.rate_limited) > 10  # it was a storm

    for c in channels:
        got = [m["text"] for m in slack.messages if m["channel"] == c]
        assert [t[t.index("(#") : t.index(")", t.index("(#")) + 1] for t in got] == expected[c]
        assert_paced(delivered_at(store, c), burst=POLICY.burst)
    assert store.delivered_count() == 45


def assert_paced(times: list[datetime], burst: int) -> None:
    """At most `burst` messages in any `burst`-second window: one per second on average."""
    for i in range(len(times) - burst):
        assert times[i + burst] - times[i] >= timedelta(seconds=burst), times[i : i + burst + 1]


# ---- quiet hours ---------------------------------------------------------------------------

NIGHT = datetime(2024, 4, 5, 21, 30, tzinfo=UTC)  # 23:30 in Berlin (CEST)
QUIET = Route(
    "night", "#support", quiet_hours="22:00-07:00", timezone="Europe/Berlin", min_urgency="high"
)


def test_quiet_hours_hold_non_critical_alerts_for_the_digest_but_not_critical_ones(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(1)], routes=[QUIET])
    leak = mention(2, text="Acme data breach, passwords leaked")
    queue(store, [leak], routes=[QUIET], verdict=triage(urgency="critical"))
    report = deliver_due(store, sender, now=NIGHT, routes=[QUIET], digest_channels={"#support"})
    assert report.sent == 1 and report.held == 1
    (sent,) = slack.messages
    assert "passwords leaked" in sent["text"]
    held = alerting.held_alerts(store, "#support")
    assert [mention_id for _, mention_id, _ in held] == [1]
    morning = datetime(2024, 4, 6, 7, 0, tzinfo=UTC)
    assert deliver_due(store, sender, now=morning, routes=[QUIET]).sent == 0  # digest's job


def test_quiet_hours_without_a_digest_send_when_they_end(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    queue(store, [mention(1)], routes=[QUIET])
    assert deliver_due(store, sender, now=NIGHT, routes=[QUIET]).held == 1
    before = datetime(2024, 4, 6, 4, 59, tzinfo=UTC)  # 06:59 in Berlin
    assert deliver_due(store, sender, now=before, routes=[QUIET]).sent == 0
    end = datetime(2024, 4, 6, 5, 0, tzinfo=UTC)
    assert deliver_due(store, sender, now=end, routes=[QUIET]).sent == 1
    body = json.dumps(slack.messages[0]["blocks"])
    assert "refund" in body
