"""Fixtures of the bot's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.console._auth import hash_password
from subscriptions.store import Store
from tests.bot.test_console import NOW, PASSWORD


@pytest.fixture
def console_db(tmp_path: Path) -> str:
    """A migrated SQLite store with a console admin (guan), an editor (bian), a viewer (cha)."""
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    store = Store.open(url)
    hashed = hash_password(PASSWORD)
    for name, role in (("guan", "admin"), ("bian", "editor"), ("cha", "viewer")):
        store.console.add_user(name, role, hashed, now=NOW)
    store.close()
    return url
