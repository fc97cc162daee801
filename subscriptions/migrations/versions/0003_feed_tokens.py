"""private feed tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:46:28.245475
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import subscriptions._tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", subscriptions._tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", subscriptions._tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feed_tokens_enterprise_id"), ["enterprise_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_tokens_enterprise_id"))

    op.drop_table("feed_tokens")
