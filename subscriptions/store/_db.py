"""The database under the repositories: engine, migrations, sessions, and the values they return."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from schedulers import Basis, Deadline, RowStatus

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


Status = RowStatus  # the outbox row status, defined with the outbox protocol in the core
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
    withdrawn: str | None = None  # this version withdrew a published round, for this reason
    deadline: Deadline | None = None  # what the close means for the enterprise
    terms: dict[str, Any] | None = None  # the policy's terms as told with it (Policy.terms)


@dataclass(frozen=True, slots=True)
class Enterprise:
    """A registered enterprise: its id, name and profile JSON as stored (validated on the way
    in); `updated_at` where the caller needs it (feeds: Last-Modified)."""

    id: int
    name: str
    profile: dict[str, Any]
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat subscribed to an enterprise, with its reminder settings and cached matches."""

    subscriber_id: int
    enterprise_id: int
    channel: str
    offsets: tuple[int, ...]
    notify_open: bool
    send_time: str  # HH:MM, Ezhou time
    muted_policies: frozenset[str]
    muted_categories: frozenset[str]
    created_at: dt.datetime
    matches: tuple[str, ...] | None  # policy ids, None until matched
    weekly: bool = False  # a weekly digest instead of a message at each round


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """What a subscriber chose in 提醒设置."""

    offsets: tuple[int, ...]
    send_time: str
    muted_policies: tuple[str, ...]
    muted_categories: tuple[str, ...]
    weekly: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """Counts for 统计: active subscribers, enterprises, cached matches, and reminders sent and
    failed since a moment."""

    subscribers: int
    enterprises: int
    matches: int
    sent: int
    failed: int


@dataclass(frozen=True, slots=True)
class StoredAnnouncement:
    """An admin's announcement as written, and when."""

    text: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ChatDraft:
    """A conversation in progress in one chat: what it is and its answers so far."""

    kind: str  # "register" | "announce"
    data: dict[str, Any]
    updated_at: dt.datetime


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


class Repository:
    """One part of the store: it opens its transactions on the store's sessions."""

    def __init__(self, sessions: sessionmaker[Session], dialect: str) -> None:
        self._sessions = sessions
        self.dialect = dialect

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session
