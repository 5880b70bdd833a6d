"""Names of Slack people, cached: the case log shows "Bo Smith (U0BO)", not a bare id.

Filled by alerts/people.py from Slack's `users.info` when someone works a case; read by the
CLI, CSV export and reports, which run without asking Slack anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from storage import db
from storage.schema import slack_users

if TYPE_CHECKING:
    from storage import Store


def fetched(store: Store, user_ids: Iterable[str]) -> dict[str, tuple[str | None, datetime]]:
    """id -> (name or None when Slack did not know them, when it was asked) for cached ids."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    with store.engine.begin() as conn:
        rows = conn.execute(select(slack_users).where(slack_users.c.id.in_(ids))).all()
    return {r.id: (r.name, r.fetched_at) for r in rows}


def names(store: Store, user_ids: Iterable[str]) -> dict[str, str]:
    """id -> display name, for the ids whose name is known."""
    return {i: name for i, (name, _) in fetched(store, user_ids).items() if name}


def remember(store: Store, user_id: str, name: str | None, at: datetime) -> None:
    with store.engine.begin() as conn:
        stmt = db.insert(conn, slack_users).values(id=user_id, name=name, fetched_at=at)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[slack_users.c.id], set_={"name": name, "fetched_at": at}
            )
        )


def label(user_id: str | None, known: dict[str, str]) -> str | None:
    """"Bo Smith (U0BO)" when the name is known, else the id as it is."""
    if not user_id:
        return None
    name = known.get(user_id)
    return f"{name} ({user_id})" if name and name != user_id else user_id
