"""Screenshots of the public page, a policy page and 我能申报什么 (answered), at desktop and
phone widths, and the answer as WeChat's browser shows it on a phone, into docs/.

Usage: python scripts/screenshots.py   (needs Debian's chromium)
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from schedulers import SHANGHAI, RecordingChannel
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CHECK = "/check?industry=汽车&employees=180&revenue=1.2亿&qualifications=高新技术企业"
PAGES = {
    "index": "/",
    "policy": "/policies/talent-living-allowance-masters-doctors",
    "check": CHECK + "#result",
}
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI"
)


def main() -> int:
    """Serve huiqi on a free port, open each page at each width, save full-page PNGs."""
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with tempfile.TemporaryDirectory() as tmp:
        world = World(load_catalog(), load_vocab(), load_size_standard())
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'huiqi.db'}",
            public_url="https://huiqi.example.cn",
        )
        app = create_app(
            settings,
            world,
            clock=lambda: NOW,
            channels={"console": RecordingChannel(clock=lambda: NOW)},
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        DOCS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            for size, (width, height) in SIZES.items():
                page = browser.new_page(
                    viewport={"width": width, "height": height}, device_scale_factor=1
                )
                for name, path in PAGES.items():
                    page.goto(f"http://127.0.0.1:{port}{path}")
                    out = DOCS / f"{name}-{size}.png"
                    page.screenshot(path=str(out), full_page=name == "policy")
                    print(out)
            inside = browser.new_page(
                viewport={"width": 390, "height": 844}, user_agent=WECHAT, device_scale_factor=1
            )
            inside.goto(f"http://127.0.0.1:{port}{CHECK}#subscribe")
            out = DOCS / "check-wechat-phone.png"
            inside.screenshot(path=str(out))
            print(out)
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
