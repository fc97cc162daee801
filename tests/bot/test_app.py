"""`huiqi serve`'s app: the lifespan opens the store, plans, and sends what is due at start."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot import _limits as limits
from bot._app import bind, create_app
from bot._service import World
from bot._settings import Secret, Settings
from schedulers import SHANGHAI, RecordingChannel
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store
from tests.bot.local_server import free_port

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
WORLD_ = World(load_catalog(), load_vocab(), load_size_standard())


def test_demo_start_up_sends_open_rounds(tmp_path: Path) -> None:
    """With --demo, the three sample enterprises hear at once about the round of today, as
    true as it is: its dates are estimated from last year, so a heads-up (申报预告), never a
    【申报开始】 for a round nobody announced."""
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
    assert all("【申报预告】市级制造业高质量发展专项资金项目申报" in m.text for m in channel.sent)
    assert not [m for m in channel.sent if "申报开始" in m.text or "截止）】" in m.text]
    store = Store.open(url)
    counts = store.outbox.counts()
    store.close()
    assert counts["sent"] == 3  # the June technical-renovation heads-up for each sample enterprise
    assert counts["pending"] > 50


def test_serves_while_telegram_cannot_be_reached(tmp_path: Path) -> None:
    """With Telegram unreachable, HTTP is served, /healthz says the channel is down, and the
    console channel still sends the reminders due at start."""
    channel = RecordingChannel(clock=lambda: NOW)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'huiqi.db'}",
        telegram_token=Secret("123:UNREACHABLE"),
        telegram_api_url=f"http://127.0.0.1:{free_port()}",
    )
    world = World(load_catalog(), load_vocab(), load_size_standard())
    app = create_app(settings, world, demo=True, clock=lambda: NOW, channels={"console": channel})
    with TestClient(app) as client:
        health = client.get("/healthz").json()
    assert health["status"] == "degraded"
    assert health["channels"]["telegram"]["state"] == "down"
    assert "启动失败" in health["channels"]["telegram"]["detail"]
    assert len(channel.sent) == 3


def test_body_and_header_limits(tmp_path: Path) -> None:
    """Callbacks refuse bodies over 64 KiB, declared or streamed, before any parsing; other
    routes take 256 KiB; more than 100 headers is 431; a bad Content-Length is 400."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'huiqi.db'}"), WORLD_)
    with TestClient(app) as client:
        big = b"<xml>" + b"A" * (64 * 1024)
        assert client.post("/wecom/callback", content=big).status_code == 413
        assert client.post("/telegram/webhook", content=big).status_code == 413
        streamed = client.post("/wecom/callback", content=iter([big[:40000], big[40000:]]))
        assert streamed.status_code == 413
        assert client.post("/wecom/callback", content=b"<xml/>").status_code == 404  # off
        assert client.post("/healthz", content=big).status_code == 405  # under 256 KiB: routed
        assert client.post("/healthz", content=big * 4).status_code == 413
        many = {f"x-h{i}": "1" for i in range(101)}
        assert client.get("/healthz", headers=many).status_code == 431
        bad = client.post("/healthz", headers={"content-length": "abc"}, content=b"")
        assert bad.status_code == 400
        # Host feeds links and redirects: a malformed one is refused, a well-formed one served.
        for host in ("host:-1", "host:99999", "[", ":", "@", "a b", "h:x"):
            refused = client.get("/api/policies/", headers={"host": host})
            assert refused.status_code == 400, host
        for host in ("huiqi.example.cn", "[::1]:8000", "127.0.0.1:80"):
            moved = client.get("/api/policies/", headers={"host": host}, follow_redirects=False)
            assert moved.status_code == 307, host
            assert moved.headers["location"] == f"http://{host}/api/policies"


def test_slow_headers_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that never finishes its request headers is disconnected, not served forever."""
    monkeypatch.setattr(limits, "HEADER_SECONDS", 0.3)
    config = uvicorn.Config(
        Starlette(routes=[Route("/", lambda r: PlainTextResponse("ok"))]),
        log_level="warning",
        **limits.server_options(),
    )
    server = uvicorn.Server(config)
    listener = bind("127.0.0.1", 0)
    port = listener.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
            assert slow.recv(100) == b""  # closed by the server
        with socket.create_connection(("127.0.0.1", port), timeout=5) as quick:
            quick.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert quick.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_second_serve_on_a_busy_port_fails_before_sending(tmp_path: Path) -> None:
    """huiqi serve on a port in use exits with a clear message and sends nothing."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env = {
            **os.environ,
            "HUIQI_PORT": str(busy.getsockname()[1]),
            "HUIQI_DATABASE_URL": f"sqlite:///{tmp_path / 'huiqi.db'}",
        }
        done = subprocess.run(  # noqa: S603 - the project's own command
            [str(Path(sys.executable).parent / "huiqi"), "serve", "--demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2
    assert "is another huiqi serve running?" in done.stderr
    assert "发给" not in done.stdout
    assert not (tmp_path / "huiqi.db").exists()  # nothing was opened, let alone sent


def test_a_failed_start_up_closes_what_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning fails after the store, the WeCom app and the robots' HTTP client are up: each is
    closed again, in reverse order, and the error reaches the caller."""
    import httpx

    from bot import _build
    from bot._wecom import _TimedSession

    closed: list[str] = []
    real_close, real_aclose = Store.close, httpx.AsyncClient.aclose
    real_session_close = _TimedSession.close

    def session_close(self: _TimedSession) -> None:
        closed.append("wecom session")
        real_session_close(self)

    def store_close(self: Store) -> None:
        closed.append("store")
        real_close(self)

    async def client_close(self: httpx.AsyncClient) -> None:
        closed.append("robot client")
        await real_aclose(self)

    def broken_replan(*args: object, **kwargs: object) -> int:
        raise RuntimeError("planning failed")

    monkeypatch.setattr(Store, "close", store_close)
    monkeypatch.setattr(_TimedSession, "close", session_close)
    monkeypatch.setattr(httpx.AsyncClient, "aclose", client_close)
    monkeypatch.setattr(_build, "replan", broken_replan)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'huiqi.db'}",
        wecom_robot_webhooks=(Secret("http://127.0.0.1:9/cgi-bin/webhook/send?key=K#talent"),),
        wecom_corp_id="ww1234567890abcdef",
        wecom_agent_id="1000002",
        wecom_secret=Secret("app-secret"),
        wecom_token=Secret("QDG6eK"),
        wecom_aes_key=Secret("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"),
        wecom_api_url="http://127.0.0.1:9",
    )
    app = create_app(settings, WORLD_, clock=lambda: NOW, channels={})
    with pytest.raises(RuntimeError, match="planning failed"), TestClient(app):
        pass
    assert closed == ["robot client", "wecom session", "store"]
    assert not hasattr(app.state, "runtime")
