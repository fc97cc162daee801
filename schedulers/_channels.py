"""The channel interface every sender implements, the results it gives, and a recording
channel (tests, simulations)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

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


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one message on a channel can carry, declared by the channel: its size limit (in
    characters, or in UTF-8 bytes where the platform counts bytes), its markup and whether it
    has buttons (else every command is a typed word)."""

    limit: int | None = None  # None: no limit
    utf8: bool = False  # the limit counts UTF-8 bytes (WeCom), not characters (Telegram)
    markup: str = "text"  # text | html | markdown
    buttons: bool = False
    # How a reader asks for more: "slash" commands (/policy ID, Telegram), "typed" words
    # (政策 ID, WeCom app), or "none" (a group robot, the console, e-mail): a link only.
    commands: str = "none"

    def size(self, text: str) -> int:
        """The size of `text` as the platform measures it."""
        return utf8_size(text) if self.utf8 else len(text)

    def split(self, text: str) -> list[str]:
        """`text` in parts that each fit one message, cut at line breaks where possible."""
        if self.limit is None:
            return [text]
        return split_long(text, self.limit, self.size)


ANSWERS = ("applied", "not_interested", "later")  # 已申报, 不感兴趣, 稍后提醒
ANSWER_WORDS = {"applied": "已申报", "not_interested": "不感兴趣", "later": "稍后提醒"}


@dataclass(frozen=True, slots=True)
class Action:
    """An answer a reader can give to a message with one press (a channel with buttons):
    `code` names it (one of ANSWERS), `data` comes back when pressed."""

    code: str
    data: str


@runtime_checkable
class ActionChannel(Protocol):
    """A channel whose messages carry buttons: it sends the last part with the actions."""

    async def send_actions(
        self, address: str, text: str, actions: Sequence[Action]
    ) -> SendResult: ...


@runtime_checkable
class CalendarChannel(Protocol):
    """A channel that carries the message's rounds as an iCalendar attachment (e-mail)."""

    async def send_calendar(self, address: str, text: str, calendar: bytes) -> SendResult: ...


class Channel(Protocol):
    """A way to reach subscribers: one `send` per part of a message.

    The dispatcher renders each message for the channel's `capabilities` and splits it to
    their size limit; `send` gets one part that fits."""

    name: str
    rate_per_second: float | None  # the platform's overall limit; None for none
    capabilities: Capabilities

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
    capabilities: Capabilities = field(default_factory=Capabilities)
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


def split_long(text: str, limit: int, size: Callable[[str], int] = len) -> list[str]:
    """Split a long message at line breaks so each part's `size` stays within the limit.

    `size` is `len` for Telegram (characters); WeCom counts UTF-8 bytes.
    """
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while size(line) > limit:
            cut = _longest_prefix(line, limit, size)
            parts.append(line[:cut])
            line = line[cut:]
        if current and size(current) + size(line) + 1 > limit:
            parts.append(current.rstrip("\n"))
            current = ""
        current += line + "\n"
    if current.strip():
        parts.append(current.rstrip("\n"))
    return parts or [""]


def _longest_prefix(line: str, limit: int, size: Callable[[str], int]) -> int:
    """How many characters of `line` fit in `limit` (at least one, so splitting moves on)."""
    low, high = 1, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if size(line[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def utf8_size(text: str) -> int:
    """The length WeCom measures: UTF-8 bytes."""
    return len(text.encode())


def part_failed(number: int, result: SendResult) -> SendResult:
    """The result of a message whose part `number` (from 0) failed with `result`. Once a part
    has gone out, sending again would repeat it: a fault that could pass is then uncertain."""
    if number and result.status in (TRANSIENT, RETRY_AFTER):
        return SendResult(
            UNCERTAIN,
            detail=f"第{number + 1}段未发出：{result.detail}",
            channel_down=result.channel_down,
        )
    return result
