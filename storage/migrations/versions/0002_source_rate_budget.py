"""source_state.rate_budget: the rate-limit budget a network last reported

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_state") as batch_op:
        batch_op.add_column(sa.Column("rate_budget", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch_op:
        batch_op.drop_column("rate_budget")
