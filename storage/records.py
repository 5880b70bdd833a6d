"""What storage hands back: a mention as stored, with its brands, triage and grouping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.mention import Metrics
from core.triage import Triage


@dataclass(frozen=True, slots=True)
class StoredMention:
    id: int
    network: str
    native_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    fetched_at: datetime
    brands: list[str]
    title: str | None = None
    lang: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    in_reply_to: str | None = None
    duplicate_of: int | None = None
    repost_of: str | None = None
    triage: Triage | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the network's own fields (Mention.raw)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One alert waiting to be delivered: exactly one per (route, mention), ever."""

    id: int
    route: str
    channel: str
    mention: StoredMention
    attempts: int
    # alert | thread (a reply under `thread_of`'s message) | group | escalation (0004)
    kind: str = "alert"
    thread_of: int | None = None
    payload: dict[str, Any] | None = None
    created_at: datetime | None = None
    # Claimed before by a sender whose lease ran out: it may have died after Slack took it.
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class SourceState:
    brand: str
    source: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    disabled_until: datetime | None
    cursor: str | None
    rate_budget: str | None = None
