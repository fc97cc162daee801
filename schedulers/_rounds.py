"""Windows become dated rounds; a policy's status and next round on a given day.

Pure functions: the day is always passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from schedulers._policy import (
    AnnualWindow,
    Basis,
    ContinuousWindow,
    DatedWindow,
    Deadline,
    Policy,
    TbdWindow,
)


class Status(StrEnum):
    """A policy's status on a day, in the order of precedence used when windows disagree."""

    OPEN = "open"
    CONTINUOUS = "continuous"
    UPCOMING = "upcoming"
    TBD = "tbd"
    EXPIRED = "expired"


OPEN, CONTINUOUS, UPCOMING, TBD, EXPIRED = Status
STATUSES = tuple(Status)


@dataclass(frozen=True, slots=True)
class Round:
    """One dated occurrence of a window; `close` is inclusive; either end may be unknown."""

    policy_id: str
    window: int  # index of the window in the policy
    open: dt.date | None
    close: dt.date | None
    basis: Basis  # confirmed | stated | estimated
    label: str | None = None
    deadline: Deadline | None = None  # what the close means for the enterprise

    def __post_init__(self) -> None:
        if self.open is None and self.close is None:
            raise ValueError("a round needs an open or a close date")

    @property
    def first_day(self) -> dt.date:
        """The earliest known day of the round."""
        return next(d for d in (self.open, self.close) if d is not None)

    @property
    def last_day(self) -> dt.date:
        """The latest known day of the round (the open day when the close is unknown)."""
        return next(d for d in (self.close, self.open) if d is not None)

    def is_open_on(self, day: dt.date) -> bool:
        """Whether applications are known to be accepted on `day`."""
        return self.open is not None and self.open <= day <= self.last_day


def rounds(policy: Policy, *, start: dt.date, end: dt.date) -> tuple[Round, ...]:
    """Every round of `policy` that overlaps start..end, in date order.

    Annual windows give one round a year; dated windows give themselves; continuous and
    tbd windows give none. Nothing is produced past the policy's validity, nor for a
    policy another has superseded (its rounds belong to the successor).
    """
    if policy.superseded_by is not None:
        return ()
    out: list[Round] = []
    for index, window in enumerate(policy.windows):
        if isinstance(window, AnnualWindow):
            for year in range(start.year - 1, end.year + 1):
                out.append(
                    Round(
                        policy.id,
                        index,
                        window.open.in_year(year) if window.open else None,
                        window.close.in_year(year) if window.close else None,
                        window.basis,
                        window.label,
                        window.deadline,
                    )
                )
        elif isinstance(window, DatedWindow):
            out.append(
                Round(
                    policy.id,
                    index,
                    window.open,
                    window.close,
                    window.basis,
                    window.label,
                    window.deadline,
                )
            )
    until = policy.validity.until if policy.validity else None
    kept = [
        r
        for r in out
        if r.last_day >= start and r.first_day <= end and (until is None or r.first_day <= until)
    ]
    return tuple(sorted(kept, key=lambda r: (r.first_day, r.last_day, r.window)))


# The rounds of one policy as they stand (the catalog's, superseded by the bureau's
# confirmed ones): given, they are the truth every view shows instead of the catalog's own.
Known = Sequence[Round] | None
# The rounds as they stand for every policy that has any (bot._service.round_book).
RoundBook = Mapping[str, Sequence[Round]]


def known_of(book: RoundBook | None, policy_id: str) -> Known:
    """A policy's rounds as they stand, or None (read its windows) without a book or when the
    book has none of its rounds (not recorded yet)."""
    return None if book is None else book.get(policy_id)


def next_round(policy: Policy, *, on: dt.date, known: Known = None) -> Round | None:
    """The first round that has not closed by `on` (an open one included), if any: of the
    `known` rounds when given, else of the catalog's windows."""
    if known is not None:
        ahead = sorted(known, key=lambda r: (r.first_day, r.last_day, r.window))
    else:
        ahead = list(rounds(policy, start=on, end=dt.date(on.year + 1, 12, 31)))
    return next((r for r in ahead if r.last_day >= on), None)


def status(policy: Policy, *, on: dt.date, known: Known = None) -> Status:
    """open, continuous, upcoming, tbd or expired on `on` (see the catalog README); the rounds
    are the `known` ones when given."""
    validity = policy.validity
    if policy.superseded_by is not None or (validity and validity.until and validity.until < on):
        return EXPIRED
    if validity and validity.start and validity.start > on:
        return UPCOMING
    found: set[Status] = set()
    nxt = next_round(policy, on=on, known=known)
    if nxt is not None:
        found.add(OPEN if nxt.is_open_on(on) else UPCOMING)
    for window in policy.windows:
        if isinstance(window, ContinuousWindow):
            if window.until is not None and window.until < on:
                continue
            found.add(UPCOMING if window.start and window.start > on else CONTINUOUS)
        elif isinstance(window, TbdWindow):
            found.add(TBD)
    return next((s for s in STATUSES if s in found), EXPIRED)


def round_key(found: Round, *, recurring: bool) -> str:
    """A round's name across versions: policy, window and (for a recurring window) the year."""
    base = f"{found.policy_id}#{found.window}"
    return f"{base}@{found.first_day.year}" if recurring else base


def window_of(key: str) -> int:
    """The window index a round key names (`round_key`); -1 when it names none."""
    window = key.partition("#")[2].partition("@")[0]
    return int(window) if window.isdigit() else -1
