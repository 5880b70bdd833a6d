"""A Slack outage far longer than the backoff ceiling loses nothing: every alert waits, none is
marked failed, and all go out once, in order, within one backoff step of Slack's return."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.fatigue import Policy
from alerts.outbox import BACKOFF_CAP, deliver_due
from alerts.slack import SlackSender
from fakes.server import Request, Response
from fakes.slack import FakeSlack
from storage import Store
from storage.schema import outbox
from tests.alerts.queueing import T0, mention, queue

FREE = Policy(group_after=10_000, burst=10_000)
OUTAGE = timedelta(hours=3)  # the old give-up point was 8 attempts, about 64 minutes


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    yield s
    s.close()


def _closed_port() -> str:
    """A local address nothing listens on: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def _failed(store: Store) -> int:
    with store.engine.begin() as conn:
        return conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "failed")
        ) or 0


def _number(message: dict) -> int:
    text = json.dumps(message)
    return next(n for n in range(1, 1000) if f"(#{n})" in text)


Fault = Callable[[FakeSlack, list[datetime]], SlackSender]


def _answering(status: int, headers: dict[str, str]) -> Fault:
    def install(slack: FakeSlack, clock: list[datetime]) -> SlackSender:
        serve = slack.server.routes[("POST", "/api/chat.postMessage")]
        body = {"ok": False, "error": "ratelimited" if status == 429 else "service_unavailable"}

        def post(req: Request) -> Response:
            if clock[0] < T0 + OUTAGE:
                return Response.json(body, status, headers)
            return serve(req)

        slack.server.route("POST", "/api/chat.postMessage", post)
        return SlackSender(slack.token, base_url=slack.base_url)

    return install


def _refused(slack: FakeSlack, clock: list[datetime]) -> SlackSender:
    dead = SlackSender(slack.token, base_url=_closed_port())
    live = SlackSender(slack.token, base_url=slack.base_url)

    class Switch:
        def send(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return (dead if clock[0] < T0 + OUTAGE else live).send(*args, **kwargs)

    return Switch()  # type: ignore[return-value]


@pytest.mark.parametrize(
    "fault",
    [
        _answering(500, {"Content-Type": "application/json"}),
        _answering(503, {"Content-Type": "application/json"}),
        _answering(429, {"Retry-After": "30"}),
        _refused,
    ],
    ids=["http-500", "http-503", "429-storm", "connection-refused"],
)
def test_an_outage_past_the_backoff_ceiling_loses_no_alert(store, slack, fault: Fault) -> None:
    clock = [T0]
    sender = fault(slack, clock)
    for n in range(1, 6):
        queue(store, [mention(n)])
    # A pass a minute, as the scheduler's delivery job runs, for the outage and 30 min after.
    for minute in range(int(OUTAGE.total_seconds() // 60) + 30):
        clock[0] = T0 + timedelta(minutes=minute)
        if minute in (20, 90, 170):  # alerts keep coming during the outage
            queue(store, [mention(6 + minute // 60)])
        deliver_due(store, sender, now=clock[0], policy=FREE)
        if clock[0] < T0 + OUTAGE:
            assert _failed(store) == 0  # waiting, never given up
            assert not slack.messages

    assert _failed(store) == 0
    posted = [_number(m) for m in slack.messages]
    assert posted == [1, 2, 3, 4, 5, 6, 7, 8]  # all of them, once each, in order
    assert BACKOFF_CAP <= 30 * 60  # so the 30 minutes after the outage were enough
