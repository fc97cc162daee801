"""China's working days: official holidays and make-up working days (调休).

Backed by the chinesecalendar package, which carries the State Council's yearly schedule.
A year it does not yet carry (the State Council publishes each schedule in November) falls
back to Monday-Friday less the statutory holidays of 全国年节及纪念日放假办法 (2024 revision),
computed for that year: 元旦 1 January, 春节 (除夕 and 正月初一 to 初三), 清明节 (the day of the
清明 solar term), 劳动节 1-2 May, 端午节 (五月初五), 中秋节 (八月十五) and 国庆节 1-3 October.
The lunar dates and the solar term come from the lunar_python package. The fallback cannot
know the make-up working days nor the bridging days the State Council adds, so it is only an
estimate; `covers` says whether the full schedule is known, and the first use of the fallback
for a year logs a warning once per process.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading

import chinese_calendar
from lunar_python import Lunar, Solar  # type: ignore[import-untyped]

log = logging.getLogger("huiqi.workdays")


def covers(year: int) -> bool:
    """Whether the official holiday schedule of `year` is known."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


# Statutory holidays on fixed Gregorian dates (全国年节及纪念日放假办法, 2024 revision).
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

# Statutory holidays on lunar dates other than 春节: 端午节 and 中秋节, one day each.
LUNAR_HOLIDAYS = frozenset({(5, 5), (8, 15)})

# 春节: 除夕 (the last day of the twelfth lunar month) and 正月初一 to 初三, as offsets from 初一.
SPRING_FESTIVAL_OFFSETS = (-1, 0, 1, 2)


def _date(solar: Solar) -> dt.date:
    """A lunar_python Solar as a date."""
    return dt.date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))


def _from_lunar(year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of day `day` of the (non-leap) lunar month `month` of lunar `year`."""
    return _date(Lunar.fromYmd(year, month, day).getSolar())


def _qingming(year: int) -> dt.date:
    """The date (Beijing time) of the 清明 solar term in `year`: 4 or 5 April."""
    # The solar-term table of the lunar year holding 10 April includes that year's 清明.
    return _date(Solar.fromYmd(year, 4, 10).getLunar().getJieQiTable()["清明"])


@functools.lru_cache(maxsize=32)
def _computed_holidays(year: int) -> frozenset[dt.date]:
    """The statutory holidays of `year` by the rule alone, without the State Council's schedule."""
    new_year = _from_lunar(year, 1, 1)
    days = {new_year + dt.timedelta(days=n) for n in SPRING_FESTIVAL_OFFSETS}
    days.update(_from_lunar(year, month, day) for month, day in LUNAR_HOLIDAYS)
    days.add(_qingming(year))
    days.update(dt.date(year, month, day) for month, day in FIXED_HOLIDAYS)
    return frozenset(days)


_warned_years: set[int] = set()
_warned_lock = threading.Lock()


def _warn_fallback(year: int) -> None:
    """Log, once per process for each year, that `year` uses the computed fallback."""
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning(
        "chinesecalendar does not cover %d; using computed statutory holidays without make-up days",
        year,
    )


@functools.lru_cache(maxsize=4096)
def is_workday(day: dt.date) -> bool:
    """Whether `day` is a working day in China."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The warning is kept apart from this cache, so clearing it does not repeat the warning.
        _warn_fallback(day.year)
        return day.weekday() < 5 and day not in _computed_holidays(day.year)
