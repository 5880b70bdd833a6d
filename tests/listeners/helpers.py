from __future__ import annotations

from datetime import UTC, datetime

from listeners.base import Page


def seconds_until(when: datetime) -> float:
    return (when - datetime.now(UTC)).total_seconds()


def ids(pages: list[Page]) -> list[str]:
    return [m.native_id for p in pages for m in p.mentions]
