"""Enterprises, the chats subscribed to them, their preferences and categories."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schedulers import DEFAULT_OFFSETS, DEFAULT_SEND_TIME
from subscriptions._tables import (
    CategorySubscriptionRow,
    DeliveryRow,
    EnterpriseRow,
    FeedTokenRow,
    InvitationRow,
    OutboxRow,
    SubscriberRow,
    SubscriptionRow,
)
from subscriptions.store._db import (
    FAILED,
    PENDING,
    SENT,
    DeliveryStats,
    Enterprise,
    ReminderSettings,
    Repository,
    Subscription,
)
from subscriptions.store.outbox import Outbox

DEFAULT_SEND = DEFAULT_SEND_TIME.strftime("%H:%M")  # stored as HH:MM, Ezhou time


# Invitation codes: no 0/O, 1/I/L to misread when typed from a letter or a screen.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_LENGTH = 8


class Registry(Repository):
    """Enterprises, the chats subscribed to them, their preferences and categories."""

    def save_enterprise(self, name: str, profile: dict[str, Any], *, now: dt.datetime) -> int:
        """Insert or update an enterprise by name; return its id."""
        with self.session() as s:
            row = s.scalar(select(EnterpriseRow).where(EnterpriseRow.name == name))
            if row is None:
                row = EnterpriseRow(name=name, profile=profile, created_at=now, updated_at=now)
                s.add(row)
            elif row.profile != profile:
                row.profile, row.updated_at, row.matches = profile, now, None
            s.flush()
            return row.id

    def enterprises(self) -> list[Enterprise]:
        """Every enterprise, by id."""
        with self.session() as s:
            rows = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.name, EnterpriseRow.profile).order_by(
                    EnterpriseRow.id
                )
            )
            return [Enterprise(r.id, r.name, dict(r.profile)) for r in rows]

    def unmatched(
        self,
        *,
        on: dt.date,
        catalog: str,
        max_age: dt.timedelta,
        subscribers: Collection[int] | None = None,
    ) -> list[tuple[int, dict[str, Any]]]:
        """(id, profile) of enterprises whose cached matches are missing or out of date: of
        every enterprise, or of those the `subscribers` follow."""
        query = (
            select(EnterpriseRow.id, EnterpriseRow.profile)
            .where(
                EnterpriseRow.matches.is_(None)
                | (EnterpriseRow.matched_catalog != catalog)
                | (EnterpriseRow.matched_on < on - max_age)
                | (EnterpriseRow.matched_on > on)
            )
            .order_by(EnterpriseRow.id)
        )
        if subscribers is not None:
            followed = select(SubscriptionRow.enterprise_id).where(
                SubscriptionRow.subscriber_id.in_(list(subscribers))
            )
            query = query.where(EnterpriseRow.id.in_(followed))
        with self.session() as s:
            return [(row[0], row[1]) for row in s.execute(query)]

    def save_matches(
        self, found: Sequence[tuple[int, list[str]]], *, on: dt.date, catalog: str
    ) -> None:
        """Cache the policies each enterprise matches."""
        with self.session() as s:
            for start in range(0, len(found), 1000):
                s.execute(
                    update(EnterpriseRow),
                    [
                        {"id": i, "matches": m, "matched_on": on, "matched_catalog": catalog}
                        for i, m in found[start : start + 1000]
                    ],
                )

    def subscriber(
        self, channel: str, address: str, *, display_name: str | None, now: dt.datetime
    ) -> int:
        """The id of the subscriber at (channel, address), created (or reactivated) if needed.

        One statement, so messages of one chat arriving at once agree on the subscriber."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(SubscriberRow)
            .values(
                channel=channel,
                address=address,
                display_name=display_name,
                active=True,
                created_at=now,
            )
            .on_conflict_do_update(
                index_elements=["channel", "address"],
                set_={"active": True, "deactivated_reason": None},
            )
            .returning(SubscriberRow.id)
        )
        with self.session() as s:
            return int(s.execute(stmt).scalar_one())

    def subscribe(
        self,
        subscriber_id: int,
        enterprise_id: int,
        *,
        now: dt.datetime,
        offsets: Sequence[int] = DEFAULT_OFFSETS,
        send_time: str = DEFAULT_SEND,
        weekly: bool = False,
    ) -> int:
        """Subscribe a subscriber to an enterprise's rounds (idempotent); return the id."""
        with self.session() as s:
            ids = (subscriber_id, enterprise_id)
            return self._subscribe(s, ids, now, offsets=offsets, send_time=send_time, weekly=weekly)

    def _subscribe(self, s: Session, ids: tuple[int, int], now: dt.datetime, **prefs: Any) -> int:
        """`subscribe` in the caller's transaction: `ids` are (subscriber, enterprise)."""
        subscriber_id, enterprise_id = ids
        offsets: Sequence[int] = prefs.get("offsets", DEFAULT_OFFSETS)
        send_time: str = prefs.get("send_time", DEFAULT_SEND)
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(SubscriptionRow)
            .values(
                subscriber_id=subscriber_id,
                enterprise_id=enterprise_id,
                offsets=list(offsets),
                notify_open=True,
                send_time=send_time,
                muted_policies=[],
                muted_categories=[],
                created_at=now,
                weekly=bool(prefs.get("weekly", False)),
            )
            .on_conflict_do_nothing(index_elements=["subscriber_id", "enterprise_id"])
        )
        s.execute(stmt)
        found = s.scalar(
            select(SubscriptionRow.id).where(
                SubscriptionRow.subscriber_id == subscriber_id,
                SubscriptionRow.enterprise_id == enterprise_id,
            )
        )
        return int(found) if found is not None else 0

    def subscriptions(self, only: Collection[int] | None = None) -> list[Subscription]:
        """Every subscription of an active subscriber (or of those `only`), with its
        enterprise's cached matches."""
        query = (
            select(SubscriptionRow, EnterpriseRow.matches, SubscriberRow.channel)
            .join(EnterpriseRow, EnterpriseRow.id == SubscriptionRow.enterprise_id)
            .join(SubscriberRow, SubscriberRow.id == SubscriptionRow.subscriber_id)
            .where(SubscriberRow.active.is_(True))
            .order_by(SubscriptionRow.id)
        )
        if only is not None:
            query = query.where(SubscriptionRow.subscriber_id.in_(list(only)))
        with self.session() as s:
            rows: list[tuple[SubscriptionRow, list[str] | None, str]] = [
                (r[0], r[1], r[2]) for r in s.execute(query)
            ]
            return [
                Subscription(
                    subscriber_id=sub.subscriber_id,
                    enterprise_id=sub.enterprise_id,
                    channel=channel,
                    offsets=tuple(sub.offsets),
                    notify_open=sub.notify_open,
                    send_time=sub.send_time,
                    muted_policies=frozenset(sub.muted_policies),
                    muted_categories=frozenset(sub.muted_categories),
                    created_at=sub.created_at,
                    matches=None if matches is None else tuple(matches),
                    weekly=sub.weekly,
                )
                for sub, matches, channel in rows
            ]

    def registration(self, subscriber_id: int) -> Enterprise | None:
        """The enterprise the subscriber registered, if any."""
        with self.session() as s:
            row = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.name, EnterpriseRow.profile)
                .join(SubscriptionRow, SubscriptionRow.enterprise_id == EnterpriseRow.id)
                .where(SubscriptionRow.subscriber_id == subscriber_id)
                .order_by(SubscriptionRow.id)
            ).first()
            return None if row is None else Enterprise(int(row[0]), str(row[1]), dict(row[2]))

    def register(self, subscriber_id: int, profile: dict[str, Any], *, now: dt.datetime) -> int:
        """Create or update the enterprise of a chat registration and subscribe the chat to it.

        One transaction that first locks the chat's subscriber row: two messages of one chat
        handled at once register one after the other, never two enterprises."""
        name = str(profile["name"])
        with self.session() as s:
            self._lock_subscriber(s, subscriber_id)
            current = s.scalar(
                select(SubscriptionRow.enterprise_id)
                .where(SubscriptionRow.subscriber_id == subscriber_id)
                .order_by(SubscriptionRow.id)
                .limit(1)
            )
            taken = s.scalar(select(EnterpriseRow.id).where(EnterpriseRow.name == name))
            if taken is not None and taken != current:
                name = f"{name}（{subscriber_id}）"  # another chat registered that name first
            for attempt in range(2):
                try:
                    with s.begin_nested():
                        enterprise_id = self._write_registration(
                            s, current, {**profile, "name": name}, now
                        )
                    break
                except IntegrityError:
                    if attempt:
                        raise
                    # Another chat took the name in the same moment.
                    name = f"{profile['name']}（{subscriber_id}）"
            self._subscribe(s, (subscriber_id, enterprise_id), now)
        return enterprise_id

    @staticmethod
    def _write_registration(
        s: Session, current: int | None, profile: dict[str, Any], now: dt.datetime
    ) -> int:
        name = str(profile["name"])
        if current is None:
            row = EnterpriseRow(name=name, profile=profile, created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            return row.id
        s.execute(
            update(EnterpriseRow)
            .where(EnterpriseRow.id == current)
            .values(name=name, profile=profile, updated_at=now, matches=None)
        )
        return current

    def invitation(self, enterprise_id: int, *, now: dt.datetime, renew: bool = False) -> str:
        """The enterprise's invitation code, made at first ask (`renew`: a new one, and the old
        one stops working)."""
        with self.session() as s:
            row = s.scalar(
                select(InvitationRow).where(InvitationRow.enterprise_id == enterprise_id)
            )
            if row is not None and not renew:
                return row.code
            if row is not None:
                s.delete(row)
                s.flush()
            code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
            s.add(InvitationRow(code=code, enterprise_id=enterprise_id, created_at=now))
            return code

    def invitation_code(self, enterprise_id: int) -> str | None:
        """The enterprise's invitation code, if one was made."""
        with self.session() as s:
            return s.scalar(
                select(InvitationRow.code).where(InvitationRow.enterprise_id == enterprise_id)
            )

    def enterprise(self, enterprise_id: int) -> Enterprise | None:
        """One enterprise by id."""
        with self.session() as s:
            row = s.get(EnterpriseRow, enterprise_id)
            return None if row is None else Enterprise(row.id, row.name, dict(row.profile))

    def invitations(self) -> dict[int, str]:
        """Every enterprise's invitation code, by enterprise id."""
        with self.session() as s:
            return {
                int(e): str(c)
                for e, c in s.execute(select(InvitationRow.enterprise_id, InvitationRow.code))
            }

    def invited(self, code: str) -> Enterprise | None:
        """The enterprise an invitation code names (any case, spaces and dashes ignored)."""
        cleaned = "".join(c for c in code.upper() if c.isalnum())[: INVITE_LENGTH + 4]
        if len(cleaned) != INVITE_LENGTH:
            return None
        with self.session() as s:
            row = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.name, EnterpriseRow.profile)
                .join(InvitationRow, InvitationRow.enterprise_id == EnterpriseRow.id)
                .where(InvitationRow.code == cleaned)
            ).first()
            return None if row is None else Enterprise(int(row[0]), str(row[1]), dict(row[2]))

    def join(
        self, subscriber_id: int, enterprise_id: int, *, now: dt.datetime
    ) -> Enterprise | None:
        """Subscribe a chat or address to an enterprise it was invited to; None when done. When
        it already follows another enterprise, that one is returned and nothing changes (one
        chat follows one enterprise: it unsubscribes first)."""
        with self.session() as s:
            self._lock_subscriber(s, subscriber_id)
            current = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.name, EnterpriseRow.profile)
                .join(SubscriptionRow, SubscriptionRow.enterprise_id == EnterpriseRow.id)
                .where(SubscriptionRow.subscriber_id == subscriber_id)
                .order_by(SubscriptionRow.id)
            ).first()
            if current is not None and int(current[0]) != enterprise_id:
                return Enterprise(int(current[0]), str(current[1]), dict(current[2]))
            self._subscribe(s, (subscriber_id, enterprise_id), now)
            return None

    def unregister(self, subscriber_id: int, *, now: dt.datetime) -> bool:
        """Delete a chat's registration: enterprise, subscription, links, pending reminders,
        in one transaction (a crash leaves all of it or none). An enterprise the bureau invited
        stays, without this chat."""
        with self.session() as s:
            self._lock_subscriber(s, subscriber_id)
            current = s.scalar(
                select(SubscriptionRow.enterprise_id)
                .where(SubscriptionRow.subscriber_id == subscriber_id)
                .order_by(SubscriptionRow.id)
                .limit(1)
            )
            if current is None:
                return False
            pending = s.scalars(
                select(OutboxRow.id).where(
                    OutboxRow.subscriber_id == subscriber_id, OutboxRow.status == PENDING
                )
            ).all()
            Outbox._finish_in(
                s, pending, now=now, result="failed", detail="已退订", status=FAILED, note="已退订"
            )
            s.execute(delete(SubscriptionRow).where(SubscriptionRow.subscriber_id == subscriber_id))
            still = s.scalar(select(func.count()).where(SubscriptionRow.enterprise_id == current))
            invited = s.scalar(select(func.count()).where(InvitationRow.enterprise_id == current))
            if not still and not invited:  # the bureau's own records (invited) stay
                s.execute(delete(FeedTokenRow).where(FeedTokenRow.enterprise_id == current))
                s.execute(delete(EnterpriseRow).where(EnterpriseRow.id == current))
        return True

    @staticmethod
    def _lock_subscriber(s: Session, subscriber_id: int) -> None:
        """Write the subscriber's row first, so SQLite takes its write lock before any read and
        PostgreSQL locks the row: what the transaction reads cannot change until commit."""
        s.execute(
            update(SubscriberRow)
            .where(SubscriberRow.id == subscriber_id)
            .values(active=SubscriberRow.active)
        )

    def preferences(self, subscriber_id: int) -> ReminderSettings | None:
        """A subscriber's reminder settings."""
        with self.session() as s:
            row = s.scalar(
                select(SubscriptionRow).where(SubscriptionRow.subscriber_id == subscriber_id)
            )
            if row is None:
                return None
            return ReminderSettings(
                offsets=tuple(row.offsets),
                send_time=row.send_time,
                muted_policies=tuple(row.muted_policies),
                muted_categories=tuple(row.muted_categories),
                weekly=row.weekly,
            )

    def set_preferences(self, subscriber_id: int, **values: Any) -> None:
        """Change offsets, send time or muted policies/categories."""
        with self.session() as s:
            s.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.subscriber_id == subscriber_id)
                .values(**values)
            )

    def set_categories(
        self, subscriber_id: int, categories: Sequence[str], *, now: dt.datetime
    ) -> None:
        """Subscribe a group to categories (an empty list unsubscribes it)."""
        with self.session() as s:
            row = s.scalar(
                select(CategorySubscriptionRow).where(
                    CategorySubscriptionRow.subscriber_id == subscriber_id
                )
            )
            if not categories:
                if row is not None:
                    s.delete(row)
                return
            if row is None:
                s.add(
                    CategorySubscriptionRow(
                        subscriber_id=subscriber_id, categories=list(categories), created_at=now
                    )
                )
            else:
                row.categories = list(categories)

    def category_subscriptions(
        self, only: Collection[int] | None = None
    ) -> list[tuple[int, frozenset[str], dt.datetime]]:
        """(subscriber id, categories, since) of every active group subscription (or `only`)."""
        query = (
            select(
                CategorySubscriptionRow.subscriber_id,
                CategorySubscriptionRow.categories,
                CategorySubscriptionRow.created_at,
            )
            .join(SubscriberRow, SubscriberRow.id == CategorySubscriptionRow.subscriber_id)
            .where(SubscriberRow.active.is_(True))
            .order_by(CategorySubscriptionRow.subscriber_id)
        )
        if only is not None:
            query = query.where(CategorySubscriptionRow.subscriber_id.in_(list(only)))
        with self.session() as s:
            rows = s.execute(query)
            return [(int(r[0]), frozenset(r[1]), r[2]) for r in rows]

    def active_counts(self) -> dict[str, int]:
        """Active subscribers per channel."""
        with self.session() as s:
            rows = s.execute(
                select(SubscriberRow.channel, func.count())
                .where(SubscriberRow.active.is_(True))
                .group_by(SubscriberRow.channel)
            )
            return {str(c): int(n) for c, n in rows}

    def delivery_stats(self, *, since: dt.datetime) -> DeliveryStats:
        """Subscribers, enterprises, matches, and reminders sent and failed since a moment."""
        with self.session() as s:
            sent = s.scalar(
                select(func.count()).where(OutboxRow.status == SENT, OutboxRow.sent_at >= since)
            )
            failed = s.scalar(
                select(func.count()).where(DeliveryRow.result == "failed", DeliveryRow.at >= since)
            )
            cached: list[list[Any] | None] = list(s.scalars(select(EnterpriseRow.matches)))
            active = s.scalar(select(func.count()).where(SubscriberRow.active.is_(True)))
            return DeliveryStats(
                subscribers=int(active or 0),
                enterprises=int(s.scalar(select(func.count(EnterpriseRow.id))) or 0),
                matches=sum(len(m) for m in cached if m),
                sent=int(sent or 0),
                failed=int(failed or 0),
            )

    def subscriber_active(self, subscriber_id: int) -> bool:
        """Whether the subscriber still receives messages."""
        with self.session() as s:
            return bool(
                s.scalar(select(SubscriberRow.active).where(SubscriberRow.id == subscriber_id))
            )
