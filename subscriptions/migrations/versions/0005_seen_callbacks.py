"""seen callbacks (replay memory of WeCom MsgIds)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import subscriptions._tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_callbacks",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("seen_at", subscriptions._tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_seen_callbacks_seen_at", "seen_callbacks", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_callbacks_seen_at", table_name="seen_callbacks")
    op.drop_table("seen_callbacks")
