"""Labels inside a transaction the caller holds: checking one, writing it, reading the newest per
field, and putting them over the model's verdict. The Store does all four while it loads or
mutes mentions; storage/labels.py builds the Store-level calls on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select

from core.triage import CATEGORIES, SENTIMENTS, URGENCIES, Triage
from storage.schema import labels

FIELDS = ("relevant", "sentiment", "category", "urgency")


def label_value(field: str, value: object) -> object:
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
            value=label_value(field, value),
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
