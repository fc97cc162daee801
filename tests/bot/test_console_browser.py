"""The console end to end in headless Chromium: sign-in (and a failed one), publishing a round
from a pasted notice, withdrawing it, importing an .xlsx with a bad row, exporting the delivery
log (opened with openpyxl), and a viewer refused an editor's action.

With HUIQI_SCREENSHOTS=DIR the pages are also saved there as PNGs (docs/screenshots/console-*).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from bot.console._auth import hash_password
from schedulers import RecordingChannel, Reminder
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store
from tests.bot.local_server import serve_local
from tests.bot.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.bot.test_console import NOTICE, NOW, PASSWORD, TALENT


@pytest.fixture
def console(tmp_path: Path) -> Iterator[str]:
    """huiqi on 127.0.0.1 with an editor, a viewer, an enterprise and two delivery attempts."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is needed in CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    store = Store.open(url)
    hashed = hash_password(PASSWORD)
    store.console.add_user("bian", "editor", hashed, now=NOW)
    store.console.add_user("cha", "viewer", hashed, now=NOW)
    eid = store.registry.save_enterprise(
        "鄂州光谷精密", {"name": "鄂州光谷精密", "industry": "C39", "employees": 120}, now=NOW
    )
    sid = store.registry.subscriber("email", "hr@gg.example.cn", display_name="人事部", now=NOW)
    store.registry.subscribe(sid, eid, now=NOW)
    due = NOW - dt.timedelta(hours=1)
    store.outbox.enqueue([Reminder(sid, f"{TALENT}#2026H2", 1, "open", due)], now=due)
    (claimed,) = store.outbox.claim(now=due, worker="w", limit=1)
    store.outbox.mark_sent([claimed.id], now=due, late=False)
    store.close()
    world = World(load_catalog(), load_vocab(), load_size_standard())
    app = create_app(
        Settings(database_url=url),
        world,
        clock=lambda: NOW,
        channels={"console": RecordingChannel(clock=lambda: NOW)},
    )
    with serve_local(app) as base:
        yield base


def _sheet() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.append(["企业名称", "行业", "从业人数", "营业收入（万元）", "区域"])
    sheet.append(["鄂州新材料", "C30", 85, 3000, "华容区"])
    sheet.append(["葛店汽配", "汽车零部件", 300, "1.2亿", "葛店经开区"])
    sheet.append(["无行业的企业", "", 12, None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_console_in_a_browser(console: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = os.environ.get("HUIQI_SCREENSHOTS")

    def shot(page: Any, name: str) -> None:
        if shots:
            page.screenshot(path=str(Path(shots) / f"console-{name}.png"), full_page=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = context.new_page()

        # Without a session the console sends to sign-in; a wrong password is refused.
        page.goto(console + "/admin/rounds")
        assert "/admin/login?next=" in page.url
        page.fill("input[name=name]", "bian")
        page.fill("input[name=password]", "not-the-password")
        page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_have_text("账号或密码不正确。")
        shot(page, "login-failed")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("申报批次")  # back where it was going
        page.click("text=概览")
        expect(page.locator("h1")).to_contain_text("概览")
        shot(page, "dashboard")

        # Publish from a pasted notice: the dates and their sentences are proposed.
        page.click("header >> text=发布批次")
        page.fill("textarea[name=text]", NOTICE)
        page.get_by_role("button", name="识别通知").click()
        expect(page.locator("ol.evidence li").first).to_contain_text("第 6 行")
        assert page.input_value("input[name=open]") == "2026-12-07"
        assert page.input_value("input[name=close]") == "2026-12-28"
        assert page.input_value("select[name=policy]") == TALENT
        expect(page.locator("main form")).to_contain_text("将通知")
        shot(page, "publish")
        page.get_by_role("button", name="确认发布").click()
        expect(page.get_by_role("status")).to_contain_text("已发布")
        row = page.locator("tr", has=page.locator("span.tag.ok", has_text="本局发布"))
        expect(row).to_contain_text("2026-12-07 至 2026-12-28")
        shot(page, "rounds")

        # Withdraw it, with the reason the enterprises will read.
        row.locator("input[name=reason]").fill("通知日期有误，将重新发布")
        row.locator("button", has_text="撤回").click()
        expect(page.get_by_role("status")).to_contain_text("已撤回")

        # Import an .xlsx with a bad row: a preview first, then the counts.
        sheet = tmp_path / "企业名单.xlsx"
        sheet.write_bytes(_sheet())
        page.goto(console + "/admin/enterprises/import")
        page.set_input_files("input[type=file]", str(sheet))
        page.get_by_role("button", name="预览").click()
        expect(page.locator("main")).to_contain_text("新增 2 家")
        expect(page.locator("main")).to_contain_text("拒绝 1 行")
        expect(page.locator("tr", has_text="无行业的企业")).to_contain_text("拒绝")
        shot(page, "import-preview")
        page.get_by_role("button", name="确认导入").click()
        expect(page.get_by_role("status")).to_contain_text("新增 2 家")
        expect(page.locator("table")).to_contain_text("葛店汽配")

        # The delivery log, exported as proof of notification.
        page.goto(console + "/admin/deliveries")
        expect(page.locator("table")).to_contain_text("人事部")
        shot(page, "deliveries")
        with page.expect_download() as waiting:
            page.get_by_role("link", name="导出 Excel（通知凭证）").click()
        saved = tmp_path / "log.xlsx"
        waiting.value.save_as(saved)
        rows = list(openpyxl.load_workbook(saved).worksheets[0].iter_rows(values_only=True))
        assert rows[0][0] == "时间（北京时间）"
        assert {r[5] for r in rows[1:]} == {"人事部"}
        results = {(r[7], r[8]) for r in rows[1:]}
        assert ("已送达", None) in results
        # Publishing made version 2 (the catalog's reminders were dropped), withdrawing 3.
        assert ("已取消", "轮次日期已更新为第2版") in results
        assert ("已取消", "轮次日期已更新为第3版") in results

        # A viewer reads, but publishing is an editor's.
        page.get_by_role("button", name="退出").click()
        page.fill("input[name=name]", "cha")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(console + "/admin/publish")
        page.fill("textarea[name=text]", NOTICE)
        page.get_by_role("button", name="识别通知").click()
        expect(page.locator("h1")).to_have_text("没有权限")
        expect(page.locator("main")).to_contain_text("需要“编辑”权限")
        shot(page, "viewer-refused")
        browser.close()
