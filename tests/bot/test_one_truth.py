"""One truth for rounds: once the bureau confirms a round, every view shows its dates.

The talent subsidy's catalog round closes on 25 Dec; the bureau's notice says 28 Dec. After
`huiqi rounds add`, the public page, the policy page, the API, `huiqi policies`, `policies
show`, `upcoming`, `simulate`, the chat's 政策 and 近期 and the calendar feed all say 28 Dec.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bot import _clock
from bot._app import create_app
from bot._cli import cli
from bot._service import World
from bot._settings import Settings
from bot.chat import ChatService, Who
from schedulers import SHANGHAI
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
TALENT = "talent-living-allowance-masters-doctors"
PROFILE = Path(__file__).parent.parent / "fixtures" / "profiles" / "hightech-electronics.json"


def cli_out(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_confirmed_round_is_what_every_view_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_clock, "now", lambda: NOW)
    url = os.environ["HUIQI_DATABASE_URL"]  # each test's own (tests/conftest.py)
    before = json.loads(cli_out("policies", "--json"))
    [talent] = [p for p in before if p["id"] == TALENT]
    assert talent["next_round"]["close"] == "2026-12-25"  # the catalog's, before the notice

    cli_out("rounds", "add", TALENT, "--open", "2026-12-01", "--close", "2026-12-28", "--yes")

    [talent] = [p for p in json.loads(cli_out("policies", "--json")) if p["id"] == TALENT]
    assert talent["next_round"] == {
        "open": "2026-12-01",
        "close": "2026-12-28",
        "basis": "confirmed",
    }
    assert "2026-12-28" in cli_out("policies")
    shown = cli_out("policies", "show", TALENT)
    assert "2026-12-28" in shown
    assert "2026-12-25" not in shown
    ahead = cli_out("upcoming", str(PROFILE), "--on", "2026-11-22", "--days", "60")
    talent_line = next(line for line in ahead.splitlines() if "千名引硕" in line)
    assert talent_line.startswith("2026-12-01 至 2026-12-28（已发布")
    simulated = cli_out("simulate", "--from", "2026-11-22", "--to", "2026-12-31", str(PROFILE))
    assert "【申报开始】企业“千名引硕工程”人才生活补贴" in simulated
    assert "申报时间：2026-12-01 至 2026-12-28（已发布" in simulated
    assert "（12月28日）】企业“千名引硕工程”" in simulated  # counted down to the 28th
    assert "（12月25日）】企业“千名引硕工程”" not in simulated
    # --catalog-only shows what the documents alone say
    alone = cli_out(
        "simulate", "--from", "2026-11-22", "--to", "2026-12-31", "--catalog-only", str(PROFILE)
    )
    assert "2026-12-01 至 2026-12-28" not in alone
    assert "申报时间：2026-12-01 至 2026-12-25（文件写明" in alone

    app = create_app(Settings(database_url=url), WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        api = client.get(f"/api/policies/{TALENT}").json()
        assert api["next_round"]["close"] == "2026-12-28"
        listed = [p for p in client.get("/api/policies").json() if p["id"] == TALENT]
        assert listed[0]["next_round"]["close"] == "2026-12-28"
        page = client.get(f"/policies/{TALENT}").text
        assert "2026-12-28" in page
        assert "2026-12-25" not in page
        assert "2026-12-28" in client.get("/").text
        feed = client.get("/feeds/all.ics").text
        assert "DTEND;VALUE=DATE:20261229" in feed  # the 28th, inclusive

    store = Store.open(url)
    try:
        service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://h.example")
        who = Who("wecom", "u1", "u1", "u1")
        assert "2026-12-28" in service.handle_text(who, f"政策 {TALENT}")[0].words
        service.handle_text(who, "注册 名称=甲公司 行业=C39 人数=50 营收=3000")
        near = service.handle_text(who, "近期")[0].words
        assert "2026-12-01 至 2026-12-28" in near
        assert "2026-12-25" not in near
    finally:
        store.close()
