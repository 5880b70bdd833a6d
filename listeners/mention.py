"""The one shape every network's posts are turned into.

Listeners know networks; everything downstream (storage, triage, alerts) knows only this
dataclass, so adding a network never touches the rest of the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Metrics:
    """Reach and engagement as the network reported them at fetch time (None = not reported)."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    followers: int | None = None

    def reach(self) -> int:
        """A single number to rank posts by: the audience that could have seen it."""
        return (self.followers or 0) + (self.reposts or 0) * 10 + (self.likes or 0)


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment, story or page that matched a brand's query.

    `created_at` is timezone-aware UTC. `raw` keeps the network's own fields that we do not
    normalise, so nothing the API told us is lost.
    """

    network: str
    native_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    title: str | None = None
    lang: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    in_reply_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Page:
    """One batch of mentions that is committed in one transaction.

    `cursor` is the value to persist *after* these mentions are committed; None keeps the cursor
    where it was. Listeners that page newest-first only set it on the last page, so a process
    killed mid-cycle re-fetches from the old cursor and loses nothing.
    """

    mentions: list[Mention]
    cursor: str | None = None
