"""topics per mention and spikes (issue 7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_topics",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.PrimaryKeyConstraint("mention_id", "brand", "topic"),
    )
    with op.batch_alter_table("mention_topics") as batch_op:
        batch_op.create_index("ix_mention_topics_topic", ["brand", "topic"], unique=False)
    op.create_table(
        "spikes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("negative_share", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("channel", sa.String(length=255), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spikes") as batch_op:
        batch_op.create_index("ix_spikes_open", ["brand", "scope", "key", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("spikes") as batch_op:
        batch_op.drop_index("ix_spikes_open")
    op.drop_table("spikes")
    with op.batch_alter_table("mention_topics") as batch_op:
        batch_op.drop_index("ix_mention_topics_topic")
    op.drop_table("mention_topics")
