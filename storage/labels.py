"""What people said about a mention: the team's word, which always beats the model's.

A label is one correction of one field (not relevant, wrong sentiment, categories, urgency). They
are only ever appended, so the history of who said what stays; the newest label per field wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select, update

from core.triage import CATEGORIES, SENTIMENTS, URGENCIES, Triage
from storage.schema import labels, mentions, outbox, triage

if TYPE_CHECKING:  # the Store imports this module to apply labels when it loads mentions
    from storage.store import Store

FIELDS = ("relevant", "sentiment", "category", "urgency")
# "rule": a team keyword rule muted it at triage time (so reports skip it like a person's label).
ORIGINS = ("cli", "slack", "rule")
# The triage column a label replaces, so SQL that reads triage (stats, reports) agrees with it.
_TRIAGE_COLUMN = {"sentiment": "sentiment", "urgency": "urgency", "category": "categories"}


def _valid(field: str, value: object) -> object:
    """The value in its stored shape, or a ValueError a person can act on."""
    if field == "relevant":
        if not isinstance(value, bool):
            raise ValueError(f"label relevant: expected true or false, got {value!r}")
        return value
    if field == "sentiment":
        if value not in SENTIMENTS:
            raise ValueError(f"label sentiment: {value!r} is not one of {', '.join(SENTIMENTS)}")
        return value
    if field == "urgency":
        if value not in URGENCIES:
            raise ValueError(f"label urgency: {value!r} is not one of {', '.join(URGENCIES)}")
        return value
    if field == "category":
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ValueError(f"label category: expected a list of categories, got {value!r}")
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(
                f"label category: unknown {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(CATEGORIES)}"
            )
        return list(dict.fromkeys(value))  # an empty list says "none of these"
    raise ValueError(f"label field {field!r} is not one of {', '.join(FIELDS)}")


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
    stored = _valid(field, value)
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


def insert_label(
    conn: Connection,
    mention_id: int,
    field: str,
    value: object,
    actor: str,
    origin: str,
    at: datetime,
) -> None:
    """One label row inside the caller's transaction (the Store mutes with it atomically)."""
    conn.execute(
        labels.insert().values(
            mention_id=mention_id,
            field=field,
            value=_valid(field, value),
            actor=actor,
            origin=origin,
            created_at=at,
        )
    )


def overridden(verdict: Triage, labelled: Mapping[str, object] | None) -> Triage:
    """The model's verdict with the team's newest labels put over it, saying so in the reasons.

    Labels always win: a person who said "negative" or "not relevant" must never be overruled
    by the next load, route or report.
    """
    if not labelled:
        return verdict
    changes: dict[str, object] = {}
    said: list[str] = []
    if "sentiment" in labelled:
        changes["sentiment"] = labelled["sentiment"]
        said.append(f"labelled {labelled['sentiment']}")
    if "urgency" in labelled:
        changes["urgency"] = labelled["urgency"]
        said.append(f"labelled urgency {labelled['urgency']}")
    if "category" in labelled:
        categories = list(labelled["category"])  # type: ignore[call-overload]
        changes["categories"] = categories
        said.append(f"labelled {', '.join(categories) or 'no category'}")
    if "relevant" in labelled:
        changes["relevant"] = bool(labelled["relevant"])
        muted = not verdict.relevant or verdict.details.get("muted_by")
        if not labelled["relevant"] and not muted:  # a rule mute already says why
            said.append("labelled not relevant")
    reasons = [*said, *(r for r in verdict.reasons if r not in said)]
    return replace(verdict, reasons=reasons, **changes)  # type: ignore[arg-type]


def labels_for(store: Store, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """The newest label per field for each mention that has any: {id: {field: value}}."""
    if not ids:
        return {}
    with store.engine.begin() as conn:
        return labels_in(conn, ids)


def labels_in(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """`labels_for` inside a transaction the caller already holds (Store._load uses it)."""
    found: dict[int, dict[str, object]] = {}
    for start in range(0, len(ids), 500):  # stay under SQL parameter limits on big reads
        chunk = list(ids[start : start + 500])
        rows = conn.execute(
            select(labels.c.mention_id, labels.c.field, labels.c.value)
            .where(labels.c.mention_id.in_(chunk))
            .order_by(labels.c.created_at, labels.c.id)
        )
        for row in rows:  # oldest first, so the newest overwrites
            found.setdefault(row.mention_id, {})[row.field] = row.value
    return found


def all_labels(store: Store) -> list[tuple[int, str, dict[str, object]]]:
    """(mention id, text, newest labels) for every labelled mention: what `retrain` learns from."""
    with store.engine.begin() as conn:
        ids = conn.scalars(select(labels.c.mention_id).distinct()).all()
        newest = labels_in(conn, ids)
        texts = dict(
            conn.execute(select(mentions.c.id, mentions.c.text).where(mentions.c.id.in_(ids))).all()
        ) if ids else {}
    return [(i, texts[i], newest[i]) for i in sorted(newest) if i in texts]
