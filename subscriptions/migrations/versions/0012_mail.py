"""e-mail: sign-ups waiting for confirmation, unsubscribe links, weekly digests by choice

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscriptions._tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("weekly", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "mail_signups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("address", sa.String(254), nullable=False, index=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("weekly", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "mail_links",
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mail_links")
    op.drop_table("mail_signups")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("weekly")
