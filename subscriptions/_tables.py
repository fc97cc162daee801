"""The database tables (SQLAlchemy 2 typed ORM). Instants are stored in UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: instants must carry a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """The declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class EnterpriseRow(Base):
    """A registered enterprise: its profile JSON as given, validated on the way in."""

    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    profile: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # The policies it matches (eligible or possible), as of a day and a catalog version.
    matches: Mapped[list[Any] | None]
    matched_on: Mapped[dt.date | None] = mapped_column(Date)
    matched_catalog: Mapped[str | None] = mapped_column(String(32))


class SubscriberRow(Base):
    """A chat identity: a Telegram chat, a WeCom user, a group, the console."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class SubscriptionRow(Base):
    """Which subscriber hears about which enterprise, and how."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "enterprise_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    offsets: Mapped[list[Any]]
    notify_open: Mapped[bool] = mapped_column(Boolean, default=True)
    send_time: Mapped[str] = mapped_column(String(5), default="09:30")
    muted_policies: Mapped[list[Any]]
    muted_categories: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]
    # A weekly digest of the enterprise's rounds instead of a message at each one.
    weekly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RoundRow(Base):
    """One version of a dated round; `key` names the round across its versions."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        Index("ix_rounds_current", "current", "policy_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))
    version: Mapped[int] = mapped_column(Integer)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    open: Mapped[dt.date | None] = mapped_column(Date)
    close: Mapped[dt.date | None] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(12))
    label: Mapped[str | None] = mapped_column(String(100))
    notice_url: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12))  # catalog | admin
    created_at: Mapped[dt.datetime]
    # Set on the version that withdrew a published round: the bureau's reason. Its dates and
    # basis are those the round falls back to (the catalog's), or tbd without any.
    withdrawn: Mapped[str | None] = mapped_column(Text, default=None)
    # What the close means for the enterprise (schedulers.Deadline as JSON), when the text says.
    deadline: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The policy's terms as the enterprise was told them with this version (Policy.terms):
    # its largest benefit, conditions and materials. None: recorded before terms were kept.
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class OutboxRow(Base):
    """One reminder, unique per (subscriber, round version, kind): pending -> sending -> sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "round_key", "round_version", "kind"),
        # The claim and the next wake-up: pending rows by next_attempt_at (migration 0015).
        Index("ix_outbox_claim", "status", "next_attempt_at", "id"),
        # Dropping older versions' reminders, who was told of a round.
        Index("ix_outbox_round", "round_key", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    round_key: Mapped[str] = mapped_column(String(160))
    round_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class DeliveryRow(Base):
    """The delivery log: every attempt and every drop, with its result."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    result: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


class FeedTokenRow(Base):
    """A private feed URL's token, stored only as its SHA-256; revoked tokens stay for audit."""

    __tablename__ = "feed_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class CategorySubscriptionRow(Base):
    """A group subscribed to categories: it gets a weekly digest and announcements."""

    __tablename__ = "category_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), unique=True
    )
    categories: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]


class SeenCallbackRow(Base):
    """A platform callback already handled (WeCom MsgId): a replay within the window is refused,
    across restarts too. Rows older than the window are deleted as new ones arrive."""

    __tablename__ = "seen_callbacks"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(index=True)


class AnnouncementRow(Base):
    """An admin's announcement; its outbox rows (kind `announcement`, round key
    `announcement:<id>`) carry it to every subscriber active when it was made."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]


class ChatDraftRow(Base):
    """A conversation in progress in one chat: a guided registration's answers so far, or an
    admin's announcement waiting for 确认公告. Kept in the store so that a restart, a second
    process or two messages at once see the same step."""

    __tablename__ = "chat_drafts"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime]


class AnswerRow(Base):
    """What an enterprise said of a round: 已申报 (applied) or 不感兴趣 (not_interested). Its
    remaining reminders of that round stop; the bureau counts the answers per round."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_round", "round_key", "choice"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    round_key: Mapped[str] = mapped_column(String(160))
    choice: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime]


class MailSignupRow(Base):
    """An e-mail sign-up from the web page waiting for its confirmation link (double opt-in):
    nothing is sent to the address but that link until it is opened. Only the token's
    digest is kept."""

    __tablename__ = "mail_signups"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(254), index=True)
    profile: Mapped[dict[str, Any]]
    weekly: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    confirmed_at: Mapped[dt.datetime | None]


class MailLinkRow(Base):
    """The one-click unsubscribe token of an e-mail subscriber, written into every message
    it is sent (List-Unsubscribe)."""

    __tablename__ = "mail_links"
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]


class ConsoleUserRow(Base):
    """A staff account of the web console: its role and its Argon2 password hash."""

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(10))  # viewer | editor | admin
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]
    password_changed_at: Mapped[dt.datetime]


class ConsoleSessionRow(Base):
    """A signed-in console session; the cookie carries the token, the table its digest, so that
    signing out or a changed password ends it everywhere."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime]
    seen_at: Mapped[dt.datetime]


class ConsoleFailureRow(Base):
    """A failed console sign-in, by account name and by client address (throttling)."""

    __tablename__ = "console_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)


class ConsoleKeyRow(Base):
    """A key the console keeps for itself (the cookie signing key), made once, shared by every
    process on the database."""

    __tablename__ = "console_keys"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]


class AuditRow(Base):
    """Every change made in the console or by the admin command: who, when, what, before and
    after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class InvitationRow(Base):
    """The invitation code of an enterprise (one at a time): whoever sends it in a chat, or
    signs up by e-mail from its link, is subscribed to this enterprise's record."""

    __tablename__ = "invitations"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[dt.datetime]


class RateSlotRow(Base):
    """When a rate-limited credential (a channel's bot token) may next send: every dispatcher
    process reserves its sends here, so together they keep the platform's limit."""

    __tablename__ = "rate_slots"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[dt.datetime]
