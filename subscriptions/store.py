"""The database store: enterprises, subscribers, subscriptions, rounds, the outbox, the log.

SQLite by default (WAL), PostgreSQL for several dispatcher processes (rows are claimed with
SELECT ... FOR UPDATE SKIP LOCKED). The schema is managed by Alembic migrations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, create_engine, delete, event, func, select, update
from sqlalchemy import insert as sqlalchemy_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from schedulers import ANNOUNCEMENT, Basis, Kind, Reminder
from subscriptions._tables import (
    AnnouncementRow,
    CategorySubscriptionRow,
    ChatDraftRow,
    DeliveryRow,
    EnterpriseRow,
    FeedTokenRow,
    OutboxRow,
    RoundRow,
    SeenCallbackRow,
    SubscriberRow,
    SubscriptionRow,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Status(StrEnum):
    """Where an outbox row stands: pending -> sending -> one of the ends."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher (claimed_by), under a lease
    SENT = "sent"
    FAILED = "failed"  # the subscriber cannot be reached (blocked, left): it was deactivated
    DROPPED = "dropped"  # no longer worth sending (its round closed or is gone)
    DEAD = "dead"  # given up after the last attempt, or refused by the platform; the log says why
    UNCERTAIN = "uncertain"  # the platform may have it: the request went out, no answer came


PENDING, SENDING, SENT, FAILED, DROPPED, DEAD, UNCERTAIN = Status


