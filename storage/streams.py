"""Streams' rows: a batch's mentions for every brand it matched, with the stream's cursor.

A stream reads each post once for all brands, so one batch links mentions to several brands;
those links and the cursor after them are one transaction, as a poll's page and its cursor
are: a crash keeps both or neither, and a restart re-reads exactly what was not kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from core.mention import Mention
from storage import db
from storage.ingest import save_mentions
from storage.sanitize import storable
from storage.schema import stream_state


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """How a stream channel is doing, as its runner measured it just now."""

    connected_since: datetime | None = None
    lag_s: float | None = None
    events_per_s: float | None = None
    matched_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class StreamState:
    stream: str
    channel: str
    cursor: str | None
    connected_since: datetime | None
    updated_at: datetime | None
    lag_s: float | None
    events_per_s: float | None
    matched_per_s: float | None
    last_error: str | None
    last_error_at: datetime | None


def save_batch(
    engine: Engine,
    stream: str,
    channel: str,
    matched: Mapping[str, Sequence[Mention]],
    cursor: str | None,
    health: StreamHealth,
    now: datetime,
) -> dict[str, list[int]]:
    """Store each brand's matches and the channel's cursor and health, atomically; returns the
    ids newly linked to each brand."""
    with engine.begin() as conn:
        linked = {
            brand: save_mentions(conn, brand, stream, [storable(m) for m in mentions], now)
            for brand, mentions in matched.items()
            if mentions
        }
        values: dict[str, Any] = {
            "updated_at": now,
            "connected_since": health.connected_since,
            "lag_s": health.lag_s,
            "events_per_s": health.events_per_s,
            "matched_per_s": health.matched_per_s,
        }
        if cursor is not None:
            values["cursor"] = cursor
        _set(conn, stream, channel, values)
    return linked


def cursor(engine: Engine, stream: str, channel: str) -> str | None:
    with engine.begin() as conn:
        return conn.scalar(
            select(stream_state.c.cursor).where(
                stream_state.c.stream == stream, stream_state.c.channel == channel
            )
        )


def record_error(
    engine: Engine, stream: str, channel: str, error: str | None, now: datetime
) -> None:
    """The connection trouble being retried (None: it recovered); the cursor stays."""
    values: dict[str, Any] = {"last_error": error[:2000] if error else None, "updated_at": now}
    if error:
        values |= {"last_error_at": now, "connected_since": None}
    with engine.begin() as conn:
        _set(conn, stream, channel, values)


def states(engine: Engine) -> list[StreamState]:
    with engine.begin() as conn:
        rows = conn.execute(
            select(stream_state).order_by(stream_state.c.stream, stream_state.c.channel)
        ).all()
    return [StreamState(**row._asdict()) for row in rows]


def _set(conn: Connection, stream: str, channel: str, values: dict[str, Any]) -> None:
    stmt = db.insert(conn, stream_state).values(stream=stream, channel=channel, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["stream", "channel"], set_=values))
