"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it is given, refuses scripted
recipients, and takes one login."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.bot.local_server import free_port

USER, PASSWORD = "huiqi", "smtp-pass-7"


@dataclass
class Mailbox:
    """Every message the server accepted, parsed; addresses to refuse with their code."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    logins: list[str] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to `address`."""
        return [m for m in self.messages if m["To"] == address]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers the 535


@contextmanager
def smtp_server(*, login: bool = False) -> Iterator[tuple[Mailbox, int]]:
    """Run the server on 127.0.0.1; yield its mailbox and port."""
    box = Mailbox()
    port = free_port()
    options: dict[str, Any] = {}
    if login:
        options = {
            "authenticator": box.authenticate,
            "auth_required": True,
            "auth_require_tls": False,  # 127.0.0.1 only (pyproject.toml quiets its warning)
        }
    controller = Controller(box, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
