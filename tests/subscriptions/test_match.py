"""Decisions for hand-made profiles, checked by hand against the seed text."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot._views import reason_text
from schedulers.data import load_catalog
from subscriptions import Context, Match, Profile, match, match_all, parse_profile
from subscriptions.data import load_size_standard, load_vocab

PROFILES = Path(__file__).parent.parent / "fixtures" / "profiles"
CATALOG = load_catalog()
VOCAB = load_vocab()
STANDARD = load_size_standard()
ON = dt.date(2026, 11, 22)


def profile(name: str) -> Profile:
    """A fixture profile by file stem."""
    return parse_profile(json.loads((PROFILES / f"{name}.json").read_text(encoding="utf-8")), VOCAB)


def decide(name: str, policy_id: str) -> Match:
    """Match one fixture profile against one catalog policy."""
    policy = CATALOG.get(policy_id)
    assert policy is not None
    return match(Context.of(profile(name), VOCAB, STANDARD), policy, on=ON)


def outcomes(found: Match) -> list[tuple[str, str]]:
    """(kind, outcome) of every reason."""
    return [(r.kind, r.outcome) for r in found.reasons]


def test_hightech_electronics_maker_and_advanced_manufacturing_vat() -> None:
    """税收1 (高新技术企业中的制造业一般纳税人): structured conditions met, the list to check."""
    found = decide("hightech-electronics", "vat-additional-deduction-advanced-manufacturing")
    assert found.decision == "possible"
    assert outcomes(found) == [
        ("qualification", "met"),
        ("industry", "met"),
        ("general_taxpayer", "met"),
        ("check", "check"),
    ]


def test_hightech_income_tax_is_eligible() -> None:
    """A 高新技术企业 qualifies for the 15% income tax rate with nothing left to check."""
    found = decide("hightech-electronics", "high-tech-enterprise-income-tax-15-percent")
    assert (found.decision, outcomes(found)) == ("eligible", [("qualification", "met")])


def test_micro_retailer_is_not_a_first_time_above_scale_industrial_firm() -> None:
    """首次进规 (项目34) needs an industrial firm with 2000万 revenue that is above scale."""
    found = decide("micro-retailer", "municipal-first-time-above-scale-reward")
    assert found.decision == "ineligible"
    assert [reason_text(r) for r in found.reasons if r.outcome == "unmet"] == [
        "要求行业：B（采矿业）、C（制造业）、D（电力、热力、燃气及水生产和供应业）；"
        "贵企业行业 F5211（零售业）不在其中（政策原文：“工业企业”）",
        "要求营业收入（万元）不低于2000，贵企业为80（政策原文：“年度销售收入达到2000万以上”）",
        "要求是规模以上工业企业，贵企业不是（政策原文：“进规工业企业”）",
    ]


def test_small_software_firm_and_cloud_voucher() -> None:
    """上云服务券 (项目32) is for 中小微 工业企业及软件和信息服务业企业."""
    found = decide("small-software", "provincial-cloud-service-voucher")
    assert found.decision == "possible"
    assert outcomes(found)[:2] == [("size", "met"), ("industry", "met")]
    assert (
        reason_text(found.reasons[0])
        == "要求中型、小型、微型企业，贵企业按划型标准为小型企业（软件和信息技术服务业）"
    )


def test_large_steel_maker_is_not_an_sme() -> None:
    """专精特新 (项目17) is for 中小企业; 8000 people and 350亿 is large."""
    found = decide("large-steel", "provincial-specialized-sophisticated-sme")
    assert found.decision == "ineligible"
    assert (
        reason_text(found.reasons[0])
        == "要求中型、小型、微型企业，贵企业按划型标准为大型企业（工业）"
        "（政策原文：“长期专注细分市场、创新实力较强、配套能力突出的中小企业”）"
    )


def test_machine_tool_maker_and_machine_tool_vat() -> None:
    """税收2 工业母机: general taxpayer, division 34, revenue over 3000万; the rest to check."""
    found = decide("machine-tool", "vat-additional-deduction-machine-tools")
    assert found.decision == "possible"
    assert outcomes(found)[:3] == [
        ("general_taxpayer", "met"),
        ("sector", "met"),
        ("threshold", "met"),
    ]


def test_expired_policy_is_never_eligible() -> None:
    """The 2020 relief interest subsidy is ineligible for everyone, and says why first."""
    for name in (
        "hightech-electronics",
        "micro-retailer",
        "small-software",
        "large-steel",
        "machine-tool",
    ):
        found = decide(name, "small-micro-loan-relief-interest-subsidy-2020")
        assert found.decision == "ineligible"
        assert reason_text(found.reasons[0]) == "政策已过期（有效期已过或申报批次已结束）"


def test_unknown_size_asks_for_numbers() -> None:
    """Without head count or revenue, an SME-only policy is possible and asks for both."""
    bare = Profile("某公司", "C39")
    policy = CATALOG.get("provincial-specialized-sophisticated-sme")
    assert policy is not None
    found = match(Context.of(bare, VOCAB, STANDARD), policy, on=ON)
    assert found.decision == "possible"
    assert found.reasons[0].needs == ("employees", "revenue_wan")


@pytest.mark.parametrize(
    "name",
    ["hightech-electronics", "micro-retailer", "small-software", "large-steel", "machine-tool"],
)
def test_results_are_sorted_eligible_first(name: str) -> None:
    """Eligible before possible before held before ineligible, for every profile."""
    found = match_all(Context.of(profile(name), VOCAB, STANDARD), CATALOG.policies, on=ON)
    order = ["eligible", "possible", "held", "ineligible"]
    assert [order.index(m.decision) for m in found] == sorted(
        order.index(m.decision) for m in found
    )
    assert len(found) == len(CATALOG.policies)


def test_every_reason_has_a_sentence() -> None:
    """Every reason of every fixture profile (and of one that gives only its industry) against
    every policy renders to a sentence with no gap: the matcher gives facts, the template words."""
    profiles = [profile(p.stem) for p in sorted(PROFILES.glob("*.json"))]
    profiles.append(parse_profile({"name": "甲", "industry": "C"}, VOCAB))
    seen = set()
    for found in profiles:
        ctx = Context.of(found, VOCAB, STANDARD)
        for m in match_all(ctx, CATALOG.policies, on=ON):
            for r in m.reasons:
                text = reason_text(r)
                assert text.startswith(
                    (
                        "要求",
                        "政策已过期",
                        "申报条件",
                        "需自行确认",
                        "满足其一即可",
                        "贵企业已具备",
                        "本政策已被",
                    )
                ), r
                assert not [gap for gap in ("None", "\n", "（）") if gap in text], r
                seen.add((r.kind, r.outcome))
    assert len(seen) >= 20  # most kinds in most outcomes
