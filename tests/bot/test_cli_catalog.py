"""`huiqi catalog validate`, `huiqi policies` and `huiqi policies show` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from bot._cli import cli

FIXTURES = Path(__file__).parent.parent / "fixtures"


def run(*args: str) -> tuple[int, str]:
    """Run the CLI; return exit code and standard output."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout


def test_validate_reports_every_bad_file(golden: Callable[[str, str], None]) -> None:
    """Each broken file gets one clear line with file, field and what is wrong; exit 1."""
    code, out = run("catalog", "validate", str(FIXTURES / "bad_catalog"))
    assert code == 1
    golden("validate_bad_catalog.txt", out)


def test_validate_missing_path_is_a_message() -> None:
    """A path that does not exist is said so, without a traceback."""
    result = CliRunner().invoke(cli, ["catalog", "validate", "/nonexistent/catalog"])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_validate_real_catalog_passes() -> None:
    """The shipped catalog is valid."""
    code, out = run("catalog", "validate")
    assert code == 0, out
    assert out.endswith("policies, all valid\n")


def test_policies_text(golden: Callable[[str, str], None]) -> None:
    """The policy list on a fixed day is pinned."""
    code, out = run("policies", "--on", "2026-11-22")
    assert code == 0
    golden("policies_2026-11-22.txt", out)


def test_policies_json_talent_round() -> None:
    """The December talent-subsidy round of 2026 runs 1 to 25 December."""
    code, out = run("policies", "--on", "2026-11-22", "--json")
    assert code == 0
    records = {r["id"]: r for r in json.loads(out)}
    talent = records["talent-living-allowance-masters-doctors"]
    assert talent["next_round"] == {"open": "2026-12-01", "close": "2026-12-25", "basis": "stated"}
    assert talent["status"] == "upcoming"
    assert talent["listed_in"] == [{"list": "鄂州市支持中小企业政策清单（三）", "no": 21}]


def test_policies_json_has_contract_fields() -> None:
    """Every element has the fields other tools rely on."""
    _, out = run("policies", "--on", "2026-11-22", "--json")
    for record in json.loads(out):
        assert {
            "id",
            "name",
            "level",
            "category",
            "listed_in",
            "status",
            "amounts",
            "next_round",
        } <= set(record)


def test_policy_show(golden: Callable[[str, str], None]) -> None:
    """One policy in full, in Chinese, is pinned."""
    code, out = run(
        "policies", "show", "talent-living-allowance-masters-doctors", "--on", "2026-11-22"
    )
    assert code == 0
    golden("policy_show_talent.txt", out)


def test_policy_show_unknown_id() -> None:
    """An unknown id is a message naming it, exit 1."""
    result = CliRunner().invoke(cli, ["policies", "show", "no-such-policy"])
    assert result.exit_code == 1
    assert "no policy 'no-such-policy'" in result.output


def test_bad_date_is_a_usage_message() -> None:
    """--on with a non-date says what is expected."""
    result = CliRunner().invoke(cli, ["policies", "--on", "2026-13-01"])
    assert result.exit_code == 2
    assert "expected YYYY-MM-DD" in result.output


def test_catalog_audit_text(golden: Callable[[str, str], None]) -> None:
    """The bureau's report of weak points, weakest first, is pinned for a fixed day."""
    code, out = run("catalog", "audit", "--on", "2026-12-04", "--weak")
    assert code == 0
    golden("cli_audit.txt", out)


def test_catalog_audit_json() -> None:
    """One record per policy with basis, evidence, scope, supersession and the day checked;
    superseded policies name their successor, and a live policy without scope says so."""
    code, out = run("catalog", "audit", "--on", "2026-12-04", "--json")
    assert code == 0
    records = {r["id"]: r for r in json.loads(out)}
    fields = {"status", "bases", "quotes", "scope", "superseded_by", "checked", "weak"}
    assert all(fields <= set(r) for r in records.values())
    old = records["municipal-traditional-industry-upgrading-fund"]
    assert (old["status"], old["superseded_by"]) == (
        "superseded",
        "municipal-manufacturing-high-quality-development-fund",
    )
    assert all(r["quotes"] >= 1 for r in records.values())
    assert all(r["checked"] for r in records.values())
    live = [r for r in records.values() if r["status"] not in ("superseded", "expired")]
    unscoped = [r for r in live if not r["scope"]]
    assert unscoped
    assert all(any("未写适用范围" in w for w in r["weak"]) for r in unscoped)
    scoped = records["provincial-specialized-sophisticated-sme"]
    assert "size" in scoped["scope"]
