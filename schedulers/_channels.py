"""The channel interface every sender implements, the results it gives, and a recording
channel (tests, simulations)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

OK = "ok"
RETRY_AFTER = "retry_after"  # the platform asked to wait: try again then
TRANSIENT = "transient"  # a fault that may pass: try again later, spending an attempt
PERMANENT = "permanent"  # the subscriber cannot be reached any more (blocked, left, removed)
REJECTED = "rejected"  # the platform refused this message; the subscriber is still there
MIGRATE = "migrate"  # the chat moved to `new_address`: follow it and send there
UNCERTAIN = "uncertain"  # the request went out and no answer came: it may have arrived


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a platform said about one message.

    `channel_down` marks a fault of the channel rather than of the message (a refused bot
    token, a platform that does not answer): the dispatcher stops using the channel for the
    rest of the tick and retries its messages later without spending their attempts.
    """

    status: str
    retry_after: float | None = None
    detail: str = ""
    new_address: str | None = None
    channel_down: bool = False


SENT_OK = SendResult(OK)


class Channel(Protocol):
    """A way to reach subscribers: one `send` per message."""

    name: str
    rate_per_second: float | None  # the platform's overall limit; None for none

    async def send(self, address: str, text: str) -> SendResult:
        """Deliver `text` to `address`; never raise for a platform's answer."""
        ...


@dataclass(frozen=True, slots=True)
class Recorded:
    """One message a recording channel received."""

    at: dt.datetime
    address: str
    text: str


@dataclass
class RecordingChannel:
    """Keeps every message with the (simulated) time it was sent; answers from a script."""

    clock: Callable[[], dt.datetime]
    name: str = "console"
    rate_per_second: float | None = None
    answers: dict[str, list[SendResult]] = field(default_factory=dict)
    sent: list[Recorded] = field(default_factory=list)
    attempts: int = 0

    async def send(self, address: str, text: str) -> SendResult:
        self.attempts += 1
        scripted = self.answers.get(address)
        result = scripted.pop(0) if scripted else SENT_OK
        if result.status == OK:
            self.sent.append(Recorded(self.clock(), address, text))
        return result
