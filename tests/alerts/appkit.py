"""Shared by the Slack app tests: an alert really posted to the fake Slack, with its case open."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from alerts.render import render
from alerts.slack import SlackSender
from core.mention import Mention, Metrics
from core.triage import Triage
from fakes.slack import FakeSlack
from storage import Store
from storage.cases import open_case

T0 = datetime(2024, 4, 5, 15, 0, tzinfo=UTC)
T = TypeVar("T")


@dataclass
class Posted:
    mention_id: int
    message: dict[str, Any]  # as the fake Slack stored it: channel_id, ts, text, blocks


def verdict(sentiment: str = "negative") -> Triage:
    scores = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, sentiment: 0.9}
    return Triage(
        sentiment=sentiment,  # type: ignore[arg-type]
        sentiment_scores=scores,
        urgency="high",
        reasons=["outage"],
        categories=["outage"],
        model_version="test",
    )


def post_alert(
    store: Store,
    slack: FakeSlack,
    n: int = 1,
    routes: tuple[tuple[str, str], ...] = (("support", "#brand-alerts"),),
    author: str = "angry_customer",
) -> Posted:
    """Store, triage, queue and deliver one mention as the pipeline does, its case opened."""
    mention = Mention(
        network="reddit",
        native_id=f"t3_{n}",
        url=f"https://www.reddit.com/r/acme/comments/{n}/",
        author=author,
        text=f"Acme has been down for two hours, I want a refund (#{n})",
        created_at=T0,
        metrics=Metrics(likes=12, followers=3400),
    )
    (mid,) = store.save_page("Acme", "reddit", [mention], None, now=T0)
    store.save_triage([(mid, verdict())])
    store.enqueue_alerts([(mid, route, channel) for route, channel in routes], [mid], now=T0)
    for route, _ in routes:
        open_case(store, mid, route, opened_at=T0)
    sender = SlackSender(slack.token, base_url=slack.base_url)
    first = len(slack.messages)
    for item in store.due_alerts(T0):
        text, blocks = render(item.mention)
        delivery = sender.send(item.channel, text, blocks)
        store.mark_delivered(item.id, delivery.channel_id, delivery.ts, T0)
    return Posted(mid, slack.messages[first])


def eventually(check: Callable[[], T], timeout: float = 10.0) -> T:
    """The value of `check()` once it is truthy: clicks are acknowledged first, worked after."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        time.sleep(0.01)
