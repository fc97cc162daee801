"""rounds.withdrawn: the bureau's reason when a version withdraws a published round

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:35:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("withdrawn", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("withdrawn")
