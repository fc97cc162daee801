"""The decision rules on small hand-built policies: scope, held, superseded, either,
operators, ownership, R&D, questions, amounts; and the day's matcher deciding exactly as the
full match with reasons does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot._views import amount_text, question_text, reason_text
from schedulers import Policy, build_policy
from schedulers.data import load_catalog
from scripts.bench_match import generate
from subscriptions import (
    ELIGIBLE,
    HELD,
    INELIGIBLE,
    POSSIBLE,
    Context,
    Matcher,
    Profile,
    match,
    match_all,
)
from subscriptions.data import load_size_standard, load_vocab

VOCAB = load_vocab()
STANDARD = load_size_standard()
ON = dt.date(2026, 12, 4)
EV = [{"file": "001_477b3b47acea63bc.txt", "line": 1, "quote": "工业领域"}]


def policy(pid: str, conditions: list[dict[str, Any]], **extra: Any) -> Policy:
    """A minimal valid policy with these conditions."""
    raw: dict[str, Any] = {
        "id": pid,
        "name": pid,
        "level": "municipal",
        "category": "award",
        "summary": "测试用政策",
        "benefits": [{"text": "奖励"}],
        "eligibility": {"text": "测试条件", "conditions": conditions},
        "sources": [{"title": "测试文件"}],
        "department": "鄂州市经济和信息化局",
        "listed_in": [
            {"list": "工业领域设备更新服务清单", "section": "三、项目支持和服务措施", "no": 1}
        ],
        "windows": [{"kind": "tbd", "evidence": EV}],
        **extra,
    }
    return build_policy(raw)


def ctx(**fields: Any) -> Context:
    """A profile with these fields (a small software firm unless told otherwise)."""
    base: dict[str, Any] = {"name": "某企业", "industry": "I6513"}
    return Context.of(Profile(**{**base, **fields}), VOCAB, STANDARD)


INDUSTRIAL = {"kind": "industry", "codes": ["B", "C", "D"], "scope": True, "text": "工业企业"}


def test_a_scope_the_text_names_rules_out_and_quotes_it() -> None:
    """A retailer is outside 工业企业: ineligible, the reason quoting the policy's words."""
    found = match(ctx(industry="F5211"), policy("p", [INDUSTRIAL]), on=ON)
    assert found.decision == INELIGIBLE
    [reason] = found.reasons
    assert reason_text(reason).endswith("（政策原文：“工业企业”）")
    assert match(ctx(industry="C3976"), policy("p", [INDUSTRIAL]), on=ON).decision == ELIGIBLE


def test_held_when_it_holds_what_the_policy_confers_or_higher() -> None:
    """省级专精特新 is not offered to a firm that has it, or has the national rung above."""
    rung = policy("national", [], confers=["国家级专精特新“小巨人”企业"])
    provincial = policy(
        "provincial",
        [INDUSTRIAL],
        confers=["省级专精特新中小企业"],
        outranked_by=["国家级专精特新“小巨人”企业"],
        next_rung="national",
    )
    matcher = Matcher([rung, provincial], VOCAB, on=ON)
    holder = ctx(industry="C39", qualifications=frozenset({"省级专精特新中小企业"}))
    found = matcher.match(holder, provincial)
    assert found.decision == HELD
    assert reason_text(found.reasons[0]) == (
        "贵企业已具备省级专精特新中小企业，不必再申报；可关注更高一级：national"
    )
    giant = ctx(industry="C39", qualifications=frozenset({"国家级专精特新“小巨人”企业"}))
    assert matcher.decide(giant) == (HELD, HELD)
    assert matcher.decide(ctx(industry="C39", qualifications=frozenset())) == (POSSIBLE, ELIGIBLE)
    assert found.amounts == ()  # nothing to get from what it holds


def test_superseded_is_ruled_out_and_names_its_successor() -> None:
    """A fund replaced by its successor gets no rounds and matches nobody."""
    old = policy("old", [], superseded_by={"id": "new", "evidence": EV})
    found = match(ctx(industry="C39"), old, on=ON)
    assert found.decision == INELIGIBLE
    assert "已被新政策取代（new）" in reason_text(found.reasons[0])


def test_either_alternative_is_enough() -> None:
    """规上工业企业或高新技术企业: one is enough, both missing rules out, unknown asks."""
    either = {
        "kind": "either",
        "of": [
            {"kind": "above_scale", "value": True, "text": "规上工业企业"},
            {"kind": "qualification", "all": ["高新技术企业"], "text": "高新技术企业"},
        ],
    }
    p = policy("p", [either])
    hightech = ctx(above_scale=False, qualifications=frozenset({"高新技术企业"}))
    assert match(hightech, p, on=ON).decision == ELIGIBLE
    neither = ctx(above_scale=False, qualifications=frozenset())
    assert match(neither, p, on=ON).decision == INELIGIBLE
    unsure = match(ctx(qualifications=frozenset()), p, on=ON)
    assert unsure.decision == POSSIBLE
    assert [question_text(r) for r in unsure.questions] == [
        "贵企业是否规模以上企业（纳入统计部门规上企业名录）？"
    ]


