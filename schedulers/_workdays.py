"""China's working days: official holidays and make-up working days (调休).

Backed by the chinesecalendar package, which carries the State Council's yearly schedule.
A year it does not yet carry (the State Council publishes each schedule in November) falls
back to Monday-Friday less the holidays fixed in the Gregorian calendar (元旦 1 January,
劳动节 1-2 May, 国庆节 1-3 October); `covers` says whether the full schedule is known.
"""

from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar


def covers(year: int) -> bool:
    """Whether the official holiday schedule of `year` is known."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


# Statutory holidays on fixed Gregorian dates (全国年节及纪念日放假办法, 2024 revision).
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


@functools.lru_cache(maxsize=4096)
def is_workday(day: dt.date) -> bool:
    """Whether `day` is a working day in China."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS
