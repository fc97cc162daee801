"""The database store: a few repositories over one database.

`registry` (enterprises, subscribers, preferences), `rounds`, `outbox` (queued messages, claims,
results, the delivery log, announcements), `tokens` (private feed links), `chats` (replay
memory, conversations in progress), `mail` (e-mail sign-ups, unsubscribe links) and `console`
(staff accounts, sessions, the audit log), `reports` (what the console's dashboard and
delivery log read).
Each multi-step operation is one transaction.

SQLite by default (WAL), PostgreSQL for several dispatcher processes (rows are claimed with
SELECT ... FOR UPDATE SKIP LOCKED). The schema is managed by Alembic migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from schedulers import Claimed
from subscriptions.store._db import (
    DEAD,
    DROPPED,
    FAILED,
    MIGRATIONS,
    PENDING,
    SENDING,
    SENT,
    UNCERTAIN,
    ChatDraft,
    DeliveryStats,
    Enterprise,
    ReminderSettings,
    Status,
    StoredAnnouncement,
    StoredRound,
    Subscription,
    make_engine,
    migrate,
)
from subscriptions.store.chats import Chats
from subscriptions.store.console import (
    ROLES,
    AuditEntry,
    Console,
    DeliveryLine,
    Reports,
    StaffUser,
    UserExists,
)
from subscriptions.store.limits import Limits, SharedRate
from subscriptions.store.mail import SIGNUP_LIFETIME, Mail, Signup
from subscriptions.store.outbox import Outbox
from subscriptions.store.registry import Registry
from subscriptions.store.rounds import Rounds
from subscriptions.store.tokens import Tokens


class Store:
    """All database access of huiqi, by repository."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        dialect = engine.dialect.name
        self.registry = Registry(self._sessions, dialect)
        self.rounds = Rounds(self._sessions, dialect)
        self.outbox = Outbox(self._sessions, dialect)
        self.tokens = Tokens(self._sessions, dialect)
        self.chats = Chats(self._sessions, dialect)
        self.mail = Mail(self._sessions, dialect)
        self.console = Console(self._sessions, dialect)
        self.reports = Reports(self._sessions, dialect)
        self.limits = Limits(self._sessions, dialect)

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


__all__ = [
    "DEAD",
    "DROPPED",
    "FAILED",
    "MIGRATIONS",
    "PENDING",
    "ROLES",
    "SENDING",
    "SENT",
    "SIGNUP_LIFETIME",
    "UNCERTAIN",
    "AuditEntry",
    "ChatDraft",
    "Chats",
    "Claimed",
    "Console",
    "DeliveryLine",
    "DeliveryStats",
    "Enterprise",
    "Limits",
    "Mail",
    "Outbox",
    "Registry",
    "ReminderSettings",
    "Reports",
    "Rounds",
    "SharedRate",
    "Signup",
    "StaffUser",
    "Status",
    "Store",
    "StoredAnnouncement",
    "StoredRound",
    "Subscription",
    "Tokens",
    "UserExists",
    "make_engine",
    "migrate",
]
