"""The web console's accounts, sessions, sign-in failures, signing key and audit log.

Passwords arrive here already hashed (the console hashes them with Argon2); session tokens are
kept only as their SHA-256, as feed tokens are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from subscriptions._tables import (
    AnswerRow,
    AuditRow,
    ConsoleFailureRow,
    ConsoleKeyRow,
    ConsoleSessionRow,
    ConsoleUserRow,
    DeliveryRow,
    EnterpriseRow,
    OutboxRow,
    SubscriberRow,
    SubscriptionRow,
)
from subscriptions.store._db import SENT, Repository

ROLES = ("viewer", "editor", "admin")  # each may do what the ones before it may


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A console account as the console needs it (the hash only for checking a password)."""

    id: int
    name: str
    role: str
    active: bool
    password_hash: str

    def __repr__(self) -> str:  # the hash is no secret to crack in a log line either
        return f"StaffUser(id={self.id}, name={self.name!r}, role={self.role!r})"

    def may(self, role: str) -> bool:
        """Whether this account may do what `role` may."""
        return self.active and ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: who, when, what, and the record before and after."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class UserExists(ValueError):
    """An account of that name is already there."""


class Console(Repository):
    """Staff accounts and what the console keeps of their use."""

    def add_user(self, name: str, role: str, password_hash: str, *, now: dt.datetime) -> StaffUser:
        """A new account; UserExists when the name is taken."""
        if role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        try:
            with self.session() as s:
                row = ConsoleUserRow(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    active=True,
                    created_at=now,
                    password_changed_at=now,
                )
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError:
            raise UserExists(name) from None

    def user(self, name: str) -> StaffUser | None:
        """The account called `name`."""
        with self.session() as s:
            row = s.scalar(select(ConsoleUserRow).where(ConsoleUserRow.name == name))
            return _user(row) if row else None

    def users(self) -> list[StaffUser]:
        """Every account, by name."""
        with self.session() as s:
            return [_user(r) for r in s.scalars(select(ConsoleUserRow).order_by("name"))]

    def update_user(
        self,
        name: str,
        *,
        now: dt.datetime,
        role: str | None = None,
        password_hash: str | None = None,
        active: bool | None = None,
    ) -> tuple[StaffUser, StaffUser] | None:
        """Change an account: (before, after), or None without one of that name. A new password
        or a disabled account ends the account's sessions."""
        if role is not None and role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        with self.session() as s:
            row = s.scalar(select(ConsoleUserRow).where(ConsoleUserRow.name == name))
            if row is None:
                return None
            before = _user(row)
            if role is not None:
                row.role = role
            if active is not None:
                row.active = active
            if password_hash is not None:
                row.password_hash = password_hash
                row.password_changed_at = now
            if password_hash is not None or active is False:
                s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_id == row.id))
            s.flush()
            return before, _user(row)

    def open_session(self, user_id: int, *, now: dt.datetime) -> str:
        """A new session for the account; its token (only the digest is kept)."""
        token = secrets.token_urlsafe(32)
        with self.session() as s:
            s.add(
                ConsoleSessionRow(
                    token_hash=_digest(token), user_id=user_id, created_at=now, seen_at=now
                )
            )
        return token

    def session_user(
        self, token: str, *, now: dt.datetime, idle: dt.timedelta, lifetime: dt.timedelta
    ) -> StaffUser | None:
        """The active account of a live session (seen within `idle`, opened within `lifetime`);
        a dead session is deleted on the way."""
        if not token:
            return None
        with self.session() as s:
            row = s.get(ConsoleSessionRow, _digest(token))
            if row is None:
                return None
            if now - row.seen_at > idle or now - row.created_at > lifetime:
                s.delete(row)
                return None
            user = s.get(ConsoleUserRow, row.user_id)
            if user is None or not user.active:
                return None
            if now - row.seen_at > dt.timedelta(minutes=1):  # one write a minute, not a request
                row.seen_at = now
            return _user(user)

    def close_session(self, token: str) -> None:
        """Sign out: the session ends."""
        with self.session() as s:
            s.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == _digest(token))
            )

    def failed(self, keys: list[str], *, now: dt.datetime, keep: dt.timedelta) -> None:
        """Count a failed sign-in under each key (account, client address); failures older than
        `keep` are forgotten on the way."""
        with self.session() as s:
            s.execute(delete(ConsoleFailureRow).where(ConsoleFailureRow.at < now - keep))
            s.add_all(ConsoleFailureRow(key=k[:120], at=now) for k in keys)

    def failures(self, key: str, *, since: dt.datetime) -> int:
        """Failed sign-ins under `key` since `since`."""
        with self.session() as s:
            found = s.scalar(
                select(func.count()).where(
                    ConsoleFailureRow.key == key[:120], ConsoleFailureRow.at >= since
                )
            )
            return int(found or 0)

    def forget_failures(self, key: str) -> None:
        """A good sign-in clears its account's failures."""
        with self.session() as s:
            s.execute(delete(ConsoleFailureRow).where(ConsoleFailureRow.key == key[:120]))

    def key(self, name: str, *, now: dt.datetime) -> str:
        """The console's key `name`, made at first use; every process reads the same one."""
        with self.session() as s:
            row = s.get(ConsoleKeyRow, name)
            if row is not None:
                return row.value
        try:
            with self.session() as s:
                s.add(ConsoleKeyRow(name=name, value=secrets.token_hex(32), created_at=now))
        except IntegrityError:  # another process made it first
            pass
        with self.session() as s:
            made = s.get(ConsoleKeyRow, name)
            if made is None:  # pragma: no cover - the row was just written or found written
                raise RuntimeError(f"console key {name!r} could not be stored")
            return made.value

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        *,
        now: dt.datetime,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Write one line of the audit log."""
        self.record_many(actor, action, [(target, before, after)], now=now)

    def record_many(
        self,
        actor: str,
        action: str,
        changes: Sequence[tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
        *,
        now: dt.datetime,
    ) -> None:
        """Write one audit line per (target, before, after), in one transaction."""
        with self.session() as s:
            s.add_all(
                AuditRow(
                    at=now,
                    actor=actor[:120],
                    action=action[:40],
                    target=target[:200],
                    before=before,
                    after=after,
                )
                for target, before, after in changes
            )

    def audit(self, *, limit: int = 200, before_id: int | None = None) -> list[AuditEntry]:
        """The newest audit lines first (older than `before_id` when given)."""
        with self.session() as s:
            query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if before_id is not None:
                query = query.where(AuditRow.id < before_id)
            return [
                AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.before, r.after)
                for r in s.scalars(query)
            ]


def _user(row: ConsoleUserRow) -> StaffUser:
    return StaffUser(row.id, row.name, row.role, row.active, row.password_hash)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    """One line of the delivery log: an attempt (or a drop) of one reminder, with its answer."""

    at: dt.datetime
    round_key: str
    round_version: int
    kind: str
    channel: str
    address: str
    subscriber: str
    enterprises: tuple[str, ...]
    result: str
    detail: str


class Reports(Repository):
    """What the console's dashboard and delivery log read."""

    def delivery_log(
        self,
        *,
        round_key: str | None = None,
        enterprise_id: int | None = None,
        limit: int = 500,
    ) -> list[DeliveryLine]:
        """The newest attempts first, of one round and/or one enterprise's subscribers."""
        with self.session() as s:
            query = (
                select(DeliveryRow, OutboxRow, SubscriberRow)
                .join(OutboxRow, DeliveryRow.outbox_id == OutboxRow.id)
                .join(SubscriberRow, OutboxRow.subscriber_id == SubscriberRow.id)
                .order_by(DeliveryRow.at.desc(), DeliveryRow.id.desc())
                .limit(limit)
            )
            if round_key is not None:
                query = query.where(OutboxRow.round_key == round_key)
            if enterprise_id is not None:
                followers = select(SubscriptionRow.subscriber_id).where(
                    SubscriptionRow.enterprise_id == enterprise_id
                )
                query = query.where(OutboxRow.subscriber_id.in_(followers))
            found = s.execute(query).all()
            ids = {o.subscriber_id for _, o, _ in found}
            names: dict[int, list[str]] = {}
            if ids:
                rows = s.execute(
                    select(SubscriptionRow.subscriber_id, EnterpriseRow.name)
                    .join(EnterpriseRow, SubscriptionRow.enterprise_id == EnterpriseRow.id)
                    .where(SubscriptionRow.subscriber_id.in_(ids))
                    .order_by(EnterpriseRow.name)
                )
                for sid, name in rows:
                    names.setdefault(int(sid), []).append(str(name))
            return [
                DeliveryLine(
                    d.at,
                    o.round_key,
                    o.round_version,
                    o.kind,
                    sub.channel,
                    sub.address,
                    sub.display_name or "",
                    tuple(names.get(o.subscriber_id, ())),
                    d.result,
                    d.detail or "",
                )
                for d, o, sub in found
            ]

    def results_since(self, since: dt.datetime) -> dict[str, int]:
        """Delivery log lines per result (sent, retry, failed, dead, dropped...) since a moment."""
        with self.session() as s:
            rows = s.execute(
                select(DeliveryRow.result, func.count())
                .where(DeliveryRow.at >= since)
                .group_by(DeliveryRow.result)
            )
            return {str(r): int(n) for r, n in rows}

    def told(self) -> dict[str, int]:
        """Per round key: how many subscribers were sent a message of it."""
        with self.session() as s:
            rows = s.execute(
                select(OutboxRow.round_key, func.count(func.distinct(OutboxRow.subscriber_id)))
                .where(OutboxRow.status == SENT)
                .group_by(OutboxRow.round_key)
            )
            return {str(k): int(n) for k, n in rows}

    def answered(self) -> dict[str, dict[str, int]]:
        """Per round key: subscribers per answer (applied, not_interested)."""
        with self.session() as s:
            rows = s.execute(
                select(
                    AnswerRow.round_key,
                    AnswerRow.choice,
                    func.count(func.distinct(AnswerRow.subscriber_id)),
                ).group_by(AnswerRow.round_key, AnswerRow.choice)
            )
            out: dict[str, dict[str, int]] = {}
            for key, choice, n in rows:
                out.setdefault(str(key), {})[str(choice)] = int(n)
            return out

    def enterprise_channels(self) -> dict[int, tuple[str, ...]]:
        """Per enterprise id: the channels of its active subscribers."""
        with self.session() as s:
            rows = s.execute(
                select(SubscriptionRow.enterprise_id, SubscriberRow.channel)
                .join(SubscriberRow, SubscriptionRow.subscriber_id == SubscriberRow.id)
                .where(SubscriberRow.active.is_(True))
                .distinct()
            )
            out: dict[int, set[str]] = {}
            for eid, channel in rows:
                out.setdefault(int(eid), set()).add(str(channel))
            return {k: tuple(sorted(v)) for k, v in out.items()}

    def matched(self) -> dict[str, int]:
        """Per policy id: how many enterprises match it (eligible or possible), as last cached."""
        out: dict[str, int] = {}
        with self.session() as s:
            lists: list[list[Any] | None] = list(s.scalars(select(EnterpriseRow.matches)))
            for found in lists:
                for policy_id in found or ():
                    out[str(policy_id)] = out.get(str(policy_id), 0) + 1
        return out
