"""rate_slots: the next free send slot per rate-limited credential, shared by every dispatcher
process on PostgreSQL (each send reserves the next slot in one statement)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscriptions._tables import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_slots",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("next_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
