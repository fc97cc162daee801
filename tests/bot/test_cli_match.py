"""`huiqi classify` and `huiqi match` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot._cli import cli

FIXTURES = Path(__file__).parent.parent / "fixtures"


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI; return exit code, stdout and stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_classify_json_contract() -> None:
    """A 180-person, 1.2亿 electronics maker is small under 工业 (medium needs 300 people)."""
    code, out, _ = invoke(
        "classify", "--industry", "C3976", "--employees", "180", "--revenue", "12000", "--json"
    )
    assert code == 0
    assert json.loads(out) == {
        "size": "small",
        "group": "工业",
        "standard": "《中小企业划型标准规定》（工信部联企业〔2011〕300号）",
        "missing": [],
    }


def test_classify_says_what_is_missing() -> None:
    """A builder with revenue but no assets cannot be classified; assets are asked for."""
    code, out, _ = invoke("classify", "--industry", "E47", "--revenue", "7000", "--json")
    assert code == 0
    assert json.loads(out)["missing"] == ["assets_wan"]
    assert json.loads(out)["size"] is None


def test_classify_text() -> None:
    """The text answer names the class, the group and the standard."""
    code, out, _ = invoke("classify", "--industry", "F52", "--employees", "6", "--revenue", "80")
    assert code == 0
    assert out == (
        "行业：F52（零售业），划型行业：零售业\n"
        "企业规模：微型企业\n"
        "依据：《中小企业划型标准规定》（工信部联企业〔2011〕300号）\n"
    )


def test_classify_unknown_code_is_usage_error() -> None:
    """An unknown industry code exits 2 with close codes named."""
    code, _, err = invoke("classify", "--industry", "C99")
    assert code == 2
    assert "相近的有" in err


def test_classify_negative_count_is_refused() -> None:
    """A negative head count is refused by the option itself."""
    code, _, err = invoke("classify", "--industry", "C39", "--employees", "-3")
    assert code == 2
    assert "-3" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not-json.json", "不是合法的 JSON（第1行第27列：Expecting value）"),
        ("wrong-types.json", "employees：从业人数应为整数，实际是 '一百'"),
        ("unknown-codes.json", "industry：“C99”不是《国民经济行业分类》"),
        ("negative.json", "employees：从业人数不能为负数（-5）"),
        ("array.json", "profile：应为一个 JSON 对象"),
    ],
)
def test_bad_profile_files(name: str, expected: str) -> None:
    """Each bad profile gives a clear message on stderr and exit 1, no traceback."""
    code, out, err = invoke("match", str(FIXTURES / "bad_profiles" / name))
    assert code == 1
    assert out == ""
    assert expected in err
    assert "Traceback" not in err


def test_missing_profile_file() -> None:
    """A profile path that does not exist is said so."""
    code, _, err = invoke("match", "/nonexistent/profile.json")
    assert code == 1
    assert "无法读取" in err


def test_match_text_for_a_profile(golden: Callable[[str, str], None]) -> None:
    """The grouped, explained answer for the high-tech electronics maker is pinned."""
    code, out, _ = invoke(
        "match", str(FIXTURES / "profiles" / "hightech-electronics.json"), "--on", "2026-11-22"
    )
    assert code == 0
    golden("match_hightech_electronics.txt", out)


def test_match_json_contract() -> None:
    """Each element has id, name, listed_in, decision, reasons and next_round; eligible first."""
    code, out, _ = invoke(
        "match", str(FIXTURES / "profiles" / "machine-tool.json"), "--on", "2026-11-22", "--json"
    )
    assert code == 0
    records = json.loads(out)
    assert {"id", "name", "listed_in", "decision", "reasons", "next_round"} <= set(records[0])
    assert records[0]["decision"] == "eligible"
    assert records[-1]["decision"] == "ineligible"
