"""The messages huiqi sends to subscribers, as typed values.

The dispatcher's composer builds one of these from the outbox rows due together for one
subscriber; each channel renders it with its own templates (`bot._views.render_message`), and
the dispatcher splits the text once, by the channel's declared `Capabilities`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from schedulers._planner import Kind
from schedulers._policy import Policy


class RoundLike(Protocol):
    """A dated round as stored: the fields a message shows."""

    @property
    def key(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def open(self) -> dt.date | None: ...
    @property
    def close(self) -> dt.date | None: ...
    @property
    def basis(self) -> str: ...
    @property
    def label(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One reminder in a message: what happened to which round of which policy."""

    kind: Kind
    round: RoundLike
    policy: Policy
    previous: RoundLike | None = None  # a date change: the round's dates before it


@dataclass(frozen=True, slots=True)
class Digest:
    """The reminders due together for one subscriber: one round, or several in one message."""

    entries: tuple[Entry, ...]
    today: dt.date
    late: bool = False  # sent after a stop, later than planned

    def __post_init__(self) -> None:
        if not self.entries:
            raise ValueError("a digest has at least one entry")

    @property
    def weekly(self) -> bool:
        """A group's weekly digest of the two weeks ahead."""
        return self.entries[0].kind is Kind.WEEKLY


@dataclass(frozen=True, slots=True)
class Announcement:
    """An admin's announcement, as written, with the day it was published."""

    text: str
    published: dt.date
    today: dt.date

    @property
    def late(self) -> bool:
        """Sent on a later day than written: the message says when it was published."""
        return self.published != self.today


Message = Digest | Announcement
