"""Dated rounds, one version per change of dates, basis, notice or deadline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schedulers import Basis, Deadline, DeadlineOf
from subscriptions._tables import (
    RoundRow,
)
from subscriptions.store._db import Repository, StoredRound


class Rounds(Repository):
    """Dated rounds by version."""

    writes = 0  # transactions this process wrote rounds in: bumps the pages' version at once

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A writing transaction; `writes` counts it once it is committed (so a page built
        meanwhile from the older rows is never kept under the newer version)."""
        with self.session() as s:
            yield s
        self.writes += 1

    def current_rounds(self) -> list[StoredRound]:
        """The current version of every round."""
        with self.session() as s:
            rows = s.scalars(
                select(RoundRow).where(RoundRow.current.is_(True)).order_by(RoundRow.key)
            )
            return [_stored(r) for r in rows]

    def stamp(self) -> int:
        """Changes with every new version of any round (the newest row's id): what a page
        built from the rounds is cached by, read in one index look-up."""
        with self.session() as s:
            return int(s.scalar(select(func.max(RoundRow.id))) or 0)

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
        deadline: Deadline | None = None,
        terms: dict[str, Any] | None = None,
    ) -> tuple[StoredRound | None, StoredRound]:
        """Record a round; a change of dates, basis, notice, deadline or the policy's terms
        makes a new version.

        A catalog round never replaces the bureau's dates (confirmed, or withdrawn); a change
        of the catalog's terms still makes a new version of a published round, its dates kept.
        Terms first recorded for a version kept before terms were are adopted without a new
        version. Returns (previous, current).
        """
        stored_deadline = _deadline_json(deadline)
        with self._writing() as s:
            old = s.scalar(select(RoundRow).where(RoundRow.key == key, RoundRow.current.is_(True)))
            if old is not None:
                if old.terms is None:
                    old.terms = terms  # kept before terms were: nobody was told any other
                terms = old.terms if terms is None else terms
                if source == "catalog" and old.source == "withdrawn":
                    return _stored(old), _stored(old)
                if source == "catalog" and old.source == "admin":  # the bureau's dates stand
                    open, close, basis, label = old.open, old.close, Basis(old.basis), old.label
                    notice_url, source, stored_deadline = old.notice_url, old.source, old.deadline
                said = (open, close, basis, notice_url, stored_deadline, terms)
                kept = (old.open, old.close, old.basis, old.notice_url, old.deadline, old.terms)
                if said == kept:
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
                deadline=stored_deadline,
                terms=terms,
            )
            s.add(row)
            s.flush()
            return (_stored(old) if old else None), _stored(row)

    def withdraw(
        self, key: str, *, reason: str, now: dt.datetime
    ) -> tuple[StoredRound, StoredRound] | None:
        """Withdraw the bureau's published round `key`: a new version with the catalog's dates
        as an estimate (tbd when the catalog has none), marked with the reason. None when the
        round's current version is not one the bureau published."""
        with self._writing() as s:
            old = s.scalar(select(RoundRow).where(RoundRow.key == key, RoundRow.current.is_(True)))
            if old is None or old.source != "admin":
                return None
            back = _falls_back(s, key)
            old.current = False
            s.flush()
            row = RoundRow(
                key=key,
                version=old.version + 1,
                current=True,
                policy_id=old.policy_id,
                open=back.open if back else old.open,
                close=back.close if back else old.close,
                # The documents' yearly dates are only an estimate once the bureau withdrew
                # this year's notice: no opening or countdown until it publishes again.
                basis=Basis.ESTIMATED if back else Basis.TBD,
                label=back.label if back else old.label,
                notice_url=None,
                source="withdrawn",
                created_at=now,
                withdrawn=reason,
                deadline=back.deadline if back else old.deadline,
                terms=old.terms,
            )
            s.add(row)
            s.flush()
            return _stored(old), _stored(row)

    def retire(
        self,
        kept: set[str],
        *,
        start: dt.date,
        end: dt.date,
        reasons: dict[str, str],
        now: dt.datetime,
    ) -> list[tuple[StoredRound, StoredRound]]:
        """The catalog's dated rounds between `start` and `end` that it no longer gives (its
        window was corrected, or the policy superseded): each gets a new version with no dates
        (tbd), marked with the reason for its policy (`reasons`, by policy id; a policy not
        named there is not touched). The bureau's own published rounds are kept. Returns
        (old, new) versions."""
        out = []
        with self._writing() as s:
            rows = s.scalars(
                select(RoundRow).where(
                    RoundRow.current.is_(True),
                    RoundRow.source == "catalog",
                    RoundRow.policy_id.in_(list(reasons)),
                )
            ).all()
            for old in rows:
                day = old.close or old.open
                if old.key in kept or day is None or not start <= day <= end:
                    continue
                old.current = False
                s.flush()
                row = RoundRow(
                    key=old.key,
                    version=old.version + 1,
                    current=True,
                    policy_id=old.policy_id,
                    open=None,
                    close=None,
                    basis=Basis.TBD,
                    label=old.label,
                    notice_url=None,
                    source="catalog",
                    created_at=now,
                    withdrawn=reasons[old.policy_id],
                    deadline=None,
                    terms=old.terms,
                )
                s.add(row)
                s.flush()
                out.append((_stored(old), _stored(row)))
        return out


def _falls_back(s: Session, key: str) -> RoundRow | None:
    """The newest catalog version of a round: what it is when the bureau withdraws its own."""
    return s.scalar(
        select(RoundRow)
        .where(RoundRow.key == key, RoundRow.source == "catalog")
        .order_by(RoundRow.version.desc())
        .limit(1)
    )


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
        row.withdrawn,
        _deadline_of(row.deadline),
        row.terms,
    )


def _deadline_json(deadline: Deadline | None) -> dict[str, Any] | None:
    """A deadline as stored: only what it says."""
    if deadline is None:
        return None
    return {
        k: v
        for k, v in (("of", str(deadline.of)), ("to", deadline.to), ("then", deadline.then))
        if v
    }


def _deadline_of(stored: dict[str, Any] | None) -> Deadline | None:
    if not stored:
        return None
    return Deadline(
        DeadlineOf(stored.get("of", "enterprise")), stored.get("to"), stored.get("then")
    )
