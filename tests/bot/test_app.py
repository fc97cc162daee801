"""`huiqi serve`'s app: the lifespan opens the store, plans, and sends what is due at start."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from starlette.testclient import TestClient

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from schedulers import SHANGHAI, RecordingChannel, load_catalog
from subscriptions import Store, load_size_standard, load_vocab

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)


def test_demo_start_up_sends_open_rounds(tmp_path: Path) -> None:
    """With --demo, the three sample enterprises hear at once about the round open today."""
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    world = World(load_catalog(), load_vocab(), load_size_standard())
    channel = RecordingChannel(clock=lambda: NOW)
    app = create_app(
        Settings(database_url=url),
        world,
        demo=True,
        clock=lambda: NOW,
        channels={"console": channel},
    )
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    assert sorted(m.address for m in channel.sent) == ["demo-1", "demo-2", "demo-3"]
    assert all(m.text.startswith("【申报开始】省级专精特新中小企业申报") for m in channel.sent)
    store = Store.open(url)
    counts = store.counts()
    store.close()
    assert counts["sent"] == 3
    assert counts["pending"] > 100
