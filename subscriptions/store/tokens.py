"""Private calendar feed links: only a digest of each token is kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from subscriptions._tables import (
    EnterpriseRow,
    FeedTokenRow,
)
from subscriptions.store._db import Enterprise, Repository


class Tokens(Repository):
    """Private calendar feed links."""

    def issue_token(self, enterprise_id: int, *, now: dt.datetime) -> str:
        """A new private-feed token for an enterprise; any earlier one stops working (rotation)."""
        token = secrets.token_urlsafe(24)  # 192 random bits
        with self.session() as s:
            s.execute(
                update(FeedTokenRow)
                .where(
                    FeedTokenRow.enterprise_id == enterprise_id, FeedTokenRow.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            s.add(
                FeedTokenRow(
                    enterprise_id=enterprise_id, token_hash=_token_hash(token), created_at=now
                )
            )
        return token

    def revoke_tokens(self, enterprise_id: int, *, now: dt.datetime) -> int:
        """Make every private-feed URL of an enterprise answer 404."""
        with self.session() as s:
            stmt = (
                update(FeedTokenRow)
                .where(
                    FeedTokenRow.enterprise_id == enterprise_id, FeedTokenRow.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            return max(cast(CursorResult[Any], s.execute(stmt)).rowcount, 0)

    def live_token_since(self, enterprise_id: int) -> dt.datetime | None:
        """When the enterprise's live private-feed token was issued; None when it has none."""
        with self.session() as s:
            created: dt.datetime | None = s.scalar(
                select(FeedTokenRow.created_at)
                .where(
                    FeedTokenRow.enterprise_id == enterprise_id, FeedTokenRow.revoked_at.is_(None)
                )
                .order_by(FeedTokenRow.created_at.desc())
                .limit(1)
            )
        return created

    def enterprise_for_token(self, token: str) -> int | None:
        """The enterprise a live token belongs to; None for unknown and revoked alike."""
        digest = _token_hash(token)
        with self.session() as s:
            row = s.execute(
                select(FeedTokenRow.enterprise_id, FeedTokenRow.token_hash).where(
                    FeedTokenRow.token_hash == digest, FeedTokenRow.revoked_at.is_(None)
                )
            ).first()
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        return int(row[0])

    def feed_owner(self, token: str) -> Enterprise | None:
        """The enterprise a live token belongs to (with its updated_at)."""
        digest = _token_hash(token)
        with self.session() as s:
            row = s.execute(
                select(
                    FeedTokenRow.token_hash,
                    EnterpriseRow.id,
                    EnterpriseRow.name,
                    EnterpriseRow.profile,
                    EnterpriseRow.updated_at,
                )
                .join(EnterpriseRow, EnterpriseRow.id == FeedTokenRow.enterprise_id)
                .where(FeedTokenRow.token_hash == digest, FeedTokenRow.revoked_at.is_(None))
            ).first()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        return Enterprise(int(row[1]), str(row[2]), dict(row[3]), row[4])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
