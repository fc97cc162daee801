"""Reading a pasted notice: the window dates of real seed sentences, and nothing from
sentences that give none."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import pytest
import yaml

from schedulers._notice import (
    DateSaid,
    dates_in,
    notice_year,
    policy_candidates,
    read_notice,
    sentences,
)
from schedulers.data import load_catalog

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
CASES = yaml.safe_load((pathlib.Path(__file__).with_name("notice_sentences.yaml")).read_text())


def _seed_line(name: str, line: int) -> str:
    path = SEEDS / name
    assert path.is_file(), f"the seed documents are expected at {SEEDS}"
    return path.read_text(encoding="utf-8").splitlines()[line - 1]


def _window(said: tuple[DateSaid, ...]) -> tuple[str | None, str | None]:
    opens = [d.day.isoformat() for d in said if d.role == "open"]
    closes = [d.day.isoformat() for d in said if d.role == "close"]
    return (opens[0] if opens else None), (closes[0] if closes else None)


def test_there_are_enough_real_sentences() -> None:
    windowed = [c for c in CASES["dated"] if c["open"] or c["close"]]
    assert len(CASES["dated"]) + len(CASES["undated"]) >= 20
    assert len(windowed) >= 10
    assert len(CASES["undated"]) >= 8


@pytest.mark.parametrize(
    "case", CASES["dated"], ids=[f"{c['file'][:3]}:{c['line']}" for c in CASES["dated"]]
)
def test_dates_of_a_seed_sentence(case: dict[str, Any]) -> None:
    line = _seed_line(case["file"], case["line"])
    assert case["text"] in line, "the sentence stands on that line of the seed"
    # The sentence as huiqi splits the line, not as the test wrote it down.
    found = [s for _, s in sentences(line) if s == case["text"]]
    assert found, "the line splits into the recorded sentence"
    said = dates_in(found[0], case["year"])
    assert _window(said) == (case["open"], case["close"])
    assert len(said) <= 2


@pytest.mark.parametrize(
    "case", CASES["undated"], ids=[f"{c['file'][:3]}:{c['line']}" for c in CASES["undated"]]
)
def test_a_sentence_without_a_date_proposes_nothing(case: dict[str, Any]) -> None:
    line = _seed_line(case["file"], case["line"])
    assert case["text"] in line
    assert dates_in(case["text"], 2026) == ()
    proposal = read_notice(case["text"], default_year=2026)
    assert (proposal.open, proposal.close, proposal.evidence) == (None, None, ())


NOTICE = """关于组织申报2026年度鄂州市企业新入职人才生活补贴的通知

各区经信局、各有关企业：
根据《鄂州市千名引硕工程实施办法》，现将2026年下半年人才补贴申报工作通知如下。
一、申报对象：2026年7月1日以后新入职的硕士、博士。
二、申报时间：2026年12月1日至12月25日，逾期不予受理。
三、请各区经信局于2027年1月10日前将汇总表报送市经信局。
联系人：张科长，电话 0711-1234567。
"""


def test_a_whole_notice_gives_its_window_and_the_lines_it_comes_from() -> None:
    proposal = read_notice(NOTICE, default_year=2025)
    assert proposal.year == 2026
    assert (proposal.open, proposal.close) == (dt.date(2026, 12, 1), dt.date(2026, 12, 25))
    lines = [e.line for e in proposal.evidence]
    assert lines == [6, 7], "the hire date (以后新入职) is no window; the report upward is shown"
    assert proposal.evidence[0].sentence.startswith("二、申报时间")


def test_the_year_of_a_notice_is_the_one_it_names_most() -> None:
    assert notice_year(NOTICE, 2020) == 2026
    assert notice_year("请于12月25日前报送。", 2031) == 2031
    said = dates_in("请于12月25日前报送。", notice_year("请于12月25日前报送。", 2031))
    assert _window(said) == (None, "2031-12-25")


@pytest.mark.parametrize(
    ("sentence", "window", "approximate"),
    [
        ("申报截止时间为2026年12月下旬。", (None, "2026-12-31"), True),
        ("请于2026-11-30前提交材料。", (None, "2026-11-30"), False),
        (
            "自2026年11月20日起接受申报，2026年12月15日17:00前报送。",
            ("2026-11-20", "2026-12-15"),
            False,
        ),
        ("申报时间：2026年11月20日—2026年12月15日。", ("2026-11-20", "2026-12-15"), False),
        ("受理时间为2026年2月30日前。", (None, None), False),  # no such day
        ("企业须于2020年1月1日前注册成立，请于12月1日前申报。", (None, "2026-12-01"), False),
    ],
)
def test_date_forms(
    sentence: str, window: tuple[str | None, str | None], approximate: bool
) -> None:
    said = dates_in(sentence, 2026)
    assert _window(said) == window
    assert any(d.approximate for d in said) == approximate


def test_the_notice_names_its_policy() -> None:
    catalog = load_catalog()
    names = {p.id: p.name for p in catalog.policies}
    talent = next(p for p in catalog.policies if "引硕" in p.name or "千名引" in p.name)
    found = policy_candidates(
        f"关于组织申报{talent.name}的通知\n申报时间：12月1日至12月25日", catalog.policies
    )
    assert found, "the notice names a policy of the catalog"
    assert found[0].id == talent.id, [names[p.id] for p in found]
    assert policy_candidates("今天天气很好。", catalog.policies) == []


def test_a_huge_paste_is_read_up_to_its_limit() -> None:
    text = "请于2026年12月25日前报送。\n" + "无关的文字。" * 100_000 + "\n申报截止2026年12月1日。"
    proposal = read_notice(text, default_year=2026)
    assert proposal.close == dt.date(2026, 12, 25)
    assert all(e.line == 1 for e in proposal.evidence)
