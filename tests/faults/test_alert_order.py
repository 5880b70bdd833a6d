"""A channel's pause holds the alerts queued after it too, and a channel's alerts reach Slack in
the order they were queued, whatever Slack answered in between (429s, 5xx, dropped lines)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.fatigue import Policy
from alerts.outbox import deliver_due
from alerts.slack import SlackSender
from fakes.server import Request, Response
from fakes.slack import FakeSlack
from storage import Store
from tests.alerts.queueing import T0, mention, queue

FREE = Policy(group_after=10_000, burst=10_000)  # no grouping, no pacing: only the pauses


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    yield s
    s.close()


def _number(message: dict) -> int:
    text = json.dumps(message)
    return next(n for n in range(1, 1000) if f"(#{n})" in text)


class _Clock:
    now: datetime = T0


def _slack_says(slack: FakeSlack, clock: _Clock, answer) -> list[tuple[datetime, int]]:  # type: ignore[no-untyped-def]
    """Wrap chat.postMessage: `answer(now)` may replace Slack's reply; every attempt is noted
    with the fake time it was made at."""
    attempts: list[tuple[datetime, int]] = []
    serve = slack.server.routes[("POST", "/api/chat.postMessage")]

    def post(req: Request) -> Response:
        attempts.append((clock.now, _number(req.json() or {})))
        return answer(clock.now) or serve(req)

    slack.server.route("POST", "/api/chat.postMessage", post)
    return attempts


def test_a_429_pause_holds_alerts_queued_during_it_and_order_is_kept(store, slack) -> None:
    """Slack answers 429 + Retry-After: 20 for a minute while an alert is queued every 3 s."""
    clock = _Clock()
    limited = Response.json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "20"})
    end = T0 + timedelta(seconds=60)
    attempts = _slack_says(slack, clock, lambda now: limited if now < end else None)
    sender = SlackSender(slack.token, base_url=slack.base_url)

    queued = 0
    for tick in range(0, 180, 3):  # three minutes of fake time, a pass every 3 s
        clock.now = T0 + timedelta(seconds=tick)
        if tick < 90:
            queued += 1
            queue(store, [mention(queued)])
        deliver_due(store, sender, now=clock.now, policy=FREE)

    refusals = [at for at, _ in attempts if at < end]
    for at in refusals:  # after each 429, nothing at all for 20 s: new alerts included
        assert not [t for t, _ in attempts if at < t < at + timedelta(seconds=20)], attempts
    posted = [_number(m) for m in slack.messages]
    assert posted == list(range(1, queued + 1))  # all of them, once each, oldest first


def test_an_older_alert_waiting_for_its_retry_goes_out_before_newer_ones(store, slack) -> None:
    """A 5xx backs alert 1 off; alerts queued after it wait for it instead of overtaking."""
    clock = _Clock()
    down = Response(503, "<html>503 Service Unavailable</html>", {"Content-Type": "text/html"})
    _slack_says(slack, clock, lambda now: down if now < T0 + timedelta(seconds=5) else None)
    sender = SlackSender(slack.token, base_url=slack.base_url)

    queue(store, [mention(1)])
    deliver_due(store, sender, now=T0, policy=FREE)  # 503: retry in 30 s
    for n, tick in enumerate(range(10, 120, 10), start=2):
        clock.now = T0 + timedelta(seconds=tick)
        queue(store, [mention(n)])
        deliver_due(store, sender, now=clock.now, policy=FREE)

    assert [_number(m) for m in slack.messages] == list(range(1, 13))
