"""Webhook mode: huiqi serve registers its webhook and accepts only Telegram's secret header."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from bot._app import create_app
from bot._service import World
from bot._settings import Secret, Settings
from schedulers import SHANGHAI, RecordingChannel
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from tests.bot.fake_telegram import serve_fake

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
WORLD = World(load_catalog(), load_vocab(), load_size_standard())


def test_webhook_secret_and_update(tmp_path: Path) -> None:
    """setWebhook carries the secret; a wrong secret is 403; the right one gets an answer."""
    with serve_fake() as (fake, api):
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'huiqi.db'}",
            public_url="https://huiqi.example.cn",
            telegram_token=Secret("123:TEST"),
            telegram_api_url=api,
            telegram_webhook_secret=Secret("s3cret-token"),
        )
        app = create_app(
            settings,
            WORLD,
            clock=lambda: NOW,
            channels={"console": RecordingChannel(clock=lambda: NOW)},
        )
        with TestClient(app) as client:
            [hook] = [c.params for c in fake.calls if c.method == "setWebhook"]
            assert (hook["url"], hook["secret_token"]) == (
                "https://huiqi.example.cn/telegram/webhook",
                "s3cret-token",
            )
            update: dict[str, Any] = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 1795000000,
                    "chat": {"id": 100, "type": "private"},
                    "from": {"id": 100, "is_bot": False, "first_name": "张"},
                    "text": "帮助",
                },
            }
            assert client.post("/telegram/webhook", json=update).status_code == 403
            assert (
                client.post(
                    "/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                ).status_code
                == 403
            )
            non_ascii = client.post(
                "/telegram/webhook",
                json=update,
                headers={b"X-Telegram-Bot-Api-Secret-Token": "s3cret-tökén".encode("latin-1")},
            )
            assert non_ascii.status_code == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            for bad in (b"{}", b"[1]", b'"x"', b"{", b'{"update_id": "1"}', b'{"update_id": true}'):
                refused = client.post("/telegram/webhook", content=bad, headers=right)
                assert refused.status_code == 400, bad
            deep = b"[" * 60000  # nested deeper than json can read
            assert client.post("/telegram/webhook", content=deep, headers=right).status_code == 400
            broken = {"update_id": 2, "message": {"chat": "not an object"}}
            assert client.post("/telegram/webhook", json=broken, headers=right).status_code == 400
            odd_chat = {"update_id": 3, "message": {**update["message"], "chat": {"id": {"R": 1}}}}
            assert client.post("/telegram/webhook", json=odd_chat, headers=right).status_code == 400
            ok = client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
            )
            assert ok.status_code == 200
            deadline = time.monotonic() + 10
            while not fake.texts(100) and time.monotonic() < deadline:
                time.sleep(0.02)  # the update is handled by the application's own task
            assert "/register 登记企业" in fake.texts(100)[0]
