"""The shared text-command parser: every channel's commands, and no input makes it raise."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot._commands import Command, amount_wan, parse_command, profile_from_fields
from subscriptions import ProfileError, parse_profile
from subscriptions.data import load_vocab

VOCAB = load_vocab()


def test_one_line_registration() -> None:
    """The issue's example parses into fields and then into a valid profile."""
    line = (
        "/register 行业=C39 人数=180 营收=12000 "
        "资质=高新技术企业,省级专精特新中小企业 区域=葛店经开区"
    )
    cmd = parse_command(line)
    assert cmd == Command(
        "register",
        (),
        {
            "industry": "C39",
            "employees": "180",
            "revenue_wan": "12000",
            "qualifications": "高新技术企业,省级专精特新中小企业",
            "district": "葛店经开区",
        },
        (),
        line,
        line,
    )
    raw = profile_from_fields({**cmd.fields, "name": "某公司"})
    assert raw == {
        "industry": "C39",
        "employees": 180,
        "revenue_wan": 12000,
        "qualifications": ["高新技术企业", "省级专精特新中小企业"],
        "district": "葛店经开区",
        "name": "某公司",
    }
    assert parse_profile(raw, VOCAB).employees == 180


def test_chinese_words_full_width_and_bot_suffix() -> None:
    """注册 with full-width signs, and /match@bot in a group, are understood."""
    assert parse_command("注册　行业＝C39　人数＝50　规上=是").fields == {
        "industry": "C39",
        "employees": "50",
        "above_scale": "是",
    }
    assert parse_command("/match@huiqi_bot").name == "match"
    assert parse_command("可申报").name == "match"
    assert parse_command("政策 talent-living-allowance-masters-doctors").args == (
        "talent-living-allowance-masters-doctors",
    )


def test_names_with_spaces_and_unknown_keys() -> None:
    """A value runs to the next key; unknown keys are reported, not dropped silently."""
    cmd = parse_command("注册 名称=鄂州 某 公司 行业=C39 颜色=红")
    assert cmd.fields == {"name": "鄂州 某 公司", "industry": "C39"}
    assert cmd.unknown_keys == ("颜色",)


def test_free_text_and_unknown_commands() -> None:
    """Free text is 'text'; an unknown slash command is 'unknown'."""
    assert parse_command("你好").name == "text"
    assert parse_command("/frobnicate").name == "unknown"
    assert parse_command("").name == "text"


def test_booleans_and_numbers() -> None:
    """是/否 become booleans; 1.2万 style suffixes are tolerated; junk stays for validation."""
    raw = profile_from_fields(
        {
            "above_scale": "否",
            "general_taxpayer": "是",
            "revenue_wan": "1,200万",
            "employees": "很多",
        }
    )
    assert raw == {
        "above_scale": False,
        "general_taxpayer": True,
        "revenue_wan": 1200,
        "employees": "很多",
    }


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_no_text_makes_the_parser_raise(text: str) -> None:
    """Any string parses into a Command, and its fields into a profile or a ProfileError."""
    cmd = parse_command(text)
    assert isinstance(cmd, Command)
    raw = profile_from_fields(dict(cmd.fields))
    with contextlib.suppress(ProfileError):
        parse_profile({"name": "x", "industry": "C39", **raw}, VOCAB)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["行业", "人数", "营收", "资质", "区域", "规上", "成立", "未知"]),
            st.text(max_size=12),
        ),
        max_size=6,
    )
)
def test_no_registration_makes_validation_raise_anything_else(pairs: list[tuple[str, str]]) -> None:
    """Random key=value registrations give a profile or a ProfileError, nothing else."""
    line = "注册 " + " ".join(f"{k}={v}" for k, v in pairs)
    cmd = parse_command(line)
    with contextlib.suppress(ProfileError):
        parse_profile(
            {"name": "x", "industry": "C39", **profile_from_fields(dict(cmd.fields))}, VOCAB
        )


@pytest.mark.parametrize(
    ("written", "wan"),
    [
        ("12000", 12000),
        ("12,000", 12000),
        ("3000万", 3000),
        ("3000万元", 3000),
        ("1.2亿", 12000),
        ("1.2亿元", 12000),
        ("1亿2000万", 12000),
        ("500000元", 50),
        ("0.5", 0.5),
        ("１.２亿", 12000),  # full-width digits
    ],
)
def test_amounts_as_written_in_chinese(written: str, wan: float) -> None:
    assert amount_wan(written) == wan


@pytest.mark.parametrize("written", ["", "很多", "1.2亿美元", "亿", "万元", "12 000 000 000x"])
def test_what_is_no_amount(written: str) -> None:
    assert amount_wan(written) is None


def test_registration_as_typed_in_a_chinese_chat() -> None:
    """Chinese colons and commas between fields, amounts in 亿 and 万: the same fields as
    key=value; commas inside a field's list stay in it."""
    cmd = parse_command(
        "注册 名称：鄂州某汽车零部件有限公司，行业：汽车，人数：180人，营收：1.2亿，"
        "资质：高新技术企业、省级专精特新中小企业，区域：葛店经开区"
    )
    assert cmd.name == "register"
    assert cmd.fields == {
        "name": "鄂州某汽车零部件有限公司",
        "industry": "汽车",
        "employees": "180人",
        "revenue_wan": "1.2亿",
        "qualifications": "高新技术企业、省级专精特新中小企业",
        "district": "葛店经开区",
    }
    profile = profile_from_fields(cmd.fields)
    assert (profile["employees"], profile["revenue_wan"]) == (180, 12000)
    assert profile["qualifications"] == ["高新技术企业", "省级专精特新中小企业"]
    # other commands' options keep their own colons and commas
    remind = parse_command("提醒设置 提前=14,7,3,1 时间=09:30")
    assert remind.options == {"提前": "14,7,3,1", "时间": "09:30"}
