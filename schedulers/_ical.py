"""iCalendar feeds: a pure, deterministic rendering of rounds as all-day events.

The same events give byte-identical output: UIDs come from the round's key (stable across
versions), SEQUENCE from its version, DTSTAMP and LAST-MODIFIED from when that version was
recorded; nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from icalendar import Alarm, Calendar, Event, vDuration

PRODID = "-//huiqi//Ezhou policy rounds//ZH"
UID_DOMAIN = "huiqi.ezhou"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One round as a calendar event (dates inclusive; `close` may be None, `open` too)."""

    round_key: str
    version: int
    recorded_at: dt.datetime  # UTC
    open: dt.date | None
    close: dt.date | None
    summary: str
    description: str
    confirmed: bool
    categories: tuple[str, ...] = ()
    url: str | None = None
    countdown: bool = True  # alarms before the close: only for a deadline someone has set


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """The calendar's own properties."""

    name: str
    description: str
    refresh: dt.timedelta = dt.timedelta(hours=12)


def uid_of(round_key: str) -> str:
    """A stable, RFC 5545-safe UID for a round (the same for every version of it)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", round_key).strip("-") + "@" + UID_DOMAIN


def _event(item: FeedEvent) -> Event:
    start = item.open or item.close
    last = item.close or item.open
    if start is None or last is None:
        raise ValueError(f"round {item.round_key} has no dates")
    event = Event()
    event.add("uid", uid_of(item.round_key))
    event.add("dtstamp", item.recorded_at)
    event.add("last-modified", item.recorded_at)
    event.add("sequence", item.version - 1)
    event.add("dtstart", start)
    event.add("dtend", last + dt.timedelta(days=1))  # DTEND is exclusive for all-day events
    event.add("summary", item.summary)
    event.add("description", item.description)
    event.add("status", "CONFIRMED" if item.confirmed else "TENTATIVE")
    event.add("transp", "TRANSPARENT")  # a declaration window does not make anyone busy
    if item.categories:
        event.add("categories", list(item.categories))
    if item.url:
        event.add("url", item.url)
    if item.close is not None and item.countdown:
        # 09:00 seven days and one day before the close (DTEND is the day after it).
        for days, text in ((7, "7天后截止"), (1, "明天截止")):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{text}：{item.summary}")
            alarm.add("trigger", -dt.timedelta(days=days, hours=15), parameters={"RELATED": "END"})
            event.add_component(alarm)
    return event


def render_feed(meta: FeedMeta, events: Sequence[FeedEvent]) -> bytes:
    """The whole calendar, events in date then key order."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", meta.name)
    cal.add("x-wr-calname", meta.name)
    cal.add("description", meta.description)
    cal.add("x-wr-caldesc", meta.description)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("refresh-interval", vDuration(meta.refresh), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(meta.refresh))
    ordered = sorted(events, key=lambda e: ((e.open or e.close or dt.date.max), e.round_key))
    for item in ordered:
        cal.add_component(_event(item))
    return bytes(cal.to_ical())
