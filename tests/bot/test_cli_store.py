"""The commands that use the database: enterprises, rounds, simulate, upcoming."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import _clock
from bot._cli import cli
from schedulers import SHANGHAI, is_workday

FIXTURES = Path(__file__).parent.parent / "fixtures"
TALENT = "talent-living-allowance-masters-doctors"
TODAY = dt.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private SQLite database for the commands, on the tests' fixed day (3 Dec 2026)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_clock, "now", lambda: TODAY)
    return {"HUIQI_DATABASE_URL": f"sqlite:///{tmp_path / 'huiqi.db'}"}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the CLI with `env`; return exit code, stdout and stderr."""
    result = CliRunner(env=env).invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_csv_keeps_good_rows_and_reports_bad_ones(env: dict[str, str]) -> None:
    """Two good rows are stored; an unknown code and a negative head count are reported by line."""
    code, out, err = invoke(
        env, "enterprises", "import", str(FIXTURES / "imports" / "enterprises.csv")
    )
    assert code == 1
    assert out == "2 enterprises imported, 2 rows rejected\n"
    assert "enterprises.csv:3: industry：“C99”不是《国民经济行业分类》" in err
    assert "enterprises.csv:5: employees：从业人数不能为负数（-6）" in err
    code, out, _ = invoke(env, "enterprises", "list", "--json")
    assert [e["name"] for e in json.loads(out)] == [
        "鄂州某光电科技有限公司",
        "鄂州某软件科技有限公司",
    ]
    assert json.loads(out)[0]["profile"]["qualifications"] == [
        "高新技术企业",
        "省级专精特新中小企业",
    ]


def test_import_json_array_twice_updates_in_place(env: dict[str, str], tmp_path: Path) -> None:
    """Importing the same enterprise again updates it instead of duplicating it."""
    file = tmp_path / "list.json"
    file.write_text(
        json.dumps([{"name": "某公司", "industry": "C39", "employees": 10}]), encoding="utf-8"
    )
    assert invoke(env, "enterprises", "import", str(file))[0] == 0
    file.write_text(
        json.dumps([{"name": "某公司", "industry": "C39", "employees": 12}]), encoding="utf-8"
    )
    assert invoke(env, "enterprises", "import", str(file))[0] == 0
    _, out, _ = invoke(env, "enterprises", "list", "--json")
    assert [(e["name"], e["profile"]["employees"]) for e in json.loads(out)] == [("某公司", 12)]


def test_import_unreadable_file(env: dict[str, str], tmp_path: Path) -> None:
    """A file that is not a JSON array or a CSV with a header is one clear message."""
    file = tmp_path / "bad.json"
    file.write_text('{"name": "x"}', encoding="utf-8")
    code, _, err = invoke(env, "enterprises", "import", str(file))
    assert code == 1
    assert "应为企业资料的 JSON 数组" in err


def test_confirmed_round_supersedes_the_estimate(env: dict[str, str]) -> None:
    """rounds add records version 2, confirmed, for the catalog's December round."""
    code, out, _ = invoke(
        env, "rounds", "add", TALENT, "--open", "2026-12-02", "--close", "2026-12-28", "--yes"
    )
    assert code == 0, out
    assert out.startswith(
        f"{TALENT}#1@2026: version 2, 2026-12-02~2026-12-28 confirmed "
        "(was 2026-12-01~2026-12-25, stated)"
    )
    _, out, _ = invoke(
        env, "rounds", "list", "--from", "2026-12-01", "--to", "2026-12-31", "--json"
    )
    talent = [r for r in json.loads(out) if r["policy_id"] == TALENT]
    assert [(r["open"], r["close"], r["basis"], r["version"]) for r in talent] == [
        ("2026-12-02", "2026-12-28", "confirmed", 2)
    ]


def test_rounds_add_refuses_bad_input(env: dict[str, str]) -> None:
    """An unknown policy, no dates, or a close before the open are each explained."""
    assert "no policy 'nope'" in invoke(env, "rounds", "add", "nope", "--close", "2026-12-01")[2]
    assert "give --open, --close or both" in invoke(env, "rounds", "add", TALENT)[2]
    assert (
        "is before --open"
        in invoke(env, "rounds", "add", TALENT, "--open", "2026-12-05", "--close", "2026-12-01")[2]
    )


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ((TALENT, "--open", "2025-12-01", "--close", "2025-12-25"), "批次年份应为 2026 或 2027 年"),
        ((TALENT, "--open", "2036-12-01", "--close", "2036-12-25"), "这里是 2036 年"),
        ((TALENT, "--close", "2026-12-02"), "截止日期 2026-12-02 已过"),
        (("small-micro-loan-relief-interest-subsidy-2020", "--close", "2026-12-20"), "已过期"),
        (("high-tech-enterprise-income-tax-15-percent", "--close", "2026-12-20"), "常年可申报"),
        ((TALENT, "--close", "2026-12-20", "--notice", "not a url"), "http(s)://"),
        ((TALENT, "--close", "2026-12-20", "--notice", "ftp://x.cn/a"), "http(s)://"),
    ],
)
def test_rounds_add_refuses_a_round_the_bureau_would_not_publish(
    env: dict[str, str], args: tuple[str, ...], why: str
) -> None:
    """Last year's or a far year's round, a past close, an expired or standing policy, a notice
    that is no web address: refused with the reason, and nothing is recorded."""
    code, _, err = invoke(env, "rounds", "add", *args, "--yes")
    assert code == 1
    assert "批次未发布：" in err
    assert why in err
    _, out, _ = invoke(env, "rounds", "list", "--json")
    assert not [r for r in json.loads(out) if r["basis"] == "confirmed"]


