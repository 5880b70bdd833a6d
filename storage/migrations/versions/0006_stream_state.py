"""stream_state: each stream channel's cursor and health (issue 21)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_state",
        sa.Column("stream", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("connected_since", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("lag_s", sa.Float(), nullable=True),
        sa.Column("events_per_s", sa.Float(), nullable=True),
        sa.Column("matched_per_s", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("stream", "channel"),
    )


def downgrade() -> None:
    op.drop_table("stream_state")
