"""Reminder planning: which subscriber hears about which round, when.

Pure: subscriptions, rounds, preferences, the working-day calendar and `now` come in; a list
of reminders comes out. The outbox's unique key (subscriber, round, kind) makes storing them
idempotent, so planning can run again at any time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from zoneinfo import ZoneInfo

from schedulers._policy import Basis

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFSETS = (14, 7, 3, 1)
DEFAULT_SEND_TIME = dt.time(9, 30)


class Kind(StrEnum):
    """What a reminder is. Stored with what tells one from another of the same kind:
    `open`, `close-7`, `weekly-2026-11-23`, `change-3`, `announce-3`, `announcement`."""

    OPEN = "open"  # the round opens (申报开始)
    CLOSE = "close"  # close-N: N days before the round closes
    WEEKLY = "weekly"  # weekly-MONDAY: a group's digest of the two weeks ahead
    CHANGE = "change"  # change-V: the round's dates changed (version V)
    ANNOUNCE = "announce"  # announce-V: the bureau published the round (version V)
    ANNOUNCEMENT = "announcement"  # an admin's announcement: no round (key `announcement:<id>`)
    HEADSUP = "headsup"  # 申报预告: an estimated round is near; no notice exists yet
    WITHDRAW = "withdraw"  # withdraw-V: the bureau withdrew the round it had published (V)
    SNOOZED = "snoozed"  # snoozed-DAY: the enterprise asked to be reminded later (稍后提醒)

    @classmethod
    def of(cls, stored: str) -> Kind:
        """The kind of a stored reminder kind (`close-7` is CLOSE)."""
        return cls(stored.split("-", 1)[0])


OPEN_KIND = str(Kind.OPEN)
HEADSUP_KIND = str(Kind.HEADSUP)
HEADSUP_DAYS = 30  # the heads-up of an estimated round, this many days before its window
# The bases whose dates someone has said: only these open and count down to a deadline.
ANNOUNCED = frozenset({Basis.CONFIRMED, Basis.STATED})
ANNOUNCEMENT = str(Kind.ANNOUNCEMENT)


def close_kind(days: int) -> str:
    """The kind of the reminder `days` before a round closes."""
    return f"{Kind.CLOSE}-{days}"


def change_kind(version: int) -> str:
    """The kind of the notice that a round's dates changed, as of `version`."""
    return f"{Kind.CHANGE}-{version}"


def withdraw_kind(version: int) -> str:
    """The kind of the notice that the bureau withdrew a published round, as of `version`."""
    return f"{Kind.WITHDRAW}-{version}"


def announce_kind(version: int) -> str:
    """The kind of the notice that the bureau published a round, as of `version`."""
    return f"{Kind.ANNOUNCE}-{version}"


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """A dated round as the planner sees it; `key` is stable across versions."""

    key: str
    version: int
    policy_id: str
    category: str
    open: dt.date | None
    close: dt.date | None
    basis: Basis
    label: str | None = None
    recorded_at: dt.datetime | None = None  # when this version became known
    returning: bool = False  # only for those who said they applied to the policy before


@dataclass(frozen=True, slots=True)
class Preferences:
    """How and when a subscriber wants to hear."""

    offsets: tuple[int, ...] = DEFAULT_OFFSETS
    notify_open: bool = True
    send_time: dt.time = DEFAULT_SEND_TIME
    muted_policies: frozenset[str] = frozenset()
    muted_categories: frozenset[str] = frozenset()
    weekly: bool = False  # a Monday digest of the rounds instead of a message at each


@dataclass(frozen=True, slots=True)
class Audience:
    """One subscriber with the policies it should hear about (the enterprise's matches)."""

    subscriber_id: int
    subscribed_at: dt.datetime  # UTC
    policy_ids: frozenset[str]
    preferences: Preferences = field(default_factory=Preferences)
    applied: frozenset[str] = frozenset()  # policies it said it applied to (已申报)


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


def _schedule(
    rnd: RoundInfo, prefs: Preferences, is_workday: IsWorkday
) -> list[tuple[str, dt.datetime]]:
    """(kind, due) of every reminder of a round under some preferences, whoever subscribes.

    A round whose dates were announced (a notice, or the documents' yearly dates) opens and
    counts down to its close. An estimated one gets one heads-up before its window and no
    opening or countdown: nobody has said it opens, nor set that deadline. A round of
    unknown dates gets nothing until the bureau publishes it."""
    out: list[tuple[str, dt.datetime]] = []

    def remind(kind: str, day: dt.date) -> None:
        due = at_local(previous_workday(day, is_workday), prefs.send_time)
        if all(d != due for _, d in out):  # two reminders moved onto one day: one message says it
            out.append((kind, due))

    if rnd.basis not in ANNOUNCED:
        first = rnd.open or rnd.close
        if rnd.basis == Basis.ESTIMATED and first is not None:
            remind(HEADSUP_KIND, first - dt.timedelta(days=HEADSUP_DAYS))
        return out

    if rnd.open is not None and prefs.notify_open:
        remind(OPEN_KIND, rnd.open)
    if rnd.close is not None:
        for days in sorted(set(prefs.offsets), reverse=True):
            day = rnd.close - dt.timedelta(days=days)
            if rnd.open is not None and day < rnd.open:
                continue  # a reminder to close before the round even opens says nothing
            remind(close_kind(days), day)
    return out


