"""Stored, triaged mentions built directly: routing and rendering read nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from core.mention import Metrics
from core.triage import Triage
from storage.records import StoredMention

CREATED = datetime(2024, 4, 5, 14, 3, tzinfo=UTC)


def triage(
    sentiment: str = "negative",
    urgency: str = "high",
    reasons: tuple[str, ...] = ("outage", "refund"),
) -> Triage:
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, sentiment: 0.91}
    return Triage(
        sentiment=sentiment,  # type: ignore[arg-type]
        sentiment_scores=scores,
        urgency=urgency,  # type: ignore[arg-type]
        reasons=list(reasons),
        categories=["outage"],
        model_version="test",
    )


def stored(**overrides: object) -> StoredMention:
    """A triaged Reddit mention of Acme; override any field."""
    fields: dict[str, object] = {
        "id": 7,
        "network": "reddit",
        "native_id": "t3_abc",
        "url": "https://www.reddit.com/r/acme/comments/abc/outage/",
        "author": "angry_customer",
        "text": "Acme has been down for two hours and support is silent.",
        "created_at": CREATED,
        "fetched_at": CREATED,
        "brands": ["Acme"],
        "metrics": Metrics(likes=1200, reposts=None, followers=12345),
        "triage": triage(),
    }
    fields.update(overrides)
    return StoredMention(**fields)  # type: ignore[arg-type]
