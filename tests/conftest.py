"""Shared test helpers: golden files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from subscriptions.store import Store

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(autouse=True)
def _own_database(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands that open the configured database (the CLI's views read the rounds from it)
    get a fresh one per test, never a file under the working directory."""
    if "HUIQI_DATABASE_URL" not in os.environ:
        folder = tmp_path_factory.mktemp("db")
        monkeypatch.setenv("HUIQI_DATABASE_URL", f"sqlite:///{folder / 'huiqi.db'}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files.")


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare text with tests/golden/NAME (rewritten with --update-golden)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if update:
            path.write_text(actual, encoding="utf-8")
        assert actual == path.read_text(encoding="utf-8")

    return check


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: a SQLite file, and PostgreSQL when HUIQI_TEST_POSTGRES_URL names one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'huiqi.db'}"
    url = os.environ.get("HUIQI_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("HUIQI_TEST_POSTGRES_URL is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip("PostgreSQL not configured: set HUIQI_TEST_POSTGRES_URL (make test-pg does)")
    from sqlalchemy import text

    from subscriptions.store import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database, closed after the test."""
    opened = Store.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def golden_bytes(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare bytes with tests/golden/NAME exactly (rewritten with --update-golden)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, actual: bytes) -> None:
        path = GOLDEN / name
        if update:
            path.write_bytes(actual)
        assert actual == path.read_bytes()

    return check
