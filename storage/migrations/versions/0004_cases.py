"""cases worked from Slack: status, assignee, history, SLAs, mutes, threads, digests (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("first_response_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(), nullable=True),
        sa.Column("breached_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.PrimaryKeyConstraint("mention_id"),
    )
    with op.batch_alter_table("cases") as batch_op:
        batch_op.create_index("ix_cases_status", ["status"], unique=False)
        batch_op.create_index("ix_cases_sla_due_at", ["sla_due_at"], unique=False)
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_events") as batch_op:
        batch_op.create_index("ix_case_events_mention", ["mention_id"], unique=False)
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=True),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "period", "period_start", name="uq_digests_period"),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="alert")
        )
        batch_op.add_column(sa.Column("thread_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("payload")
        batch_op.drop_column("thread_of")
        batch_op.drop_column("kind")
    op.drop_table("digests")
    op.drop_table("mutes")
    with op.batch_alter_table("case_events") as batch_op:
        batch_op.drop_index("ix_case_events_mention")
    op.drop_table("case_events")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_index("ix_cases_sla_due_at")
        batch_op.drop_index("ix_cases_status")
    op.drop_table("cases")