def test_rounds_add_asks_before_publishing(env: dict[str, str]) -> None:
    """Without --yes it says how many will be told and publishes only on yes."""
    args = ("rounds", "add", TALENT, "--open", "2026-12-01", "--close", "2026-12-28")
    result = CliRunner(env=env).invoke(cli, list(args), input="n\n")
    assert "通知 0 个订阅者或群？" in result.output
    assert result.exit_code == 1
    result = CliRunner(env=env).invoke(cli, list(args), input="y\n")
    assert result.exit_code == 0, result.output
    assert "version 2, 2026-12-01~2026-12-28 confirmed" in result.output


def test_simulate_talent_subsidy_reminders_before_deadline_on_working_days(
    env: dict[str, str],
) -> None:
    """Acceptance: the December round's reminders come before 25 Dec, on working days."""
    profile = FIXTURES / "profiles" / "hightech-electronics.json"
    code, out, _ = invoke(
        env, "simulate", "--from", "2026-11-22", "--to", "2027-12-31", str(profile)
    )
    assert code == 0
    blocks = [
        b
        for b in re.split(r"\n\n(?=\[\d{4}-)", out)
        if "千名引硕工程" in b and "2026-12-01 至 2026-12-25" in b
    ]
    stamps = [b.split("]")[0].strip("[\n") for b in blocks]
    assert [s[:16] for s in stamps] == [
        "2026-12-01 09:30",
        "2026-12-11 09:30",
        "2026-12-18 09:30",
        "2026-12-22 09:30",
        "2026-12-24 09:30",
    ]
    for stamp in stamps:
        assert is_workday(dt.date.fromisoformat(stamp[:10]))
    assert "【申报开始】企业“千名引硕工程”人才生活补贴" in out
    assert out.startswith("模拟 2026-11-22 至 2027-12-31：共发出 ")


def test_upcoming_json(env: dict[str, str]) -> None:
    """upcoming lists the December round with its five reminders."""
    profile = FIXTURES / "profiles" / "hightech-electronics.json"
    code, out, _ = invoke(
        env, "upcoming", str(profile), "--on", "2026-11-22", "--days", "40", "--json"
    )
    assert code == 0
    talent = next(r for r in json.loads(out) if r["id"] == TALENT)
    assert talent["round"]["open"] == "2026-12-01"
    assert [r["at"] for r in talent["reminders"]] == [
        "2026-12-01T09:30+08:00",
        "2026-12-11T09:30+08:00",
        "2026-12-18T09:30+08:00",
        "2026-12-22T09:30+08:00",
        "2026-12-24T09:30+08:00",
    ]


def test_enterprise_feed_link_rotation(env: dict[str, str], tmp_path: Path) -> None:
    """--rotate prints a new private link each time; --revoke ends them; unknown names fail."""
    file = tmp_path / "list.json"
    file.write_text(json.dumps([{"name": "某公司", "industry": "C39"}]), encoding="utf-8")
    invoke(env, "enterprises", "import", str(file))
    code, first, _ = invoke(env, "enterprises", "feed", "某公司", "--rotate")
    assert code == 0
    assert first.startswith("http://127.0.0.1:8080/feeds/e/")
    _, second, _ = invoke(env, "enterprises", "feed", "某公司", "--rotate")
    assert second != first
    assert invoke(env, "enterprises", "feed", "某公司", "--revoke")[1] == "1 link(s) revoked\n"
    assert (
        "no enterprise named '别的公司'"
        in invoke(env, "enterprises", "feed", "别的公司", "--rotate")[2]
    )


def test_rounds_withdraw(env: dict[str, str]) -> None:
    """Only a round published with `rounds add` can be withdrawn, with a reason; it asks first."""
    invoke(env, "rounds", "add", TALENT, "--open", "2026-12-02", "--close", "2026-12-28", "--yes")
    key = f"{TALENT}#1@2026"
    code, _, err = invoke(env, "rounds", "withdraw", f"{TALENT}#0@2026", "--reason", "x", "--yes")
    assert code == 1
    assert "is no round published with `rounds add`" in err
    result = CliRunner(env=env).invoke(
        cli, ["rounds", "withdraw", key, "--reason", "通知有误"], input="n\n"
    )
    assert (result.exit_code, "通知 0 个订阅者或群？" in result.output) == (1, True)
    code, out, _ = invoke(env, "rounds", "withdraw", key, "--reason", "通知有误", "--yes")
    assert (code, out.strip()) == (0, f"{key}: withdrawn (version 3); 0 withdrawal notices queued")
    _, out, _ = invoke(env, "rounds", "list", "--json")
    [talent] = [r for r in json.loads(out) if r["key"] == key]
    assert (talent["basis"], talent["version"]) == ("estimated", 3)
