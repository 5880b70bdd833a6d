"""The verdict on one mention: what a person reading the alert needs to decide how fast to act."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Sentiment = Literal["negative", "neutral", "positive"]
Urgency = Literal["low", "medium", "high", "critical"]

SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")
URGENCIES: tuple[Urgency, ...] = ("low", "medium", "high", "critical")
# What a mention is about (multi-label). Ids are shared with labels, routes, stats and reports.
CATEGORIES: tuple[str, ...] = (
    "complaint",
    "question",
    "outage",
    "security",
    "billing",
    "availability",
    "praise",
    "purchase_intent",
    "job_post",
    "spam",
)


def urgency_rank(level: str) -> int:
    """Order urgencies so routes can say 'high or above'."""
    return URGENCIES.index(level)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TriageInput:
    """What triage may look at: the words, and how many people could see them."""

    text: str
    reach: int = 0
    brand_terms: tuple[str, ...] = ()
    # Who posted where, and the language the network reported: team rules match on these.
    author: str = ""
    network: str = ""
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Triage:
    """Sentiment and urgency with the reasons behind them, so a person can check the call."""

    sentiment: Sentiment
    sentiment_scores: dict[str, float]
    urgency: Urgency
    reasons: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    model_version: str = ""
    # False: muted by a team rule or labelled "not relevant"; such a mention never alerts.
    relevant: bool = True
    lang: str | None = None  # detected language (ISO 639-1), when the detector was sure enough
    # Category/urgency scores and rule hits behind the verdict, kept for people and reports.
    details: dict[str, Any] = field(default_factory=dict)


def category_label(category: str) -> str:
    """A category as people read it: "purchase_intent" -> "purchase intent" (ids stay in JSON,
    CSV and settings)."""
    return category.replace("_", " ")
