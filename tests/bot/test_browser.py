"""End to end in headless Chromium: the public page lists the rounds and links to policy pages."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from schedulers import SHANGHAI, RecordingChannel
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """huiqi served on 127.0.0.1 at a fixed day; yields its base URL."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is needed in CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    world = World(load_catalog(), load_vocab(), load_size_standard())
    port = free_port()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'huiqi.db'}", port=port)
    app = create_app(
        settings,
        world,
        clock=lambda: NOW,
        channels={"console": RecordingChannel(clock=lambda: NOW)},
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the server thread to bind, not for the clock
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_public_page_lists_rounds_and_links_to_policy(site: str) -> None:
    """The talent round is listed in the coming weeks; its link opens the policy page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(site + "/")
        assert page.title() == "鄂州惠企政策申报日历"
        soon = page.locator("h2#soon")
        assert soon.inner_text().startswith("近期开始或截止")
        link = page.locator(
            'a.title[href="/policies/talent-living-allowance-masters-doctors"]'
        ).first
        assert link.inner_text() == "企业“千名引硕工程”人才生活补贴"
        assert (
            page.locator("a.btn", has_text="一键订阅").get_attribute("href")
            == "webcal://127.0.0.1:" + site.rsplit(":", 1)[1] + "/feeds/all.ics"
        )
        link.click()
        page.wait_for_url("**/policies/talent-living-allowance-masters-doctors")
        assert page.locator("main h2").first.inner_text() == "企业“千名引硕工程”人才生活补贴"
        assert "李媛" in page.content()
        browser.close()


def test_what_can_i_apply_for_on_a_phone(site: str, tmp_path: Path) -> None:
    """On a phone-sized screen the form is filled and sent; the answer lists the explained
    matches; inside WeChat's browser the calendar box says to open the system browser."""
    from playwright.sync_api import sync_playwright

    wechat = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=wechat)
        page = context.new_page()
        page.goto(site + "/")
        page.locator('a[href="/check"]').first.click()
        page.wait_for_url("**/check")
        page.fill('input[name="industry"]', "汽车")
        page.fill('input[name="employees"]', "180")
        page.fill('input[name="revenue"]', "1.2亿")
        page.locator("details summary", has_text="已有资质").click()
        page.check('input[value="高新技术企业"]')
        page.locator("button", has_text="查看可申报政策").click()
        page.wait_for_url("**/check?*")
        heading = page.locator("h2#result").inner_text()
        assert heading.startswith("可以申报 ")
        assert page.locator(".card .tag", has_text="可以申报").count() >= 1
        assert page.locator("ul.reasons li").first.inner_text()[:1] in "✓?"
        notice = page.locator(".notice")
        assert notice.is_visible()
        assert "在浏览器打开" in notice.inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone: no sideways scrolling
        page.screenshot(path=str(tmp_path / "check-phone.png"), full_page=True)
        assert (tmp_path / "check-phone.png").stat().st_size > 10_000
        browser.close()
