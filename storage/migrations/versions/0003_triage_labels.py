"""triage language and details; labels people give (issue 5)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("triage") as batch_op:
        batch_op.add_column(sa.Column("lang", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("labels") as batch_op:
        batch_op.create_index("ix_labels_mention", ["mention_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("labels") as batch_op:
        batch_op.drop_index("ix_labels_mention")
    op.drop_table("labels")
    with op.batch_alter_table("triage") as batch_op:
        batch_op.drop_column("details")
        batch_op.drop_column("lang")
