"""The e-mail channel: each reminder as a plain-text and HTML message over SMTP (aiosmtplib),
with the message's rounds as an iCalendar attachment and a one-click unsubscribe link.

Confirmation and welcome messages of the web sign-up go out through the same sender.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from jinja2 import Environment
from markupsafe import Markup

from bot._settings import Secret
from bot._views import environment
from schedulers import (
    OK,
    PERMANENT,
    REJECTED,
    RETRY_AFTER,
    TRANSIENT,
    Capabilities,
    SendResult,
)
from subscriptions.store import Store

log = logging.getLogger("huiqi.email")

CHANNEL = "email"
UNSUBSCRIBE_PATH = "/email/unsubscribe"
# One message carries the whole reminder; e-mail has no commands, only links.
MAIL_MESSAGES = Capabilities(limit=None, commands="none")
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
LINK = re.compile(r"(https?://[^\s<>（）()，。]+)")


def valid_address(text: str) -> str | None:
    """The address as entered, checked (no display name, no line breaks); None if it is not
    an address mail can be sent to."""
    address = text.strip()
    if len(address) > 254 or not ADDRESS.fullmatch(address):
        return None
    return address


@dataclass(frozen=True)
class MailServer:
    """Where and how mail is handed over: host, port, TLS mode, login, the From address."""

    host: str
    port: int
    sender: str  # the From header, e.g. 鄂州市经信局惠企政策提醒 <noreply@example.cn>
    tls: str = "starttls"  # starttls | tls | none
    user: str | None = None
    password: Secret | None = None
    timeout: float = 15.0  # seconds for the connection and each command

    @property
    def domain(self) -> str:
        """The domain of the From address (for Message-IDs)."""
        return email.utils.parseaddr(self.sender)[1].rpartition("@")[2] or "huiqi.local"


def _linked(text: str) -> Markup:
    """A line of text as HTML: escaped, its web addresses as links."""
    parts = LINK.split(text)
    out = []
    for number, part in enumerate(parts):
        if number % 2:
            url = html.escape(part, quote=True)
            out.append(f'<a href="{url}" style="color:#0969da;">{url}</a>')
        else:
            out.append(html.escape(part, quote=False))
    return Markup("".join(out))  # noqa: S704 - every part was escaped just above


def mail_environment() -> Environment:
    """The templates' environment with the `linked` filter of the HTML mails."""
    env = environment()
    env.filters["linked"] = _linked
    return env


@dataclass
class EmailChannel:
    """Reminders as e-mail: text and HTML, the rounds attached, List-Unsubscribe set."""

    server: MailServer
    store: Store
    public_url: str
    clock: Callable[[], dt.datetime]
    name: str = CHANNEL
    rate_per_second: float | None = 2.0  # a modest pace a shared SMTP relay accepts
    capabilities: Capabilities = MAIL_MESSAGES
    env: Environment = field(default_factory=mail_environment, repr=False)

    async def send(self, address: str, text: str) -> SendResult:
        """A reminder without an attachment (an announcement, a notice)."""
        return await self._reminder(address, text, None)

    async def send_calendar(self, address: str, text: str, calendar: bytes) -> SendResult:
        """A reminder with its rounds as an .ics attachment."""
        return await self._reminder(address, text, calendar)

    async def _reminder(self, address: str, text: str, calendar: bytes | None) -> SendResult:
        token = self.store.mail.link_for_address(address, now=self.clock())
        unsubscribe = f"{self.public_url}{UNSUBSCRIBE_PATH}?t={token}" if token else None
        subject, _, body = text.strip().partition("\n")
        message = self.compose(address, subject, body.strip(), calendar, unsubscribe)
        return await self.deliver(message)

    def compose(
        self,
        address: str,
        subject: str,
        body: str,
        calendar: bytes | None = None,
        unsubscribe: str | None = None,
    ) -> EmailMessage:
        """One message: plain text and HTML alternatives, the calendar attached."""
        message = EmailMessage()
        message["Subject"] = subject.strip() or "政策申报提醒"
        message["From"] = self.server.sender
        message["To"] = address
        message["Date"] = email.utils.format_datetime(self.clock())
        # The same reminder to the same reader has the same id: a resend is known as one.
        digest = hashlib.sha256(f"{address}\n{subject}\n{body}".encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{self.server.domain}>"
        message["Auto-Submitted"] = "auto-generated"
        if unsubscribe:
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        ctx = {"calendar": calendar is not None, "unsubscribe": unsubscribe}
        footer = self.env.get_template("mail/footer.txt.j2").render(**ctx)
        message.set_content(f"{body}\n{footer}")
        paragraphs = [p.split("\n") for p in re.split(r"\n\s*\n", body) if p.strip()]
        page = self.env.get_template("mail/message.html.j2").render(
            subject=message["Subject"], paragraphs=paragraphs, **ctx
        )
        message.add_alternative(page, subtype="html")
        if calendar is not None:
            message.add_attachment(
                calendar,
                maintype="text",
                subtype="calendar",
                filename="申报批次.ics",
                params={"method": "PUBLISH"},
            )
        return message

    async def deliver(self, message: EmailMessage) -> SendResult:
        """Hand one message to the SMTP server; its answer as a result."""
        server = self.server
        login: dict[str, Any] = {}
        if server.user and server.password is not None:
            login = {"username": server.user, "password": server.password.reveal()}
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                use_tls=server.tls == "tls",
                start_tls=server.tls == "starttls",
                timeout=server.timeout,
                **login,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            return _answer(codes[0] if codes else 550, "recipient refused")
        except aiosmtplib.SMTPRecipientRefused as exc:
            return _answer(exc.code, "recipient refused")
        except aiosmtplib.SMTPDataError as exc:
            return _answer(exc.code, "message refused", rejected=True)
        except aiosmtplib.SMTPAuthenticationError as exc:
            return SendResult(
                TRANSIENT, detail=f"SMTP login refused ({exc.code})", channel_down=True
            )
        except aiosmtplib.SMTPSenderRefused as exc:
            return SendResult(TRANSIENT, detail=f"sender refused ({exc.code})", channel_down=True)
        except (aiosmtplib.SMTPException, OSError) as exc:  # no answer, TLS, disconnects
            return SendResult(TRANSIENT, detail=type(exc).__name__, channel_down=True)
        return SendResult(OK)


def _answer(code: int, what: str, *, rejected: bool = False) -> SendResult:
    """An SMTP reply code as a result: 4xx waits, 5xx is final (the mailbox, or this message)."""
    if 400 <= code < 500:
        return SendResult(RETRY_AFTER, retry_after=600.0, detail=f"{code} {what}")
    if rejected:
        return SendResult(REJECTED, detail=f"{code} {what}")
    return SendResult(PERMANENT, detail=f"{code} {what}")