@dataclass(frozen=True, slots=True)
class StoredRound:
    """The current version of a round."""

    key: str
    version: int
    policy_id: str
    open: dt.date | None
    close: dt.date | None
    basis: Basis
    label: str | None
    notice_url: str | None
    source: str
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ChatDraft:
    """A conversation in progress in one chat: what it is and its answers so far."""

    kind: str  # "register" | "announce"
    data: dict[str, Any]
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row claimed for sending, with its subscriber."""

    id: int
    subscriber_id: int
    channel: str
    address: str
    round_key: str
    round_version: int
    kind: str
    due_at: dt.datetime
    attempts: int


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created, WAL and foreign keys turned on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """All database access of huiqi."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, migrate, and return the store."""
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        """sqlite or postgresql."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # --- enterprises and subscribers ----------------------------------------------------

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

    def enterprises(self) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, name, profile) of every enterprise, by id."""
        with self.session() as s:
            rows = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.name, EnterpriseRow.profile).order_by(
                    EnterpriseRow.id
                )
            )
            return [(r.id, r.name, r.profile) for r in rows]

    def unmatched(
        self, *, on: dt.date, catalog: str, max_age: dt.timedelta
    ) -> list[tuple[int, dict[str, Any]]]:
        """(id, profile) of enterprises whose cached matches are missing or out of date."""
        with self.session() as s:
            rows = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.profile)
                .where(
                    EnterpriseRow.matches.is_(None)
                    | (EnterpriseRow.matched_catalog != catalog)
                    | (EnterpriseRow.matched_on < on - max_age)
                    | (EnterpriseRow.matched_on > on)
                )
                .order_by(EnterpriseRow.id)
            )
            return [(row[0], row[1]) for row in rows]

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
        offsets: Sequence[int] = (14, 7, 3, 1),
        send_time: str = "09:30",
    ) -> int:
        """Subscribe a subscriber to an enterprise's rounds (idempotent); return the id."""
        with self.session() as s:
            return self._subscribe(s, subscriber_id, enterprise_id, now, offsets, send_time)

    def _subscribe(
        self,
        s: Session,
        subscriber_id: int,
        enterprise_id: int,
        now: dt.datetime,
        offsets: Sequence[int] = (14, 7, 3, 1),
        send_time: str = "09:30",
    ) -> int:
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

    def subscriptions(self, only: Collection[int] | None = None) -> list[dict[str, Any]]:
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
            rows = s.execute(query)
            out = []
            for row in rows:
                sub: SubscriptionRow = row[0]
                out.append(
                    {
                        "subscriber_id": sub.subscriber_id,
                        "enterprise_id": sub.enterprise_id,
                        "offsets": tuple(sub.offsets),
                        "notify_open": sub.notify_open,
                        "send_time": sub.send_time,
                        "muted_policies": frozenset(sub.muted_policies),
                        "muted_categories": frozenset(sub.muted_categories),
                        "created_at": sub.created_at,
                        "matches": row[1],
                        "channel": row[2],
                    }
                )
            return out

    def registration(self, subscriber_id: int) -> tuple[int, str, dict[str, Any]] | None:
        """(enterprise id, name, profile) the subscriber registered, if any."""
        with self.session() as s:
            row = s.execute(
                select(EnterpriseRow.id, EnterpriseRow.name, EnterpriseRow.profile)
                .join(SubscriptionRow, SubscriptionRow.enterprise_id == EnterpriseRow.id)
                .where(SubscriptionRow.subscriber_id == subscriber_id)
                .order_by(SubscriptionRow.id)
            ).first()
            return None if row is None else (int(row[0]), str(row[1]), dict(row[2]))

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
            self._subscribe(s, subscriber_id, enterprise_id, now)
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

    def unregister(self, subscriber_id: int, *, now: dt.datetime) -> bool:
        """Delete a chat's registration: enterprise, subscription, links, pending reminders,
        in one transaction (a crash leaves all of it or none)."""
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
            self._finish_in(
                s, pending, now=now, result="failed", detail="已退订", status=FAILED, note="已退订"
            )
            s.execute(delete(SubscriptionRow).where(SubscriptionRow.subscriber_id == subscriber_id))
            still = s.scalar(select(func.count()).where(SubscriptionRow.enterprise_id == current))
            if not still:
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

    def preferences(self, subscriber_id: int) -> dict[str, Any] | None:
        """A subscriber's reminder preferences."""
        with self.session() as s:
            row = s.scalar(
                select(SubscriptionRow).where(SubscriptionRow.subscriber_id == subscriber_id)
            )
            if row is None:
                return None
            return {
                "offsets": list(row.offsets),
                "send_time": row.send_time,
                "muted_policies": list(row.muted_policies),
                "muted_categories": list(row.muted_categories),
            }

    def forget_planned(self, subscriber_id: int, *, after: dt.datetime) -> int:
        """Delete a subscriber's planned reminders (open, close-N) still waiting past `after`,
        so that planning anew follows changed preferences; return how many."""
        with self.session() as s:
            stmt = delete(OutboxRow).where(
                OutboxRow.subscriber_id == subscriber_id,
                OutboxRow.status == PENDING,
                OutboxRow.due_at > after,
                (OutboxRow.kind == Kind.OPEN) | OutboxRow.kind.like(f"{Kind.CLOSE}-%"),
            )
            return max(cast(CursorResult[Any], s.execute(stmt)).rowcount, 0)

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

    def active_subscribers(self, channel: str) -> list[tuple[int, str]]:
        """(id, address) of every active subscriber of a channel."""
        with self.session() as s:
            rows = s.execute(
                select(SubscriberRow.id, SubscriberRow.address)
                .where(SubscriberRow.channel == channel, SubscriberRow.active.is_(True))
                .order_by(SubscriberRow.id)
            )
            return [(int(r[0]), str(r[1])) for r in rows]

    def active_counts(self) -> dict[str, int]:
        """Active subscribers per channel."""
        with self.session() as s:
            rows = s.execute(
                select(SubscriberRow.channel, func.count())
                .where(SubscriberRow.active.is_(True))
                .group_by(SubscriberRow.channel)
            )
            return {str(c): int(n) for c, n in rows}

    def delivery_stats(self, *, since: dt.datetime) -> dict[str, int]:
        """Subscribers, enterprises, matches, and reminders sent and failed since a moment."""
        with self.session() as s:
            sent = s.scalar(
                select(func.count()).where(OutboxRow.status == SENT, OutboxRow.sent_at >= since)
            )
            failed = s.scalar(
                select(func.count()).where(DeliveryRow.result == "failed", DeliveryRow.at >= since)
            )
            cached: list[list[Any] | None] = list(s.scalars(select(EnterpriseRow.matches)))
            matches = sum(len(m) for m in cached if m)
            return {
                "matches": matches,
                "subscribers": int(
                    s.scalar(select(func.count()).where(SubscriberRow.active.is_(True))) or 0
                ),
                "enterprises": int(s.scalar(select(func.count(EnterpriseRow.id))) or 0),
                "sent": int(sent or 0),
                "failed": int(failed or 0),
            }

    def deactivate(self, subscriber_id: int, reason: str) -> None:
        """Stop sending to a subscriber (it blocked the bot, or its chat is gone)."""
        with self.session() as s:
            s.execute(
                update(SubscriberRow)
                .where(SubscriberRow.id == subscriber_id)
                .values(active=False, deactivated_reason=reason)
            )

    def subscriber_active(self, subscriber_id: int) -> bool:
        """Whether the subscriber still receives messages."""
        with self.session() as s:
            return bool(
                s.scalar(select(SubscriberRow.active).where(SubscriberRow.id == subscriber_id))
            )

    # --- private feed tokens ------------------------------------------------------------

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

    def feed_owner(self, token: str) -> tuple[int, str, dict[str, Any], dt.datetime] | None:
        """(id, name, profile, updated_at) of the enterprise a live token belongs to."""
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
        return int(row[1]), str(row[2]), dict(row[3]), row[4]

    def rounds_stamp(self) -> tuple[int, dt.datetime | None]:
        """How many rounds exist and when the newest was recorded: changes with any round."""
        with self.session() as s:
            row = s.execute(select(func.count(RoundRow.id), func.max(RoundRow.created_at))).one()
            latest = row[1]
            if isinstance(latest, str):  # SQLite returns max() of a datetime column as text
                latest = dt.datetime.fromisoformat(latest).replace(tzinfo=dt.UTC)
            elif latest is not None and latest.tzinfo is None:
                latest = latest.replace(tzinfo=dt.UTC)
            return int(row[0]), latest

    def enterprise(self, enterprise_id: int) -> tuple[str, dict[str, Any], list[str] | None] | None:
        """(name, profile, cached matches) of one enterprise."""
        with self.session() as s:
            row = s.get(EnterpriseRow, enterprise_id)
            return None if row is None else (row.name, row.profile, row.matches)

    # --- rounds -------------------------------------------------------------------------

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

    # --- callbacks ----------------------------------------------------------------------

    def first_sighting(self, key: str, *, now: dt.datetime, window: dt.timedelta) -> bool:
        """Record a callback's id; False if it was seen within `window` (a replay).

        Ids older than the window are forgotten on the way, so the table stays small."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.session() as s:
            s.execute(delete(SeenCallbackRow).where(SeenCallbackRow.seen_at < now - window))
            stmt = (
                insert(SeenCallbackRow)
                .values(key=key[:128], seen_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(SeenCallbackRow.key)
            )
            return s.execute(stmt).first() is not None

    # --- chat drafts --------------------------------------------------------------------

    def draft(self, channel: str, chat: str) -> ChatDraft | None:
        """The conversation in progress in a chat, if any."""
        with self.session() as s:
            row = s.get(ChatDraftRow, (channel, chat))
            return None if row is None else ChatDraft(row.kind, dict(row.data), row.updated_at)

    def put_draft(
        self, channel: str, chat: str, kind: str, data: dict[str, Any], *, now: dt.datetime
    ) -> None:
        """Start or advance a chat's conversation (one per chat: a new one replaces it)."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        values = {"channel": channel, "chat": chat, "kind": kind, "data": data, "updated_at": now}
        stmt = insert(ChatDraftRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "chat"],
            set_={"kind": kind, "data": data, "updated_at": now},
        )
        with self.session() as s:
            s.execute(stmt)

    def take_draft(self, channel: str, chat: str, kind: str | None = None) -> ChatDraft | None:
        """End a chat's conversation (of `kind`, when given) and return it: of two messages
        ending it at once, only one gets it."""
        stmt = delete(ChatDraftRow).where(
            ChatDraftRow.channel == channel, ChatDraftRow.chat == chat
        )
        if kind is not None:
            stmt = stmt.where(ChatDraftRow.kind == kind)
        with self.session() as s:
            row = s.execute(
                stmt.returning(ChatDraftRow.kind, ChatDraftRow.data, ChatDraftRow.updated_at)
            ).first()
            return None if row is None else ChatDraft(str(row[0]), dict(row[1]), row[2])

    # --- outbox -------------------------------------------------------------------------

    def enqueue(self, reminders: Iterable[Reminder], *, now: dt.datetime) -> int:
        """Insert reminders; one already there (same subscriber, round version, kind) and not
        yet tried is re-timed when the plan moved it (a newer holiday calendar, say), and
        left alone otherwise. Return how many rows were inserted or re-timed."""
        values = [
            {
                "subscriber_id": r.subscriber_id,
                "round_key": r.round_key,
                "round_version": r.round_version,
                "kind": r.kind,
                "due_at": r.due_at,
                "next_attempt_at": r.due_at,
                "status": PENDING,
                "attempts": 0,
                "late": False,
                "created_at": now,
            }
            for r in reminders
        ]
        if not values:
            return 0
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        inserted = 0
        with self.session() as s:
            for start in range(0, len(values), 500):
                rows = insert(OutboxRow).values(values[start : start + 500])
                stmt = rows.on_conflict_do_update(
                    index_elements=["subscriber_id", "round_key", "round_version", "kind"],
                    set_={
                        "due_at": rows.excluded.due_at,
                        "next_attempt_at": rows.excluded.next_attempt_at,
                    },
                    where=(OutboxRow.status == PENDING)
                    & (OutboxRow.attempts == 0)
                    & (OutboxRow.due_at != rows.excluded.due_at),
                ).returning(OutboxRow.id)
                inserted += len(s.connection().execute(stmt).all())
        return inserted

    def recover(self, *, now: dt.datetime, lease: dt.timedelta) -> int:
        """Return rows left in `sending` longer than `lease` (a crashed sender) to `pending`."""
        with self.session() as s:
            stmt = (
                update(OutboxRow)
                .where(OutboxRow.status == SENDING, OutboxRow.claimed_at <= now - lease)
                .values(status=PENDING, claimed_by=None, next_attempt_at=now)
            )
            result = cast(CursorResult[Any], s.execute(stmt))
            return max(result.rowcount, 0)

    def claim(
        self,
        *,
        now: dt.datetime,
        worker: str,
        limit: int,
        channels: Collection[str] | None = None,
        other_than: Collection[str] | None = None,
    ) -> list[Claimed]:
        """Claim up to `limit` due rows of active subscribers for `worker`, oldest first:
        of the subscribers on `channels` only, or on none of `other_than`, when given."""
        with self.session() as s:
            due = (
                select(OutboxRow.id)
                .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
                .where(
                    OutboxRow.status == PENDING,
                    OutboxRow.next_attempt_at <= now,
                    SubscriberRow.active.is_(True),
                )
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
            )
            if channels is not None:
                due = due.where(SubscriberRow.channel.in_(list(channels)))
            if other_than:
                due = due.where(SubscriberRow.channel.not_in(list(other_than)))
            if self.dialect == "postgresql":
                due = due.with_for_update(skip_locked=True, of=OutboxRow)
            ids = list(s.scalars(due))
            if not ids:
                return []
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == PENDING)
                .values(status=SENDING, claimed_by=worker, claimed_at=now)
            )
            rows = s.execute(
                select(OutboxRow, SubscriberRow.channel, SubscriberRow.address)
                .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
                .where(
                    OutboxRow.id.in_(ids),
                    OutboxRow.claimed_by == worker,
                    OutboxRow.status == SENDING,
                )
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            )
            return [
                Claimed(
                    o.id,
                    o.subscriber_id,
                    channel,
                    address,
                    o.round_key,
                    o.round_version,
                    o.kind,
                    o.due_at,
                    o.attempts,
                )
                for o, channel, address in rows
            ]

    def _finish(
        self,
        ids: Sequence[int],
        *,
        now: dt.datetime,
        result: str,
        detail: str | None,
        worker: str | None = None,
        **values: Any,
    ) -> list[int]:
        """Set `values` on the rows and log `result`; with `worker`, only on the rows that
        worker still holds in `sending` (a row whose lease another dispatcher took over is
        left to that dispatcher). Return the ids changed."""
        if not ids:
            return []
        with self.session() as s:
            return self._finish_in(
                s, ids, now=now, result=result, detail=detail, worker=worker, **values
            )

    @staticmethod
    def _finish_in(
        s: Session,
        ids: Sequence[int],
        *,
        now: dt.datetime,
        result: str,
        detail: str | None,
        worker: str | None = None,
        **values: Any,
    ) -> list[int]:
        """`_finish` inside the caller's transaction."""
        stmt = update(OutboxRow).where(OutboxRow.id.in_(list(ids)))
        if worker is not None:
            stmt = stmt.where(OutboxRow.status == SENDING, OutboxRow.claimed_by == worker)
        changed = list(s.scalars(stmt.values(**values).returning(OutboxRow.id)))
        s.add_all(DeliveryRow(outbox_id=i, at=now, result=result, detail=detail) for i in changed)
        return changed

    def mark_sent(
        self, ids: Sequence[int], *, now: dt.datetime, late: bool, worker: str | None = None
    ) -> list[int]:
        """The message went out; return the ids recorded (with `worker`: those it held)."""
        return self._finish(
            ids,
            now=now,
            result="sent",
            detail="补发" if late else None,
            worker=worker,
            status=SENT,
            sent_at=now,
            late=late,
        )

    def mark_retry(
        self,
        ids: Sequence[int],
        *,
        now: dt.datetime,
        at: dt.datetime,
        detail: str,
        worker: str | None = None,
        count: bool = True,
    ) -> list[int]:
        """Try again at `at` (after a retry-after or a transient error); `count=False` when
        the row was not at fault (its channel was down), so it spends no attempt."""
        return self._finish(
            ids,
            now=now,
            result="retry",
            detail=detail,
            worker=worker,
            status=PENDING,
            next_attempt_at=at,
            attempts=OutboxRow.attempts + (1 if count else 0),
            claimed_by=None,
            note=detail,
        )

    def renew(self, ids: Sequence[int], *, now: dt.datetime, worker: str) -> list[int]:
        """Extend the lease of rows `worker` is still sending; return those it still holds."""
        if not ids:
            return []
        with self.session() as s:
            stmt = (
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(list(ids)),
                    OutboxRow.status == SENDING,
                    OutboxRow.claimed_by == worker,
                )
                .values(claimed_at=now)
                .returning(OutboxRow.id)
            )
            return list(s.scalars(stmt))

    def mark_dead(
        self, ids: Sequence[int], *, now: dt.datetime, detail: str, worker: str | None = None
    ) -> list[int]:
        """Given up on these messages (attempts spent, or refused as sent): the subscriber
        stays active; the log and the note say why."""
        return self._finish(
            ids, now=now, result="dead", detail=detail, worker=worker, status=DEAD, note=detail
        )

    def mark_uncertain(
        self, ids: Sequence[int], *, now: dt.datetime, detail: str, worker: str | None = None
    ) -> list[int]:
        """The request went out and no answer came: perhaps delivered, so never resent."""
        return self._finish(
            ids,
            now=now,
            result="uncertain",
            detail=detail,
            worker=worker,
            status=UNCERTAIN,
            note=detail,
        )

    def move_subscriber(self, subscriber_id: int, address: str) -> int:
        """The chat at a subscriber's address moved to `address` (a Telegram group became a
        supergroup): follow it. Return the subscriber id that now holds the new address."""
        with self.session() as s:
            row = s.get(SubscriberRow, subscriber_id)
            if row is None:
                return subscriber_id
            there = s.scalar(
                select(SubscriberRow).where(
                    SubscriberRow.channel == row.channel, SubscriberRow.address == address
                )
            )
            if there is None:
                row.address = address
                return subscriber_id
            # The new chat subscribed itself already: the old address is gone for good.
            row.active, row.deactivated_reason = False, f"群已迁移到 {address}"
            return there.id

    def mark_failed(
        self, ids: Sequence[int], *, now: dt.datetime, detail: str, worker: str | None = None
    ) -> list[int]:
        """Given up: the subscriber cannot be reached (blocked the bot, left, was removed)."""
        return self._finish(
            ids, now=now, result="failed", detail=detail, worker=worker, status=FAILED, note=detail
        )

    def mark_dropped(
        self, ids: Sequence[int], *, now: dt.datetime, detail: str, worker: str | None = None
    ) -> list[int]:
        """Not sent on purpose (the round closed while huiqi was down); the log says why."""
        return self._finish(
            ids,
            now=now,
            result="dropped",
            detail=detail,
            worker=worker,
            status=DROPPED,
            note=detail,
        )

    def fail_pending_of(self, subscriber_id: int, *, now: dt.datetime, detail: str) -> int:
        """Give up every pending row of a subscriber that can no longer be reached."""
        with self.session() as s:
            ids = list(
                s.scalars(
                    select(OutboxRow.id).where(
                        OutboxRow.subscriber_id == subscriber_id, OutboxRow.status == PENDING
                    )
                )
            )
        if ids:
            self.mark_failed(ids, now=now, detail=detail)
        return len(ids)

    def supersede(self, round_key: str, version: int, *, now: dt.datetime) -> int:
        """Drop pending reminders of older versions of a round (its dates changed)."""
        with self.session() as s:
            ids = list(
                s.scalars(
                    select(OutboxRow.id).where(
                        OutboxRow.round_key == round_key,
                        OutboxRow.round_version < version,
                        OutboxRow.status == PENDING,
                    )
                )
            )
        if ids:
            self.mark_dropped(ids, now=now, detail=f"轮次日期已更新为第{version}版")
        return len(ids)

    def next_due(self) -> dt.datetime | None:
        """When the earliest pending row becomes due, if any."""
        with self.session() as s:
            return s.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(OutboxRow.status == PENDING)
            )

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row (for the command line and tests), by id."""
        with self.session() as s:
            rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id))
            return [
                {
                    "id": o.id,
                    "subscriber_id": o.subscriber_id,
                    "round_key": o.round_key,
                    "round_version": o.round_version,
                    "kind": o.kind,
                    "due_at": o.due_at,
                    "status": o.status,
                    "attempts": o.attempts,
                    "late": o.late,
                    "note": o.note,
                    "sent_at": o.sent_at,
                }
                for o in rows
            ]

    def announce(self, text: str, *, author: str, now: dt.datetime) -> tuple[int, dict[str, int]]:
        """Queue an announcement to every active subscriber, in one transaction; return its id
        and how many subscribers of each channel it goes to. The dispatcher sends it."""
        with self.session() as s:
            subscribers = s.execute(
                select(SubscriberRow.id, SubscriberRow.channel)
                .where(SubscriberRow.active.is_(True))
                .order_by(SubscriberRow.id)
            ).all()
            row = AnnouncementRow(
                text=text, author=author, recipients=len(subscribers), created_at=now
            )
            s.add(row)
            s.flush()
            key = f"{ANNOUNCEMENT}:{row.id}"
            if subscribers:
                s.execute(
                    sqlalchemy_insert(OutboxRow),
                    [
                        {
                            "subscriber_id": sid,
                            "round_key": key,
                            "round_version": 1,
                            "kind": ANNOUNCEMENT,
                            "due_at": now,
                            "next_attempt_at": now,
                            "status": PENDING,
                            "attempts": 0,
                            "late": False,
                            "created_at": now,
                        }
                        for sid, _ in subscribers
                    ],
                )
            by_channel: dict[str, int] = {}
            for _, channel in subscribers:
                by_channel[channel] = by_channel.get(channel, 0) + 1
            return row.id, by_channel

    def announcements(self, ids: Collection[int]) -> dict[int, tuple[str, dt.datetime]]:
        """The text and time of announcements, by id."""
        with self.session() as s:
            rows = s.execute(
                select(AnnouncementRow.id, AnnouncementRow.text, AnnouncementRow.created_at).where(
                    AnnouncementRow.id.in_(list(ids))
                )
            )
            return {int(i): (str(t), at) for i, t, at in rows}

    def told_about(self, round_key: str) -> list[int]:
        """Subscribers who were sent anything about a round."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(OutboxRow.subscriber_id)
                    .where(OutboxRow.round_key == round_key, OutboxRow.status == SENT)
                    .distinct()
                    .order_by(OutboxRow.subscriber_id)
                )
            )

    def counts(self) -> dict[str, int]:
        """Outbox rows per status."""
        with self.session() as s:
            query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
            return {str(status): int(n) for status, n in s.execute(query)}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