def _for_audience(
    audience: Audience, rnd: RoundInfo, schedule: list[tuple[str, dt.datetime]]
) -> list[Reminder]:
    """The schedule of a round as one subscriber gets it."""
    joined = audience.subscribed_at
    sid = audience.subscriber_id
    # Nothing is planned before the subscriber joined, nor before this version of the round
    # was known: those who heard of an earlier version get a change notice instead.
    since = max(joined, rnd.recorded_at) if rnd.recorded_at else joined
    out = [Reminder(sid, rnd.key, rnd.version, kind, due) for kind, due in schedule if due >= since]
    joined_day = local_date(joined)
    last = rnd.close or rnd.open
    # Who joined before this version was known heard of the round already (its opening, or a
    # change or withdrawal notice now): a new version never tells them a second time.
    # (A first version heard by nobody yet is new to everyone.)
    new_to_it = rnd.version == 1 or rnd.recorded_at is None or joined >= rnd.recorded_at
    late = rnd.basis == Basis.ESTIMATED and schedule and not out and new_to_it
    if late and last is not None and joined_day <= last:
        # Joined after the heads-up day, before the window passed: the heads-up at once.
        return [Reminder(sid, rnd.key, rnd.version, HEADSUP_KIND, since)]
    if rnd.basis not in ANNOUNCED:
        return out
    opened = rnd.open is not None and rnd.open <= joined_day
    if (
        opened
        and new_to_it
        and (rnd.close is None or joined_day <= rnd.close)
        and audience.preferences.notify_open
    ):
        # A new subscriber hears at once about a round that is already open.
        out = [r for r in out if r.kind != OPEN_KIND]
        out.insert(0, Reminder(sid, rnd.key, rnd.version, OPEN_KIND, joined))
    return out


def plan_one(audience: Audience, rnd: RoundInfo, *, is_workday: IsWorkday) -> list[Reminder]:
    """The reminders of one subscriber for one round (before any horizon is applied)."""
    if rnd.policy_id not in audience.policy_ids or _muted(audience, rnd):
        return []
    return _for_audience(audience, rnd, _schedule(rnd, audience.preferences, is_workday))


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
    # Subscribers with the same preferences share each round's schedule: compute it once.
    schedules: dict[tuple[str, int, Preferences], list[tuple[str, dt.datetime]]] = {}
    for audience in audiences:
        prefs = audience.preferences
        if prefs.weekly:
            continue  # heard in the weekly digest (`digest_audience`)
        for policy_id in sorted(audience.policy_ids):
            for rnd in by_policy.get(policy_id, ()):
                if _muted(audience, rnd):
                    continue
                if rnd.returning and policy_id not in audience.applied:
                    continue  # a renewal round: only for those already receiving it
                key = (rnd.key, rnd.version, prefs)
                schedule = schedules.get(key)
                if schedule is None:
                    schedule = schedules[key] = _schedule(rnd, prefs, is_workday)
                out.extend(r for r in _for_audience(audience, rnd, schedule) if r.due_at <= until)
    out.sort(key=attrgetter("due_at"))  # stable: ties keep the audience and policy order
    return out


@dataclass(frozen=True, slots=True)
class GroupAudience:
    """A weekly digest's reader: a group subscribed to categories, or an enterprise that
    chose a digest, with its policies."""

    subscriber_id: int
    categories: frozenset[str]
    subscribed_at: dt.datetime
    send_time: dt.time = DEFAULT_SEND_TIME
    policies: frozenset[str] = frozenset()


def digest_audience(audience: Audience, categories: Mapping[str, str]) -> GroupAudience:
    """The weekly digest of an enterprise that chose one: its matched policies, less those
    it muted (`categories`: each policy's category)."""
    prefs = audience.preferences
    policies = frozenset(
        p
        for p in audience.policy_ids
        if p not in prefs.muted_policies and categories.get(p) not in prefs.muted_categories
    )
    return GroupAudience(
        audience.subscriber_id, frozenset(), audience.subscribed_at, prefs.send_time, policies
    )


DIGEST_DAYS = 14


def weekly_kind(monday: dt.date) -> str:
    """The reminder kind of the digest for the week starting `monday`."""
    return f"{Kind.WEEKLY}-{monday.isoformat()}"


def weekly_digests(
    groups: Iterable[GroupAudience],
    rounds: Sequence[RoundInfo],
    *,
    now: dt.datetime,
    until: dt.datetime,
    is_workday: IsWorkday,
) -> list[Reminder]:
    """Each Monday, for each group, the rounds of its categories opening or closing in 14 days.

    One reminder row per round; rows due together for a group become one digest message.
    """
    today = local_date(now)
    monday = today - dt.timedelta(days=today.weekday())
    last = local_date(until)
    out: list[Reminder] = []
    group_list = list(groups)
    while monday <= last:
        window_end = monday + dt.timedelta(days=DIGEST_DAYS - 1)
        week = [
            r
            for r in rounds
            if any(d is not None and monday <= d <= window_end for d in (r.open, r.close))
        ]
        for group in group_list:
            due = at_local(previous_workday(monday, is_workday), group.send_time)
            if due < group.subscribed_at or due < now - dt.timedelta(days=1):
                continue
            out.extend(
                Reminder(group.subscriber_id, r.key, r.version, weekly_kind(monday), due)
                for r in week
                if r.category in group.categories or r.policy_id in group.policies
            )
        monday += dt.timedelta(days=7)
    return out
