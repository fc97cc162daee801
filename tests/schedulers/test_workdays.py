"""Working days: chinesecalendar's schedule where known, computed statutory holidays after."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import chinese_calendar
import pytest

from schedulers import _workdays
from schedulers._workdays import covers, is_workday

D = dt.date
LOGGER = "huiqi.workdays"
LAST_PUBLISHED = 2026


@pytest.fixture(autouse=True)
def fresh_fallback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Years after 2026 unpublished (as in chinesecalendar 1.11), with no cached day or warning."""
    published = chinese_calendar.is_workday

    def unpublished_after_2026(day: dt.date) -> bool:
        if day.year > LAST_PUBLISHED:
            raise NotImplementedError(f"no available data for year {day.year}")
        return bool(published(day))

    monkeypatch.setattr(chinese_calendar, "is_workday", unpublished_after_2026)
    monkeypatch.setattr(_workdays, "_warned_years", set())
    is_workday.cache_clear()
    yield
    is_workday.cache_clear()


def test_spring_festival_2027_is_four_days_off() -> None:
    """春节 2027 is 除夕 5 Feb and 初一 to 初三 (6-8 Feb); the weekdays either side are working."""
    assert [is_workday(D(2027, 2, d)) for d in range(4, 10)] == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]


def test_chuxi_2027_friday_is_not_a_workday() -> None:
    """除夕 2027 falls on Friday 5 February and is a statutory holiday."""
    assert D(2027, 2, 5).weekday() == 4
    assert is_workday(D(2027, 2, 5)) is False


def test_mid_autumn_2027_is_not_a_workday() -> None:
    """中秋节 2027 (八月十五) is Wednesday 15 September."""
    assert is_workday(D(2027, 9, 15)) is False
    assert is_workday(D(2027, 9, 16)) is True


def test_qingming_2027_is_not_a_workday() -> None:
    """清明节 2027 is the day of the 清明 solar term, Monday 5 April."""
    assert is_workday(D(2027, 4, 5)) is False
    assert is_workday(D(2027, 4, 6)) is True


def test_dragon_boat_2027_is_not_a_workday() -> None:
    """端午节 2027 (五月初五) is Wednesday 9 June."""
    assert is_workday(D(2027, 6, 9)) is False
    assert is_workday(D(2027, 6, 8)) is True


def test_ordinary_2027_weekday_is_a_workday() -> None:
    """Wednesday 10 March 2027 is no holiday, so it is a working day, and its weekend is not."""
    assert is_workday(D(2027, 3, 10)) is True
    assert is_workday(D(2027, 3, 13)) is False
    assert is_workday(D(2027, 3, 14)) is False


@pytest.mark.parametrize(
    "day",
    [
        D(2028, 1, 25),  # 除夕 2028, a Tuesday.
        D(2028, 1, 26),  # 春节 2028.
        D(2028, 4, 4),  # 清明 2028 falls on 4 April, a Tuesday.
        D(2030, 2, 4),  # 正月初二 2030 (春节 is Sunday 3 February), a Monday.
        D(2030, 2, 5),  # 正月初三 2030, a Tuesday.
    ],
)
def test_lunar_holidays_of_later_years_are_not_workdays(day: dt.date) -> None:
    """Weekday lunar and solar-term holidays of 2028 and 2030 are computed as holidays."""
    assert day.weekday() < 5
    assert is_workday(day) is False


def test_fallback_warning_is_logged_once_per_year(caplog: pytest.LogCaptureFixture) -> None:
    """Every day of 2027, asked twice with the cache cleared between, warns once for 2027 only."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    days = [D(2027, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    for day in days:
        is_workday(day)
    is_workday.cache_clear()
    for day in days:
        is_workday(day)
    is_workday(D(2026, 6, 1))
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert messages == [
        "chinesecalendar does not cover 2027; "
        "using computed statutory holidays without make-up days"
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == LOGGER)
    is_workday(D(2028, 3, 1))
    assert sum(r.name == LOGGER for r in caplog.records) == 2


def test_covered_year_comes_from_chinesecalendar(caplog: pytest.LogCaptureFixture) -> None:
    """In 2026 the schedule's make-up Saturday works and its extra 春节 Friday rests, unwarned."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert covers(2026) is True
    assert covers(2027) is False
    assert is_workday(D(2026, 2, 14)) is True  # Saturday, 调休上班 for 春节.
    assert is_workday(D(2026, 2, 20)) is False  # Friday, 正月初四: off by the 2026 schedule.
    assert [r for r in caplog.records if r.name == LOGGER] == []
