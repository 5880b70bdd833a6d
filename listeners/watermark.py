"""The cursor of newest-first searches: the newest time seen, plus the ids seen just before it.

A bare "newer than T" cursor loses posts two ways: a second post stamped with the same second as
T, and a post the network indexes late (search lags posting by seconds to minutes). So each
search re-reads an overlap window before T and skips the ids it already holds; the cost is a
few repeated results per poll, the gain is not missing the late ones.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger(__name__)

OVERLAP_SECONDS = 15 * 60
MAX_SEEN = 2000  # bounds the cursor's size for very busy queries
CLOCK_SKEW = 5 * 60  # how far ahead of our clock a post's own timestamp is believed


@dataclass(frozen=True)
class Watermark:
    """`since`: newest created time committed (epoch seconds); `seen`: id -> created time for
    everything fetched inside the overlap window."""

    since: int | None = None
    seen: dict[str, int] = field(default_factory=dict)
    overlap: int = OVERLAP_SECONDS

    @classmethod
    def load(cls, cursor: str | None, overlap: int = OVERLAP_SECONDS) -> Watermark:
        """The stored cursor; an unreadable one restarts from scratch (storage upserts, so the
        worst case is re-reading results, never losing any)."""
        if not cursor:
            return cls(overlap=overlap)
        try:
            data = json.loads(cursor)
            since = data["since"]
            seen = {str(k): int(v) for k, v in data.get("seen", {}).items()}
            return cls(int(since) if since is not None else None, seen, overlap)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning(
                "ignoring an unreadable cursor %r; starting from the newest results", cursor[:80]
            )
            return cls(overlap=overlap)

    @classmethod
    def reaching_back_to(cls, when: datetime, overlap: int = OVERLAP_SECONDS) -> Watermark:
        """A watermark whose window opens at `when`: the next search reads everything since
        (backfill), and later ones carry on from what it found."""
        return cls(int(when.timestamp()) + overlap, {}, overlap)

    @property
    def floor(self) -> int | None:
        """Oldest created time still worth fetching; None on the first run (no lower bound)."""
        return None if self.since is None else self.since - self.overlap

    def is_old(self, created: int) -> bool:
        """Older than the overlap window: a newest-first listing can stop here."""
        floor = self.floor
        return floor is not None and created < floor

    def is_new(self, native_id: str, created: int) -> bool:
        return not self.is_old(created) and native_id not in self.seen

    def advance(self, fetched: Iterable[tuple[str, int]], now: float | None = None) -> Watermark:
        """The watermark once everything in `fetched` (matching the query or not) is committed.

        A post stamped in the future (a wrong clock on a federated server, a bogus date in a
        feed) must not drag the watermark ahead of real time: every genuine post until then
        would look older than the window and be skipped. Such times count as "now" instead.
        """
        latest = int(now if now is not None else time.time()) + CLOCK_SKEW
        seen = dict(self.seen)
        seen.update((native_id, min(created, latest)) for native_id, created in fetched)
        since = max(
            [*seen.values(), *([self.since] if self.since is not None else [])], default=None
        )
        if since is None:
            return self
        floor = since - self.overlap
        kept = sorted(((k, v) for k, v in seen.items() if v >= floor), key=lambda kv: -kv[1])
        return Watermark(since, dict(kept[:MAX_SEEN]), self.overlap)

    def dumps(self) -> str:
        return json.dumps({"since": self.since, "seen": self.seen}, separators=(",", ":"))
