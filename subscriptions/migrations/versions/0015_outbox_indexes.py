"""outbox indexes that match the queries: the claim and the next wake-up filter on status
and sort on next_attempt_at; dropping old versions' reminders and finding who was told of a
round filter on round_key and status

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["status", "next_attempt_at", "id"])
    op.create_index("ix_outbox_round", "outbox", ["round_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_round", table_name="outbox")
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "due_at"])
