"""answers: what an enterprise said of a round (已申报, 不感兴趣), with when

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import subscriptions._tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("round_key", sa.String(length=160), nullable=False),
        sa.Column("choice", sa.String(length=20), nullable=False),
        sa.Column("at", subscriptions._tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_answers_round", "answers", ["round_key", "choice"])


def downgrade() -> None:
    op.drop_index("ix_answers_round", table_name="answers")
    op.drop_table("answers")
