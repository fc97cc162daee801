"""Windows become rounds; status and next round on a given day."""

from __future__ import annotations

import datetime as dt

import pytest

from schedulers import (
    AnnualWindow,
    Basis,
    ContinuousWindow,
    DatedWindow,
    Eligibility,
    Evidence,
    Listing,
    MonthDay,
    Policy,
    Round,
    Source,
    TbdWindow,
    Validity,
    Window,
    next_round,
    rounds,
    status,
)

EV = (Evidence("000_e20c864cf1cd1afc.txt", 1, "quote"),)
D = dt.date


def make(*windows: Window, validity: Validity | None = None) -> Policy:
    """A minimal policy with the given windows."""
    return Policy(
        id="p",
        name="测试政策",
        level="municipal",
        category="award",
        summary="测试用。",
        benefits=(),
        eligibility=Eligibility("无"),
        sources=(Source("《测试》"),),
        department="市经信局人事教育科",
        listed_in=(Listing("鄂州市支持中小企业政策清单（三）", 1),),
        windows=windows,
        validity=validity,
    )


def annual(open_: str | None, close: str | None, basis: Basis = Basis.STATED) -> AnnualWindow:
    """An annual window from MM-DD strings."""

    def md(text: str | None) -> MonthDay | None:
        if text is None:
            return None
        month, day = text.split("-")
        return MonthDay(int(month), int(day))

    return AnnualWindow(basis, md(open_), md(close), EV)


def test_annual_window_gives_this_years_round_before_it_opens() -> None:
    """Before December, the December round of this year is next and the policy is upcoming."""
    policy = make(annual("12-01", "12-25"))
    assert next_round(policy, on=D(2026, 11, 22)) == Round(
        "p", 0, D(2026, 12, 1), D(2026, 12, 25), Basis.STATED
    )
    assert status(policy, on=D(2026, 11, 22)) == "upcoming"


def test_annual_window_is_open_inside_the_range_including_the_close_day() -> None:
    """The close day is inclusive: on 25 December the round is still open."""
    policy = make(annual("12-01", "12-25"))
    assert status(policy, on=D(2026, 12, 1)) == "open"
    assert status(policy, on=D(2026, 12, 25)) == "open"
    assert next_round(policy, on=D(2026, 12, 25)) == Round(
        "p", 0, D(2026, 12, 1), D(2026, 12, 25), Basis.STATED
    )


def test_annual_window_rolls_over_to_next_year_after_close() -> None:
    """After the close, the next round is next year's."""
    policy = make(annual("12-01", "12-25", Basis.ESTIMATED))
    assert next_round(policy, on=D(2026, 12, 26)) == Round(
        "p", 0, D(2027, 12, 1), D(2027, 12, 25), Basis.ESTIMATED
    )


def test_close_only_round_is_upcoming_until_its_deadline() -> None:
    """A round known only by its deadline is upcoming, never claimed open."""
    policy = make(annual(None, "09-30"))
    assert status(policy, on=D(2026, 9, 30)) == "upcoming"
    assert next_round(policy, on=D(2026, 9, 30)) == Round(
        "p", 0, None, D(2026, 9, 30), Basis.STATED
    )


def test_earliest_of_several_windows_is_next() -> None:
    """With a June and a December window, the nearer one comes first."""
    policy = make(annual(None, "06-25"), annual("12-01", "12-25"))
    assert next_round(policy, on=D(2026, 3, 1)) == Round("p", 0, None, D(2026, 6, 25), Basis.STATED)
    assert next_round(policy, on=D(2026, 7, 1)) == Round(
        "p", 1, D(2026, 12, 1), D(2026, 12, 25), Basis.STATED
    )


def test_past_dated_round_alone_is_expired() -> None:
    """A one-off round long past, with nothing recurring, is expired."""
    policy = make(DatedWindow(D(2020, 3, 1), D(2020, 3, 31), EV))
    assert status(policy, on=D(2026, 11, 22)) == "expired"
    assert next_round(policy, on=D(2026, 11, 22)) is None


def test_dated_history_does_not_hide_tbd() -> None:
    """A past round plus a yearly notice of unknown date is tbd."""
    policy = make(DatedWindow(None, D(2019, 12, 25), EV), TbdWindow(EV))
    assert status(policy, on=D(2026, 11, 22)) == "tbd"


def test_continuous_window_within_validity_and_after() -> None:
    """A tax item is continuous while valid and expired afterwards."""
    policy = make(ContinuousWindow(D(2023, 1, 1), D(2027, 12, 31), EV))
    assert status(policy, on=D(2026, 11, 22)) == "continuous"
    assert status(policy, on=D(2028, 1, 1)) == "expired"
    assert next_round(policy, on=D(2026, 11, 22)) is None


def test_validity_over_expires_even_annual_windows() -> None:
    """Past the policy's validity, its yearly rounds stop."""
    policy = make(annual("06-01", "06-30"), validity=Validity(D(2020, 1, 1), D(2022, 12, 31), EV))
    assert status(policy, on=D(2026, 11, 22)) == "expired"
    assert next_round(policy, on=D(2026, 11, 22)) is None
    assert status(policy, on=D(2022, 6, 15)) == "open"


def test_rounds_lists_each_year_in_range_in_date_order() -> None:
    """An annual window gives one round per year of the range."""
    policy = make(annual("12-01", "12-25"), DatedWindow(None, D(2019, 12, 25), EV))
    assert rounds(policy, start=D(2019, 1, 1), end=D(2020, 12, 31)) == (
        Round("p", 0, D(2019, 12, 1), D(2019, 12, 25), Basis.STATED),
        Round("p", 1, None, D(2019, 12, 25), Basis.CONFIRMED),
        Round("p", 0, D(2020, 12, 1), D(2020, 12, 25), Basis.STATED),
    )


def test_leap_day_falls_back_to_28_february() -> None:
    """A 29 February window lands on the 28th in common years."""
    assert MonthDay(2, 29).in_year(2026) == D(2026, 2, 28)
    assert MonthDay(2, 29).in_year(2028) == D(2028, 2, 29)


def test_round_needs_a_date() -> None:
    """A round with neither end is refused."""
    with pytest.raises(ValueError, match="open or a close"):
        Round("p", 0, None, None, Basis.STATED)