def test_a_necessary_condition_rules_out_but_never_settles() -> None:
    """科技企业 needs R&D spending: none rules it out; some still asks the question (in the
    full match and in the day's matcher alike)."""
    tech = {
        "kind": "threshold",
        "field": "rd_expense_wan",
        "op": ">",
        "value": 0,
        "necessary": True,
        "text": "经认定的科技企业",
        "question": "贵企业是否持有科技部门认定的科技企业称号？",
    }
    p = policy("p", [tech])
    matcher = Matcher([p], VOCAB, on=ON)
    for fields, decision in (
        ({"rd_expense_wan": 0}, INELIGIBLE),
        ({"rd_expense_wan": 120}, POSSIBLE),
        ({}, POSSIBLE),
    ):
        c = ctx(**fields)
        assert match(c, p, on=ON).decision == decision, fields
        assert matcher.decide(c) == (decision,), fields
    asked = match(ctx(rd_expense_wan=120), p, on=ON).questions
    assert [question_text(r) for r in asked] == ["贵企业是否持有科技部门认定的科技企业称号？"]


def test_operators_ownership_rd_and_exports() -> None:
    """The fuller profile fields settle what the catalog's scope names."""
    platform = policy("p", [{"kind": "operator", "any": ["公共服务平台"], "scope": True}])
    assert match(ctx(operates=frozenset()), platform, on=ON).decision == INELIGIBLE
    runs = ctx(operates=frozenset({"中小企业公共服务平台"}))
    assert match(runs, platform, on=ON).decision == ELIGIBLE
    asked = match(ctx(), platform, on=ON)
    assert [question_text(r) for r in asked.questions] == [
        "贵企业是否运营公共服务平台、创业创新基地、孵化器、园区等平台或基地？"
    ]
    private = policy("q", [{"kind": "ownership", "in": ["民营"]}])
    assert match(ctx(ownership="国有"), private, on=ON).decision == INELIGIBLE
    assert match(ctx(ownership="民营"), private, on=ON).decision == ELIGIBLE
    rd = policy("r", [{"kind": "threshold", "field": "rd_ratio", "op": ">=", "value": 3}])
    assert match(ctx(revenue_wan=1000, rd_expense_wan=20), rd, on=ON).decision == INELIGIBLE
    assert match(ctx(revenue_wan=1000, rd_expense_wan=30), rd, on=ON).decision == ELIGIBLE
    assert match(ctx(revenue_wan=1000), rd, on=ON).decision == POSSIBLE
    centre = policy("s", [{"kind": "rd_institution", "in": ["provincial", "national"]}])
    assert match(ctx(rd_institution="municipal"), centre, on=ON).decision == INELIGIBLE
    assert match(ctx(rd_institution="national"), centre, on=ON).decision == ELIGIBLE


def test_possible_names_each_question() -> None:
    """A check asks its own question; a missing number asks for the number."""
    p = policy(
        "p",
        [
            {
                "kind": "check",
                "text": "近三年无重大事故",
                "question": "近三年是否发生重大安全事故？",
            },
            {"kind": "threshold", "field": "employees", "op": ">=", "value": 50},
        ],
    )
    found = match(ctx(), p, on=ON)
    assert found.decision == POSSIBLE
    assert [question_text(r) for r in found.questions] == [
        "近三年是否发生重大安全事故？",
        "贵企业从业人员有多少人？",
    ]


def test_amounts_exclude_fund_totals_and_show_the_payer() -> None:
    """每年安排5000万元 is the fund's; 最高30万元 is what one enterprise can get."""
    p = policy(
        "p",
        [],
        benefits=[
            {"text": "每年安排5000万元", "yuan": 50_000_000, "pool": True},
            {
                "text": "最高30万元",
                "for": "云服务券",
                "yuan": 300_000,
                "up_to": True,
                "per": "每家",
                "payer": "provincial",
            },
        ],
    )
    found = match(ctx(), p, on=ON)
    assert [amount_text(b) for b in found.amounts] == ["云服务券：最高30万元（每家，省级财政）"]
    assert p.largest_benefit is not None
    assert p.largest_benefit.yuan == 300_000


@pytest.mark.parametrize("seed", [1, 2])
def test_the_days_matcher_decides_as_the_full_match(seed: int) -> None:
    """On 3,000 generated profiles, the cached fast path (decisions, the ids of each decision,
    the counts) equals match() on every policy."""
    catalog = load_catalog()
    matcher = Matcher(catalog.policies, VOCAB, on=ON)
    for profile in generate(VOCAB, 1_500, seed):
        c = Context.of(profile, VOCAB, STANDARD)
        full = tuple(match(c, p, on=ON).decision for p in catalog.policies)
        assert matcher.decide(c) == full, profile
        for wanted in ((ELIGIBLE, POSSIBLE), (HELD,), (INELIGIBLE,)):
            ids = [p.id for p, d in zip(catalog.policies, full, strict=True) if d in wanted]
            assert matcher.matching(c, wanted) == ids, profile
        counts = matcher.counts(c)
        assert sum(counts.values()) == len(catalog.policies)
        assert counts[HELD] == full.count(HELD)
    ordered = match_all(c, catalog.policies, on=ON)
    assert [m.decision for m in ordered] == sorted(
        (m.decision for m in ordered), key=[ELIGIBLE, POSSIBLE, HELD, INELIGIBLE].index
    )
