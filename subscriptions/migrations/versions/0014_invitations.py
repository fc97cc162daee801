"""invitations: a code per enterprise the bureau imported, so that its contact's chat or
e-mail subscription attaches to the bureau's record

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscriptions._tables import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column(
            "enterprise_id",
            sa.Integer(),
            sa.ForeignKey("enterprises.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invitations")
