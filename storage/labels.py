"""What people said about a mention: the team's word, which always beats the model's.

A label is one correction of one field (not relevant, wrong sentiment, categories, urgency). They
are only ever appended, so the history of who said what stays; the newest label per field wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from storage.label_rows import insert_label, label_value, labels_in
from storage.schema import labels, mentions, outbox, triage

if TYPE_CHECKING:
    from storage.store import Store

# "rule": a team keyword rule muted it at triage time (so reports skip it like a person's label).
ORIGINS = ("cli", "slack", "rule")
# The triage column a label replaces, so SQL that reads triage (stats, reports) agrees with it.
_TRIAGE_COLUMN = {"sentiment": "sentiment", "urgency": "urgency", "category": "categories"}


def add_label(
    store: Store,
    mention_id: int,
    field: str,
    value: object,
    actor: str,
    origin: str = "cli",
    at: datetime | None = None,
) -> None:
    """Record one person's correction; raises ValueError (nothing stored) when it makes no sense."""
    stored = label_value(field, value)
    if origin not in ORIGINS:
        raise ValueError(f"label origin {origin!r} is not one of {', '.join(ORIGINS)}")
    if not actor.strip():
        raise ValueError("label: say who gives it (actor is empty)")
    at = at or datetime.now(UTC)
    with store.engine.begin() as conn:
        if conn.scalar(select(mentions.c.id).where(mentions.c.id == mention_id)) is None:
            raise ValueError(f"label: no mention with id {mention_id}")
        insert_label(conn, mention_id, field, stored, actor.strip(), origin, at)
        if column := _TRIAGE_COLUMN.get(field):
            conn.execute(
                update(triage).where(triage.c.mention_id == mention_id).values({column: stored})
            )
        if field == "relevant" and stored is False:
            # Queued but not yet sent: "never alerted again" includes what is already waiting.
            conn.execute(
                update(outbox)
                .where(outbox.c.mention_id == mention_id, outbox.c.status == "pending")
                .values(
                    status="failed",
                    last_error=f"cancelled: labelled not relevant by {actor.strip()}",
                )
            )


def labels_for(store: Store, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """The newest label per field for each mention that has any: {id: {field: value}}."""
    if not ids:
        return {}
    with store.engine.begin() as conn:
        return labels_in(conn, ids)


def all_labels(store: Store) -> list[tuple[int, str, dict[str, object]]]:
    """(mention id, text, newest labels) for every labelled mention: what `retrain` learns from."""
    with store.engine.begin() as conn:
        ids = conn.scalars(select(labels.c.mention_id).distinct()).all()
        newest = labels_in(conn, ids)
        texts = dict(
            conn.execute(select(mentions.c.id, mentions.c.text).where(mentions.c.id.in_(ids))).all()
        ) if ids else {}
    return [(i, texts[i], newest[i]) for i in sorted(newest) if i in texts]
