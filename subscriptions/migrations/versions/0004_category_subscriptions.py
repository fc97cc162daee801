"""category subscriptions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:06:49.794223
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import subscriptions._tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("created_at", subscriptions._tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscriber_id"),
    )


def downgrade() -> None:
    op.drop_table("category_subscriptions")
