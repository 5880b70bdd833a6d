"""Mentions and verdicts as listeners and the triager produce them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.mention import Mention, Metrics
from core.triage import Triage

T0 = datetime(2024, 4, 5, 12, 0, tzinfo=UTC)


def mention(n: int, text: str | None = None, **overrides: Any) -> Mention:
    """Post number `n` on Reddit, created `n` minutes after T0."""
    fields: dict[str, Any] = {
        "network": "reddit",
        "native_id": f"t3_{n}",
        "url": f"https://www.reddit.com/r/acme/comments/{n}/",
        "author": f"user{n}",
        "text": text if text is not None else f"Acme support never answered ticket number {n}",
        "created_at": T0 + timedelta(minutes=n),
        "metrics": Metrics(likes=n, followers=100 * n),
    }
    fields.update(overrides)
    return Mention(**fields)


def verdict(sentiment: str = "negative", urgency: str = "high") -> Triage:
    scores = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, sentiment: 0.9}
    return Triage(
        sentiment=sentiment,  # type: ignore[arg-type]
        sentiment_scores=scores,
        urgency=urgency,  # type: ignore[arg-type]
        reasons=["outage"],
        categories=["outage"],
        model_version="test-1",
    )
