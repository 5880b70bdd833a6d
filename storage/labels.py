"""What people said about a mention: the team's word, which always beats the model's.

A label is one correction of one field (not relevant, wrong sentiment, categories, urgency). They
are only ever appended, so the history of who said what stays; the newest label per field wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from core.mention import display_text
from storage.label_rows import insert_label, label_value, labels_in
from storage.schema import labels, mention_brands, mentions, outbox, triage

if TYPE_CHECKING:
    from storage.store import Store

# "rule": a team keyword rule (or the relevance model) muted it at triage time, so reports skip
# it like a person's label.
ORIGINS = ("cli", "slack", "rule")
PEOPLE = ("cli", "slack")  # what people said: what the relevance model learns from
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


def people_labels_mark(store: Store) -> tuple[int, int]:
    """(how many, newest id) of the labels people gave: changes whenever they say more, so the
    relevance model is rebuilt only then."""
    with store.engine.begin() as conn:
        row = conn.execute(
            select(func.count(), func.max(labels.c.id)).where(labels.c.origin.in_(PEOPLE))
        ).one()
    return int(row[0] or 0), int(row[1] or 0)


def relevance_examples(store: Store) -> list[tuple[int, str, str, bool]]:
    """(mention id, brand, text, relevant) for each post a person judged, per linked brand.

    Not relevant: the newest `relevant` label a person gave says so. Relevant: a person said
    so, or corrected its sentiment, urgency or categories (it was worth correcting). Labels a
    rule or the relevance model gave are left out, so the model never learns from itself.
    """
    verdict: dict[int, bool] = {}
    with store.engine.begin() as conn:
        for r in conn.execute(
            select(labels.c.mention_id, labels.c.field, labels.c.value)
            .where(labels.c.origin.in_(PEOPLE))
            .order_by(labels.c.created_at, labels.c.id)
        ):
            if r.field == "relevant":
                verdict[r.mention_id] = r.value is not False
            else:
                verdict.setdefault(r.mention_id, True)
        ids = sorted(verdict)
        found: list[tuple[int, str, str, bool]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for r in conn.execute(
                select(mentions.c.id, mentions.c.title, mentions.c.text, mention_brands.c.brand)
                .join(mention_brands, mention_brands.c.mention_id == mentions.c.id)
                .where(mentions.c.id.in_(chunk))
                .order_by(mentions.c.id, mention_brands.c.brand)
            ):
                text = display_text(r.title, r.text)
                found.append((r.id, r.brand, text, verdict[r.id]))
    return found
