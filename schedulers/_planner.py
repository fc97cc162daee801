"""Reminder planning: which subscriber hears about which round, when.

Pure: subscriptions, rounds, preferences, the working-day calendar and `now` come in; a list
of reminders comes out. The outbox's unique key (subscriber, round, kind) makes storing them
idempotent, so planning can run again at any time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFSETS = (14, 7, 3, 1)
DEFAULT_SEND_TIME = dt.time(9, 30)

OPEN_KIND = "open"


def close_kind(days: int) -> str:
    """The kind of the reminder `days` before a round closes."""
    return f"close-{days}"


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """A dated round as the planner sees it; `key` is stable across versions."""

    key: str
    version: int
    policy_id: str
    category: str
    open: dt.date | None
    close: dt.date | None
    basis: str
    label: str | None = None
    recorded_at: dt.datetime | None = None  # when this version became known


@dataclass(frozen=True, slots=True)
class Preferences:
    """How and when a subscriber wants to hear."""

    offsets: tuple[int, ...] = DEFAULT_OFFSETS
    notify_open: bool = True
    send_time: dt.time = DEFAULT_SEND_TIME
    muted_policies: frozenset[str] = frozenset()
    muted_categories: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Audience:
    """One subscriber with the policies it should hear about (the enterprise's matches)."""

    subscriber_id: int
    subscribed_at: dt.datetime  # UTC
    policy_ids: frozenset[str]
    preferences: Preferences = field(default_factory=Preferences)


@dataclass(frozen=True, slots=True)
class Reminder:
    """One message due at one instant for one subscriber about one round."""

    subscriber_id: int
    round_key: str
    round_version: int
    kind: str
    due_at: dt.datetime  # UTC


IsWorkday = Callable[[dt.date], bool]


def previous_workday(day: dt.date, is_workday: IsWorkday) -> dt.date:
    """`day` itself when it is a working day, else the last working day before it."""
    for _ in range(30):  # the longest Chinese holiday with weekends is far shorter
        if is_workday(day):
            return day
        day -= dt.timedelta(days=1)
    return day


def at_local(day: dt.date, time: dt.time) -> dt.datetime:
    """The UTC instant of a local (Asia/Shanghai) day and time."""
    return dt.datetime.combine(day, time, tzinfo=SHANGHAI).astimezone(dt.UTC)


def local_date(instant: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of a UTC instant."""
    return instant.astimezone(SHANGHAI).date()


def _muted(audience: Audience, rnd: RoundInfo) -> bool:
    prefs = audience.preferences
    return rnd.policy_id in prefs.muted_policies or rnd.category in prefs.muted_categories


def plan_one(audience: Audience, rnd: RoundInfo, *, is_workday: IsWorkday) -> list[Reminder]:
    """The reminders of one subscriber for one round (before any horizon is applied)."""
    if rnd.policy_id not in audience.policy_ids or _muted(audience, rnd):
        return []
    prefs = audience.preferences
    joined = audience.subscribed_at
    out: list[Reminder] = []

    def remind(kind: str, day: dt.date) -> None:
        due = at_local(previous_workday(day, is_workday), prefs.send_time)
        if any(r.due_at == due for r in out):
            return  # two reminders moved onto the same working day: one message says it
        out.append(Reminder(audience.subscriber_id, rnd.key, rnd.version, kind, due))

    if rnd.open is not None and prefs.notify_open:
        joined_day = local_date(joined)
        still_open = rnd.close is None or joined_day <= rnd.close
        if rnd.open <= joined_day and still_open:
            # A new subscriber hears at once about a round that is already open.
            out.append(Reminder(audience.subscriber_id, rnd.key, rnd.version, OPEN_KIND, joined))
        elif rnd.open > joined_day:
            remind(OPEN_KIND, rnd.open)
    if rnd.close is not None:
        for days in sorted(set(prefs.offsets), reverse=True):
            day = rnd.close - dt.timedelta(days=days)
            if rnd.open is not None and day < rnd.open:
                continue  # a reminder to close before the round even opens says nothing
            remind(close_kind(days), day)
    # Nothing is planned before the subscriber joined, nor before this version of the round
    # was known: those who heard of an earlier version get a change notice instead.
    since = max(joined, rnd.recorded_at) if rnd.recorded_at else joined
    return [r for r in out if r.due_at >= since or (r.kind == OPEN_KIND and r.due_at == joined)]


def plan(
    audiences: Iterable[Audience],
    rounds: Sequence[RoundInfo],
    *,
    now: dt.datetime,
    until: dt.datetime,
    is_workday: IsWorkday,
) -> list[Reminder]:
    """Every reminder due between the start of today's rounds and `until`, in due order.

    Reminders already past (`due_at` < now) are kept when their round is still open on
    `now`: the dispatcher sends them late (补发). Those of closed rounds are left out.
    """
    today = local_date(now)
    live = [r for r in rounds if (r.close or r.open or today) >= today]
    by_policy: dict[str, list[RoundInfo]] = {}
    for rnd in live:
        by_policy.setdefault(rnd.policy_id, []).append(rnd)
    out: list[Reminder] = []
    for audience in audiences:
        for policy_id in audience.policy_ids:
            for rnd in by_policy.get(policy_id, ()):
                out.extend(
                    r for r in plan_one(audience, rnd, is_workday=is_workday) if r.due_at <= until
                )
    out.sort(key=lambda r: (r.due_at, r.subscriber_id, r.round_key, r.kind))
    return out
