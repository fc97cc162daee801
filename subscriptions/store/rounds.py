"""Dated rounds, one version per change of dates or basis."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from schedulers import Basis
from subscriptions._tables import (
    RoundRow,
)
from subscriptions.store._db import Repository, StoredRound


class Rounds(Repository):
    """Dated rounds by version."""

    def current_rounds(self) -> list[StoredRound]:
        """The current version of every round."""
        with self.session() as s:
            rows = s.scalars(
                select(RoundRow).where(RoundRow.current.is_(True)).order_by(RoundRow.key)
            )
            return [_stored(r) for r in rows]

    def round_versions(self, key: str) -> list[StoredRound]:
        """Every version of a round, oldest first."""
        with self.session() as s:
            rows = s.scalars(select(RoundRow).where(RoundRow.key == key).order_by(RoundRow.version))
            return [_stored(r) for r in rows]

    def put_round(
        self,
        *,
        key: str,
        policy_id: str,
        open: dt.date | None,
        close: dt.date | None,
        basis: Basis,
        label: str | None,
        source: str,
        now: dt.datetime,
        notice_url: str | None = None,
    ) -> tuple[StoredRound | None, StoredRound]:
        """Record a round; a change of dates or basis makes a new version.

        A catalog round never replaces an admin (confirmed) one. Returns (previous, current).
        """
        with self.session() as s:
            old = s.scalar(select(RoundRow).where(RoundRow.key == key, RoundRow.current.is_(True)))
            if old is not None:
                same = (old.open, old.close, old.basis, old.notice_url) == (
                    open,
                    close,
                    basis,
                    notice_url,
                )
                if same or (source == "catalog" and old.source == "admin"):
                    return _stored(old), _stored(old)
                old.current = False
                s.flush()
            row = RoundRow(
                key=key,
                version=(old.version + 1) if old else 1,
                current=True,
                policy_id=policy_id,
                open=open,
                close=close,
                basis=basis,
                label=label,
                notice_url=notice_url,
                source=source,
                created_at=now,
            )
            s.add(row)
            s.flush()
            return (_stored(old) if old else None), _stored(row)


def _stored(row: RoundRow) -> StoredRound:
    return StoredRound(
        row.key,
        row.version,
        row.policy_id,
        row.open,
        row.close,
        Basis(row.basis),
        row.label,
        row.notice_url,
        row.source,
        row.created_at,
    )
