"""No secret in any log line or repr() of `huiqi serve`, run with every channel on the fakes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from schedulers import SHANGHAI
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from tests.bot import fake_telegram, fake_wecom
from tests.bot.local_server import free_port

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
TG_TOKEN = "424242:TGSECRET-aaaaBBBBccccDDDD"  # noqa: S105 - a fake secret to look for
WECOM_SECRET = "WECOMSECRET-eeeeFFFFgggg"  # noqa: S105
WECOM_TOKEN = "CALLBACKTOKEN77"  # noqa: S105
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ROBOT_KEY = "ROBOTKEY-9999-hhhh"
FEED_TOKEN = "FEEDTOKEN-private-xyz"  # noqa: S105
SECRETS = (TG_TOKEN, "TGSECRET", WECOM_SECRET, WECOM_TOKEN, AES_KEY, ROBOT_KEY, FEED_TOKEN)


def env_for(tg: str, wecom: str, port: int, db: Path) -> dict[str, str]:
    """HUIQI_* settings turning every channel on, against the fakes."""
    return {
        "HUIQI_PORT": str(port),
        "HUIQI_DATABASE_URL": f"sqlite:///{db}",
        "HUIQI_TELEGRAM_TOKEN": TG_TOKEN,
        "HUIQI_TELEGRAM_API_URL": tg,
        "HUIQI_WECOM_CORP_ID": "wwCORP",
        "HUIQI_WECOM_AGENT_ID": "1000002",
        "HUIQI_WECOM_SECRET": WECOM_SECRET,
        "HUIQI_WECOM_TOKEN": WECOM_TOKEN,
        "HUIQI_WECOM_AES_KEY": AES_KEY,
        "HUIQI_WECOM_API_URL": wecom,
        "HUIQI_WECOM_ROBOT_WEBHOOK": f"{wecom}/cgi-bin/webhook/send?key={ROBOT_KEY}",
    }


def test_serve_logs_no_secret(tmp_path: Path) -> None:
    """huiqi serve with fake secrets talks to the fakes and answers requests; not one of its
    log lines carries a token, key or private feed link."""
    port = free_port()
    with fake_telegram.serve_fake() as (tg, tg_url), fake_wecom.serve_fake() as (_, wecom_url):
        env = {**os.environ, **env_for(tg_url, wecom_url, port, tmp_path / "huiqi.db")}
        server = subprocess.Popen(  # noqa: S603 - the project's own command
            [str(Path(sys.executable).parent / "huiqi"), "serve", "--demo"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, "huiqi serve stopped"
                assert time.monotonic() < deadline, "huiqi serve did not start"
                time.sleep(0.2)  # waiting for the server process to listen
            assert httpx.get(f"{base}/feeds/e/{FEED_TOKEN}.ics", timeout=5).status_code == 404
            httpx.post(f"{base}/telegram/webhook", content=b"{}", timeout=5)
            httpx.get(f"{base}/wecom/callback?msg_signature=x&timestamp=1&nonce=n", timeout=5)
            assert any(c.method == "getMe" for c in tg.calls)  # the bot did talk to Telegram
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=60)
    assert "HTTP Request: POST" in output
    assert "/bot<token>/getMe" in output
    assert "/feeds/e/<token>.ics" in output
    for secret in SECRETS:
        assert secret not in output, secret


def test_reprs_show_no_secret(tmp_path: Path) -> None:
    """repr() of the running service, its dispatcher and every channel hides every secret."""
    world = World(load_catalog(), load_vocab(), load_size_standard())
    with fake_telegram.serve_fake() as (_, tg_url), fake_wecom.serve_fake() as (_, wecom_url):
        settings = Settings.from_env(env_for(tg_url, wecom_url, 8080, tmp_path / "huiqi.db"))
        app = create_app(settings, world, clock=lambda: NOW)
        with TestClient(app):
            runtime = app.state.runtime
            shown = [repr(settings), repr(runtime), repr(runtime.dispatcher)]
            shown += [repr(c) for c in runtime.dispatcher.channels.values()]
    assert {"telegram", "wecom", "wecom-robot"} <= set(runtime.dispatcher.channels)
    for text in shown:
        for secret in SECRETS:
            assert secret not in text, (secret, text[:200])
