"""E-mail sign-ups (double opt-in) and the unsubscribe link of every e-mail subscriber."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from subscriptions._tables import MailLinkRow, MailSignupRow, SubscriberRow
from subscriptions.store._db import Repository

SIGNUP_LIFETIME = dt.timedelta(days=3)  # a confirmation link older than this has expired


@dataclass(frozen=True, slots=True)
class Signup:
    """A sign-up whose confirmation link was opened: the address and what it asked for."""

    address: str
    profile: dict[str, Any]
    weekly: bool


class Mail(Repository):
    """Sign-ups waiting for their confirmation, and unsubscribe tokens."""

    def sign_up(
        self, address: str, profile: dict[str, Any], *, weekly: bool, now: dt.datetime
    ) -> str:
        """Keep a sign-up until its link is opened; return the link's token (kept as a digest).

        Expired sign-ups are forgotten on the way, so the table holds only live ones."""
        token = secrets.token_urlsafe(24)
        with self.session() as s:
            s.execute(
                delete(MailSignupRow).where(
                    MailSignupRow.created_at < now - SIGNUP_LIFETIME,
                    MailSignupRow.confirmed_at.is_(None),
                )
            )
            s.add(
                MailSignupRow(
                    token_hash=_digest(token),
                    address=address,
                    profile=profile,
                    weekly=weekly,
                    created_at=now,
                )
            )
        return token

    def recent_signups(self, address: str, *, since: dt.datetime) -> int:
        """How many sign-ups (confirmation mails) `address` had since `since`."""
        with self.session() as s:
            return int(
                s.scalar(
                    select(func.count()).where(
                        MailSignupRow.address == address, MailSignupRow.created_at >= since
                    )
                )
                or 0
            )

    def pending(self, token: str, *, now: dt.datetime) -> Signup | None:
        """The live, unconfirmed sign-up of a link (None: unknown, used or expired)."""
        with self.session() as s:
            row = self._live(s, token, now)
            return None if row is None else Signup(row.address, dict(row.profile), row.weekly)

    def confirm(self, token: str, *, now: dt.datetime) -> Signup | None:
        """Take a sign-up's link once: its sign-up, or None when unknown, used or expired."""
        with self.session() as s:
            row = self._live(s, token, now)
            if row is None:
                return None
            taken = s.execute(
                update(MailSignupRow)
                .where(MailSignupRow.id == row.id, MailSignupRow.confirmed_at.is_(None))
                .values(confirmed_at=now)
            )
            if not getattr(taken, "rowcount", 0):
                return None  # confirmed in the same moment by another request
            return Signup(row.address, dict(row.profile), row.weekly)

    @staticmethod
    def _live(s: Any, token: str, now: dt.datetime) -> MailSignupRow | None:
        digest = _digest(token)
        row: MailSignupRow | None = s.scalar(
            select(MailSignupRow).where(MailSignupRow.token_hash == digest)
        )
        if (
            row is None
            or not hmac.compare_digest(row.token_hash, digest)
            or row.confirmed_at is not None
            or row.created_at < now - SIGNUP_LIFETIME
        ):
            return None
        return row

    def unsubscribe_token(self, subscriber_id: int, *, now: dt.datetime) -> str:
        """The subscriber's unsubscribe token, made on first use (the same in every message)."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.session() as s:
            s.execute(
                insert(MailLinkRow)
                .values(
                    subscriber_id=subscriber_id, token=secrets.token_urlsafe(24), created_at=now
                )
                .on_conflict_do_nothing(index_elements=["subscriber_id"])
            )
            return str(
                s.scalar(
                    select(MailLinkRow.token).where(MailLinkRow.subscriber_id == subscriber_id)
                )
            )

    def link_for_address(self, address: str, *, now: dt.datetime) -> str | None:
        """The unsubscribe token of the e-mail subscriber at `address` (None: not one)."""
        with self.session() as s:
            found = s.scalar(
                select(SubscriberRow.id).where(
                    SubscriberRow.channel == "email", SubscriberRow.address == address
                )
            )
        return None if found is None else self.unsubscribe_token(int(found), now=now)

    def subscriber_of(self, token: str) -> tuple[int, str] | None:
        """The e-mail subscriber (id, address) an unsubscribe token belongs to."""
        with self.session() as s:
            row = s.execute(
                select(MailLinkRow.token, SubscriberRow.id, SubscriberRow.address)
                .join(SubscriberRow, SubscriberRow.id == MailLinkRow.subscriber_id)
                .where(MailLinkRow.token == token)
            ).first()
        if row is None or not hmac.compare_digest(str(row[0]), token):
            return None
        return int(row[1]), str(row[2])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
