"""Profiles are parsed once; every bad field is named with what would be right."""

from __future__ import annotations

import datetime as dt

import pytest

from subscriptions import Profile, ProfileError, normalize_industry, parse_profile
from subscriptions.data import load_vocab

VOCAB = load_vocab()


def errors_of(raw: object) -> list[str]:
    """The error lines parse_profile raises for `raw`."""
    with pytest.raises(ProfileError) as info:
        parse_profile(raw, VOCAB)
    return [str(e) for e in info.value.errors]


def test_design_example_parses_to_a_frozen_profile() -> None:
    """The profile JSON of DESIGN.md parses with aliases resolved."""
    raw = {
        "name": "鄂州某光电科技有限公司",
        "district": "葛店开发区",
        "industry": "c3976",
        "employees": 180,
        "revenue_wan": 12000,
        "assets_wan": 9000,
        "above_scale": True,
        "general_taxpayer": True,
        "founded": "2015-04-01",
        "qualifications": ["高企", "省级专精特新中小企业"],
        "chains": ["光电子信息"],
    }
    assert parse_profile(raw, VOCAB) == Profile(
        name="鄂州某光电科技有限公司",
        industry="C3976",
        district="葛店经开区",
        employees=180,
        revenue_wan=12000,
        assets_wan=9000,
        above_scale=True,
        general_taxpayer=True,
        founded=dt.date(2015, 4, 1),
        qualifications=frozenset({"高新技术企业", "省级专精特新中小企业"}),
        chains=frozenset({"光电子信息"}),
    )


def test_only_name_and_industry_are_required() -> None:
    """A minimal profile leaves every other field unknown."""
    assert parse_profile({"name": "某公司", "industry": "I65"}, VOCAB) == Profile("某公司", "I65")


@pytest.mark.parametrize(
    ("text", "code"),
    [("C", "C"), ("c39", "C39"), ("3976", "C3976"), ("C 3976", "C3976"), ("K7010", "K7010")],
)
def test_industry_codes_are_normalized(text: str, code: str) -> None:
    """Sections, divisions and deeper codes, with or without the letter, normalize."""
    assert normalize_industry(VOCAB.industries, text) == code


def test_unknown_industry_lists_close_codes() -> None:
    """C99 does not exist; the message offers the nearest divisions."""
    with pytest.raises(ValueError, match=r"相近的有：C39（计算机、通信和其他电子设备制造业）"):
        normalize_industry(VOCAB.industries, "C99")


def test_letter_that_contradicts_the_division_is_refused() -> None:
    """F39 mixes the wholesale section with a manufacturing division."""
    with pytest.raises(ValueError, match="不是《国民经济行业分类》"):
        normalize_industry(VOCAB.industries, "F39")


def test_every_bad_field_is_reported_at_once() -> None:
    """Wrong types, negatives and unknown names each give one line."""
    assert errors_of(
        {
            "name": "",
            "industry": "C39",
            "employees": -5,
            "revenue_wan": "很多",
            "above_scale": "yes",
            "founded": "2015/04/01",
            "district": "武汉",
            "extra": 1,
        }
    ) == [
        "extra：不认识的字段；可用字段：name, district, industry, employees, revenue_wan, "
        "assets_wan, above_scale, general_taxpayer, founded, qualifications, chains, "
        "rd_expense_wan, export_wan, ownership, operates, rd_institution",
        "name：必填，企业名称（文字）",
        "district：不认识的区域“武汉”；可填：鄂城区、华容区、梁子湖区、葛店经开区、临空经济区",
        "employees：从业人数不能为负数（-5）",
        "revenue_wan：营业收入（万元）应为数字，实际是 '很多'",
        "above_scale：是否规上企业应为 true 或 false，实际是 'yes'",
        "founded：成立日期应为 YYYY-MM-DD，如 2015-04-01，实际是 '2015/04/01'",
    ]


def test_the_fields_that_settle_common_questions() -> None:
    """R&D spending, exports, ownership, the platforms run and the R&D institution's level
    parse (Chinese level names too); bad values say what is accepted."""
    profile = parse_profile(
        {
            "name": "某公司",
            "industry": "C39",
            "revenue_wan": 5000,
            "rd_expense_wan": 200,
            "export_wan": 0,
            "ownership": "民营",
            "operates": ["孵化器"],
            "rd_institution": "省级",
        },
        VOCAB,
    )
    assert profile.rd_ratio == pytest.approx(4.0)
    assert profile.operates == frozenset({"科技企业孵化器"})
    assert (profile.ownership, profile.rd_institution, profile.export_wan) == (
        "民营",
        "provincial",
        0,
    )
    assert errors_of(
        {
            "name": "某公司",
            "industry": "C39",
            "rd_expense_wan": -1,
            "ownership": "私营",
            "operates": ["地下钱庄"],
            "rd_institution": "区级",
        }
    ) == [
        "rd_expense_wan：上年研发费用（万元）不能为负数（-1）",
        "ownership：所有制应为民营、国有、外资、港澳台、集体、混合之一，实际是 '私营'",
        "rd_institution：研发机构级别应为无、市级、省级、国家级之一，实际是 '区级'",
        errors_of({"name": "某公司", "industry": "C39", "operates": ["地下钱庄"]})[0],
    ]
    [line] = errors_of({"name": "某公司", "industry": "C39", "operates": ["地下钱庄"]})
    assert line.startswith("operates：不认识的平台或基地：地下钱庄；可填：")


def test_unknown_qualification_suggests_the_right_name() -> None:
    """高新企业 is not a name, but 高新技术企业 is close."""
    [line] = errors_of({"name": "某公司", "industry": "C39", "qualifications": ["高新企业"]})
    assert line.startswith("qualifications：不认识的资质：高新企业；可填：高新技术企业")


def test_not_an_object() -> None:
    """A JSON array is not a profile."""
    assert errors_of(["C39"]) == [
        'profile：应为一个 JSON 对象，如 {"name": ..., "industry": "C39"}'
    ]


def test_booleans_are_not_numbers() -> None:
    """true is not a head count."""
    assert errors_of({"name": "某公司", "industry": "C39", "employees": True}) == [
        "employees：从业人数应为整数，实际是 True"
    ]


def test_names_with_line_breaks_nul_or_10000_characters_are_refused() -> None:
    """A name must be one line of at most 100 characters: no newline, NUL or control character."""
    results = [
        errors_of({"name": name, "industry": "C39"})
        for name in ("鄂州某公司\nBEGIN:VEVENT", "鄂州\x00公司", "鄂州\u2028公司", "企" * 10_000)
    ]
    one_line = "name：企业名称应写在一行内，不能含换行、制表符或控制字符"
    assert results == [
        [one_line],
        [one_line],
        [one_line],
        ["name：企业名称最长100个字，实际10000个字"],
    ]
