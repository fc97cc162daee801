"""cache each enterprise's matches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:32:33.044823
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matches", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("matched_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("matched_catalog", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("matched_catalog")
        batch_op.drop_column("matched_on")
        batch_op.drop_column("matches")
