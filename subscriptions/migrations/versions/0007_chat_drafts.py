"""chat drafts (a guided registration or an announcement waiting for confirmation, per chat)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import subscriptions._tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_drafts",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", subscriptions._tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat"),
    )


def downgrade() -> None:
    op.drop_table("chat_drafts")
