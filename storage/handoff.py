"""Outbox rows for hand-offs (a signed webhook, a Zendesk ticket) rather than Slack messages.

They live in the same outbox table as Slack alerts, so they share its guarantees: one row per
(route, mention) ever, claimed with a lease before sending, retried with `not_before`. Their
`kind` keeps them out of the Slack pass (`Store.due_alerts` returns Slack kinds only) and their
`channel` is "<kind>:<route>", so pausing one hand-off target never holds a Slack channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update

from storage import db
from storage.schema import outbox

if TYPE_CHECKING:
    from storage.store import Store

KINDS = ("webhook", "zendesk")


@dataclass(frozen=True, slots=True)
class HandoffItem:
    id: int
    route: str
    kind: str
    channel: str
    mention_id: int
    attempts: int
    payload: dict[str, Any] | None = None  # the body as first sent, resent as is on retries


def channel_for(kind: str, route: str) -> str:
    return f"{kind}:{route}"


def enqueue(store: Store, items: Sequence[tuple[int, str, str]], now: datetime) -> int:
    """Queue (mention_id, route, kind) hand-offs; ones already queued are ignored. Returns how
    many are new."""
    added = 0
    with store.engine.begin() as conn:
        for mention_id, route, kind in items:
            if kind not in KINDS:
                raise ValueError(f"hand-off kind must be one of {', '.join(KINDS)}, not {kind!r}")
            queued = conn.execute(
                db.insert(conn, outbox)
                .values(
                    route=route,
                    mention_id=mention_id,
                    channel=channel_for(kind, route),
                    kind=kind,
                    status="pending",
                    attempts=0,
                    not_before=None,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(outbox.c.id)
            ).first()
            added += queued is not None
    return added


def due(store: Store, now: datetime, limit: int = 50) -> list[HandoffItem]:
    """Hand-offs to try now, oldest first (pending, or claimed by a sender whose lease ran out)."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(outbox)
            .where(
                outbox.c.kind.in_(KINDS),
                outbox.c.status.in_(("pending", "sending")),
                or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        ).all()
    return [
        HandoffItem(r.id, r.route, r.kind, r.channel, r.mention_id, r.attempts, r.payload)
        for r in rows
    ]


def freeze(store: Store, outbox_id: int, payload: dict[str, Any]) -> None:
    """Keep the body of the first attempt: a retry must send the very same bytes' content, or
    Zendesk refuses the reused Idempotency-Key and a receiver sees two versions of one event
    (reach and labels change while a hand-off waits)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.payload.is_(None))
            .values(payload=payload)
        )


def status(store: Store, mention_id: int, route: str) -> tuple[str, int, str | None, str | None]:
    """(status, attempts, last_error, receipt) of one hand-off, for tests and `doctor`."""
    with store.engine.begin() as conn:
        row = conn.execute(
            select(outbox.c.status, outbox.c.attempts, outbox.c.last_error, outbox.c.ts).where(
                and_(outbox.c.mention_id == mention_id, outbox.c.route == route)
            )
        ).one()
    return row.status, row.attempts, row.last_error, row.ts
