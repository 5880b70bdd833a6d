"""copies are the same post twice, not the same words from anyone: keys recomputed (issue 16)

Earlier keys hashed the words alone, so fifty people asking "Is Acme down?" were stored as one
mention and forty-nine copies, and every count (volume, radar, share of voice, reports) saw one.
The keys are recomputed with the author (or the article's link) in them and the groups formed
again: a mention wrongly grouped under another person's post stands on its own. Routing marks
stay as they are, so nothing old is alerted again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.dedup import dup_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000

_mentions = sa.table(
    "mentions",
    sa.column("id", sa.Integer),
    sa.column("network", sa.String),
    sa.column("url", sa.Text),
    sa.column("author", sa.String),
    sa.column("title", sa.Text),
    sa.column("text", sa.Text),
    sa.column("created_at", sa.DateTime),
    sa.column("dup_key", sa.String),
    sa.column("duplicate_of", sa.Integer),
    sa.column("repost_of", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.add_column(sa.Column("repost_of", sa.String(length=255), nullable=True))
    regroup(op.get_bind())


def regroup(conn: sa.Connection) -> None:
    """Recompute every key, then point each group's later posts at its earliest."""
    m = _mentions
    rows = conn.execute(
        sa.select(
            m.c.id, m.c.network, m.c.url, m.c.author, m.c.title, m.c.text,
            m.c.dup_key, m.c.duplicate_of, m.c.repost_of,
        ).order_by(m.c.created_at, m.c.id)  # oldest first: the first of a key is its original
    )
    changed_keys: list[dict[str, Any]] = []
    changed_groups: list[dict[str, Any]] = []
    roots: dict[str, int] = {}
    for r in rows:
        key = dup_key(
            r.author, r.text, r.title, network=r.network, url=r.url, repost_of=r.repost_of
        )
        if key != r.dup_key:
            changed_keys.append({"k_id": r.id, "k_key": key})
        root = None if key is None else roots.setdefault(key, r.id)
        of = None if root == r.id else root
        if of != r.duplicate_of:
            changed_groups.append({"g_id": r.id, "g_of": of})
    for start in range(0, len(changed_keys), BATCH):
        conn.execute(
            sa.update(m)
            .where(m.c.id == sa.bindparam("k_id"))
            .values(dup_key=sa.bindparam("k_key")),
            changed_keys[start : start + BATCH],
        )
    for start in range(0, len(changed_groups), BATCH):
        conn.execute(
            sa.update(m)
            .where(m.c.id == sa.bindparam("g_id"))
            .values(duplicate_of=sa.bindparam("g_of")),
            changed_groups[start : start + BATCH],
        )


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.drop_column("repost_of")
