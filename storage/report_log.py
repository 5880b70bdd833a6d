"""Which scheduled reports went out: one row per (channel, period, period start) in `digests`.

The row is written before anything is posted and completed step by step (summary message,
then files, then `sent_at`), so a restart in the middle finishes the same report instead of
posting a second one, and a report already sent is never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from storage import db
from storage.schema import digests

if TYPE_CHECKING:
    from storage.store import Store


@dataclass(frozen=True, slots=True)
class ReportRun:
    id: int
    sent_at: datetime | None
    channel_id: str | None
    ts: str | None  # the summary message the files are attached under


def claim(store: Store, channel: str, period: str, start: datetime) -> ReportRun:
    """The row for this report, created if new."""
    with store.engine.begin() as conn:
        conn.execute(
            db.insert(conn, digests)
            .values(channel=channel, period=period, period_start=start)
            .on_conflict_do_nothing()
        )
        row = conn.execute(
            select(digests).where(
                digests.c.channel == channel,
                digests.c.period == period,
                digests.c.period_start == start,
            )
        ).one()
    return ReportRun(row.id, row.sent_at, row.channel_id, row.ts)


def posted(store: Store, run_id: int, channel_id: str | None, ts: str | None) -> None:
    """The summary message is in Slack: a retry attaches the files under it, not a new one."""
    with store.engine.begin() as conn:
        conn.execute(
            update(digests).where(digests.c.id == run_id).values(channel_id=channel_id, ts=ts)
        )


def sent(store: Store, run_id: int, at: datetime) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(digests).where(digests.c.id == run_id).values(sent_at=at))
