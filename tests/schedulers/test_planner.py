"""Reminder planning: offsets, working days, new subscribers, muting, horizons."""

from __future__ import annotations

import datetime as dt

from schedulers import (
    SHANGHAI,
    Audience,
    Basis,
    GroupAudience,
    Preferences,
    Reminder,
    RoundInfo,
    is_workday,
    plan,
    plan_one,
    previous_workday,
    weekly_digests,
)

D = dt.date


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 30) -> dt.datetime:
    """A Shanghai wall-clock instant, in UTC."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(dt.UTC)


TALENT = RoundInfo(
    "talent#1@2026", 1, "talent", "talent", D(2026, 12, 1), D(2026, 12, 25), Basis.STATED
)
EARLY = Audience(7, local(2026, 11, 1, 8, 0), frozenset({"talent"}))


def days_and_kinds(reminders: list[Reminder]) -> list[tuple[str, str]]:
    """(local date-time, kind) of each reminder."""
    return [(r.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"), r.kind) for r in reminders]


def test_december_talent_round_reminders_on_working_days() -> None:
    """Open on 1 Dec, then 14, 7, 3 and 1 days before 25 Dec; 24 Dec 2026 is a Thursday."""
    assert days_and_kinds(plan_one(EARLY, TALENT, is_workday=is_workday)) == [
        ("2026-12-01 09:30", "open"),
        ("2026-12-11 09:30", "close-14"),
        ("2026-12-18 09:30", "close-7"),
        ("2026-12-22 09:30", "close-3"),
        ("2026-12-24 09:30", "close-1"),
    ]


def test_weekend_reminder_moves_to_friday() -> None:
    """A reminder on Sunday 29 Nov 2026 moves to Friday 27 Nov."""
    rnd = RoundInfo("k", 1, "talent", "talent", None, D(2026, 11, 30), Basis.STATED)
    assert days_and_kinds(plan_one(EARLY, rnd, is_workday=is_workday)) == [
        ("2026-11-16 09:30", "close-14"),
        ("2026-11-23 09:30", "close-7"),
        ("2026-11-27 09:30", "close-3"),
    ]


def test_national_day_holiday_moves_to_the_last_working_day_before() -> None:
    """7 days before 12 Oct 2026 is 5 Oct, inside the National Day holiday: 30 Sep instead."""
    assert previous_workday(D(2026, 10, 5), is_workday) == D(2026, 9, 30)


def test_make_up_working_day_counts_as_working() -> None:
    """Sunday 27 Sep 2026 is no make-up day, but Saturday 10 Oct 2026 is (调休上班)."""
    assert is_workday(D(2026, 9, 27)) is False
    assert is_workday(D(2026, 10, 10)) is True


def test_year_without_published_schedule_still_skips_fixed_holidays() -> None:
    """1 January 2027 (a Friday) is a holiday even before the 2027 schedule is published."""
    assert is_workday(D(2027, 1, 1)) is False
    assert previous_workday(D(2027, 1, 1), is_workday) == D(2026, 12, 31)


def test_new_subscriber_hears_at_once_about_an_open_round() -> None:
    """Subscribing on 10 Dec: an immediate open notice, then only the reminders still ahead."""
    late = Audience(7, local(2026, 12, 10, 15, 0), frozenset({"talent"}))
    assert days_and_kinds(plan_one(late, TALENT, is_workday=is_workday)) == [
        ("2026-12-10 15:00", "open"),
        ("2026-12-11 09:30", "close-14"),
        ("2026-12-18 09:30", "close-7"),
        ("2026-12-22 09:30", "close-3"),
        ("2026-12-24 09:30", "close-1"),
    ]


def test_preferences_change_offsets_time_and_muting() -> None:
    """Custom offsets and send time apply; a muted category hears nothing."""
    prefs = Preferences(offsets=(2,), notify_open=False, send_time=dt.time(16, 0))
    custom = Audience(7, local(2026, 11, 1), frozenset({"talent"}), prefs)
    assert days_and_kinds(plan_one(custom, TALENT, is_workday=is_workday)) == [
        ("2026-12-23 16:00", "close-2")
    ]
    muted = Audience(
        7,
        local(2026, 11, 1),
        frozenset({"talent"}),
        Preferences(muted_categories=frozenset({"talent"})),
    )
    assert plan_one(muted, TALENT, is_workday=is_workday) == []


def test_unmatched_policy_is_not_planned() -> None:
    """A subscriber whose enterprise does not match the policy hears nothing of it."""
    other = Audience(8, local(2026, 11, 1), frozenset({"something-else"}))
    assert (
        plan(
            [other],
            [TALENT],
            now=local(2026, 11, 22),
            until=local(2027, 12, 31),
            is_workday=is_workday,
        )
        == []
    )


def test_plan_respects_the_horizon_and_drops_closed_rounds() -> None:
    """Reminders past `until` wait for a later run; a round closed before `now` is left out."""
    closed = RoundInfo("old", 1, "talent", "talent", D(2025, 12, 1), D(2025, 12, 25), Basis.STATED)
    found = plan(
        [EARLY],
        [TALENT, closed],
        now=local(2026, 11, 22),
        until=local(2026, 12, 15),
        is_workday=is_workday,
    )
    assert days_and_kinds(found) == [("2026-12-01 09:30", "open"), ("2026-12-11 09:30", "close-14")]


def test_planning_twice_gives_the_same_reminders() -> None:
    """Planning is a pure function of its inputs."""
    args = {"now": local(2026, 11, 22), "until": local(2027, 12, 31), "is_workday": is_workday}
    assert plan([EARLY], [TALENT], **args) == plan([EARLY], [TALENT], **args)  # type: ignore[arg-type]


def test_weekly_digest_each_monday_for_the_groups_categories() -> None:
    """A talent-subscribed group gets the December round in the digests of 23 Nov to 21 Dec."""
    group = GroupAudience(9, frozenset({"talent"}), local(2026, 11, 1))
    other = GroupAudience(10, frozenset({"tax"}), local(2026, 11, 1))
    found = weekly_digests(
        [group, other],
        [TALENT],
        now=local(2026, 11, 22),
        until=local(2026, 12, 31),
        is_workday=is_workday,
    )
    assert days_and_kinds(found) == [
        ("2026-11-23 09:30", "weekly-2026-11-23"),
        ("2026-11-30 09:30", "weekly-2026-11-30"),
        ("2026-12-14 09:30", "weekly-2026-12-14"),
        ("2026-12-21 09:30", "weekly-2026-12-21"),
    ]
    assert {r.subscriber_id for r in found} == {9}


def test_reminders_follow_how_the_dates_are_known() -> None:
    """Announced dates (a notice, or the documents' yearly dates) open and count down; dates
    estimated from last year get one heads-up 30 days before and no countdown; unknown dates
    get nothing until the bureau publishes the round."""
    dated = (D(2026, 12, 1), D(2026, 12, 25))
    autumn = Audience(7, local(2026, 10, 1, 8, 0), frozenset({"talent"}))
    bases = {
        basis: plan_one(
            autumn, RoundInfo("t", 1, "talent", "talent", *dated, basis), is_workday=is_workday
        )
        for basis in Basis
    }
    assert [k for _, k in days_and_kinds(bases[Basis.CONFIRMED])] == [
        "open",
        "close-14",
        "close-7",
        "close-3",
        "close-1",
    ]
    assert days_and_kinds(bases[Basis.STATED]) == days_and_kinds(bases[Basis.CONFIRMED])
    assert days_and_kinds(bases[Basis.ESTIMATED]) == [
        ("2026-10-30 09:30", "headsup")
    ]  # 31 Oct: Sat
    assert bases[Basis.TBD] == []


def test_a_late_subscriber_gets_the_heads_up_at_once() -> None:
    """Joining after the heads-up day, before the estimated window ends: the heads-up now;
    after the window: nothing."""
    rnd = RoundInfo("t", 1, "talent", "talent", D(2026, 12, 1), D(2026, 12, 25), Basis.ESTIMATED)
    during = Audience(8, local(2026, 12, 5, 14, 0), frozenset({"talent"}))
    after = Audience(9, local(2026, 12, 26, 14, 0), frozenset({"talent"}))
    assert days_and_kinds(plan_one(during, rnd, is_workday=is_workday)) == [
        ("2026-12-05 14:00", "headsup")
    ]
    assert plan_one(after, rnd, is_workday=is_workday) == []


def test_a_new_version_of_an_open_round_does_not_open_it_again() -> None:
    """Joined on 3 Dec while the round was open (told at once); on 5 Dec the bureau moves the
    close: the new version plans only what is still ahead, never a second 申报开始."""
    joined = Audience(8, local(2026, 12, 3, 14, 0), frozenset({"talent"}))
    first = RoundInfo("t", 1, "talent", "talent", D(2026, 12, 1), D(2026, 12, 25), Basis.CONFIRMED)
    moved = RoundInfo(
        "t",
        2,
        "talent",
        "talent",
        D(2026, 12, 1),
        D(2026, 12, 28),
        Basis.CONFIRMED,
        recorded_at=local(2026, 12, 5, 10, 0),
    )
    told = days_and_kinds(plan_one(joined, first, is_workday=is_workday))
    assert told[0] == ("2026-12-03 14:00", "open")
    assert days_and_kinds(plan_one(joined, moved, is_workday=is_workday)) == [
        ("2026-12-14 09:30", "close-14"),
        ("2026-12-21 09:30", "close-7"),
        ("2026-12-25 09:30", "close-3"),  # the day before Sunday the 27th says it for close-1
    ]


def test_a_renewal_round_is_only_for_those_who_applied_before() -> None:
    """A `returning` round (the talent allowance's quarterly renewals) reaches only the
    subscribers who said they applied to the policy; the others hear nothing of it."""
    renewal = RoundInfo(
        "talent#2@2027", 1, "talent", "talent", None, D(2027, 3, 25), Basis.STATED, returning=True
    )
    paid = Audience(9, local(2026, 11, 1), frozenset({"talent"}), applied=frozenset({"talent"}))
    found = plan(
        [EARLY, paid],
        [renewal],
        now=local(2026, 11, 22),
        until=local(2027, 12, 31),
        is_workday=is_workday,
    )
    assert {r.subscriber_id for r in found} == {9}
    assert [k for _, k in days_and_kinds(found)] == ["close-14", "close-7", "close-3", "close-1"]
