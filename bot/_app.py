"""The web face of huiqi: the ASGI app (pages, feeds, webhooks) and the server that runs it.

The running parts behind it are assembled in `bot._build`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot import _build as build
from bot import _clock, _redact
from bot import _limits as limits
from bot._build import WEBHOOK_PATH, WECHAT_PATH, WECOM_PATH
from bot._email import UNSUBSCRIBE_PATH
from bot._service import World
from bot._settings import Settings
from bot._signup import CONFIRM_PATH, SUBSCRIBE_PATH, signup_routes
from bot._web import create_web_app
from bot._wecom import CallbackError, handle_message
from bot.console import BODY_CAPS as CONSOLE_CAPS
from bot.console import console_routes
from schedulers import Channel, local_date
from subscriptions.store import Store

log = logging.getLogger("huiqi")


def create_app(
    settings: Settings,
    world: World,
    *,
    demo: bool = False,
    clock: Callable[[], dt.datetime] = _clock.now,
    channels: dict[str, Channel] | None = None,
    wait_for_http: bool = False,
    console_fetch_private: bool = False,
    console_data_dir: Path | None = None,
) -> Starlette:
    """The ASGI app: the web pages and feeds, the Telegram webhook and the WeCom callback.

    Its lifespan assembles the running parts (`bot._build.start`) and keeps them in
    `app.state.runtime`; the backlog of due reminders goes out once HTTP is up: with
    `wait_for_http` once the server sets `app.state.http_up`, otherwise at once.
    `console_fetch_private`: the console may fetch notices from this machine's network (tests);
    `console_data_dir`: where drafted policies are saved (default: the catalog's data/)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            runtime = await build.start(
                settings,
                world,
                stack,
                clock=clock,
                channels=channels,
                demo=demo,
                wait_for_http=wait_for_http,
            )
            app.state.http_up = runtime.http_up
            app.state.runtime = runtime
            try:
                yield
            finally:
                del app.state.runtime

    def running() -> build.Runtime | None:
        found: build.Runtime | None = getattr(outer.state, "runtime", None)
        return found

    def current_store() -> Store | None:
        runtime = running()
        return runtime.store if runtime else None

    def channel_states() -> dict[str, Any]:
        runtime = running()
        return runtime.channel_states() if runtime else {}

    web = create_web_app(
        world,
        today=lambda: local_date(clock()),
        store=current_store,
        public_url=settings.public_url,
        channels=channel_states,
    )

    async def telegram_webhook(request: Request) -> Response:
        secret = settings.telegram_webhook_secret
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        runtime = running()
        telegram = runtime.telegram if runtime else None
        # compare_digest refuses non-ASCII str; as bytes it compares any header a client sends.
        if (
            telegram is None
            or secret is None
            or not hmac.compare_digest(given.encode(), secret.reveal().encode())
        ):
            return Response(status_code=403)
        try:
            payload = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested deeper than it can be read
            return Response(status_code=400)
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return Response(status_code=400)
        try:
            update = Update.de_json(payload, telegram.bot)
        except Exception as exc:
            log.warning("telegram update %s refused: %s", update_id, type(exc).__name__)
            return Response(status_code=400)
        ids = (getattr(update.effective_chat, "id", 0), getattr(update.effective_user, "id", 0))
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            log.warning("telegram update %s refused: chat or user id is not a number", update_id)
            return Response(status_code=400)
        await telegram.update_queue.put(update)
        return Response(status_code=200)

    async def wecom_callback(request: Request) -> Response:
        runtime = running()
        wecom = runtime.wecom if runtime else None
        if wecom is None:
            return Response(status_code=404)
        q = request.query_params
        signature, timestamp, nonce = (
            q.get("msg_signature", ""),
            q.get("timestamp", ""),
            q.get("nonce", ""),
        )
        try:
            if request.method == "GET":
                return PlainTextResponse(
                    wecom.guard.verify_url(signature, timestamp, nonce, q.get("echostr", ""))
                )
            # Decrypting and parsing XML is CPU work: off the event loop.
            body = await request.body()
            message = await asyncio.to_thread(wecom.guard.open, body, signature, timestamp, nonce)
        except CallbackError as exc:
            log.warning("wecom callback refused: %s", exc)
            return Response(status_code=403)
        # Answer at once (WeCom retries after 5 s); the reply goes out as an app message.
        task = asyncio.create_task(
            handle_message(wecom.service, wecom.channel, message, settings.admins)
        )
        wecom.tasks.add(task)
        task.add_done_callback(wecom.tasks.discard)
        return PlainTextResponse("")

    async def wechat_callback(request: Request) -> Response:
        runtime = running()
        wechat = runtime.wechat if runtime else None
        if wechat is None:
            return Response(status_code=404)
        q = request.query_params
        try:
            if request.method == "GET":
                return PlainTextResponse(
                    wechat.guard.verify_url(
                        q.get("signature", ""),
                        q.get("timestamp", ""),
                        q.get("nonce", ""),
                        q.get("echostr", ""),
                    )
                )
            body = await request.body()
            message, seen = await asyncio.to_thread(wechat.guard.open, body, dict(q))
        except CallbackError as exc:
            log.warning("wechat callback refused: %s", exc)
            return Response(status_code=403)
        if seen:  # WeChat's retry of a message being (or already) answered
            return PlainTextResponse("success")
        text = await wechat.handle(message)
        if text is None:
            return PlainTextResponse("success")  # WeChat's word for "no reply"
        xml = await asyncio.to_thread(wechat.guard.answer, message, text, dict(q))
        return Response(xml, media_type="application/xml")

    def email_channel() -> Any:
        runtime = running()
        return runtime.email if runtime else None

    signup = signup_routes(
        world,
        store=current_store,
        email=email_channel,
        clock=clock,
        public_url=settings.public_url,
        wechat_qr=settings.wechat_qr_url,
    )
    console = console_routes(
        world,
        store=current_store,
        clock=clock,
        public_url=settings.public_url,
        fetch_private=console_fetch_private,
        **({"data_dir": console_data_dir} if console_data_dir else {}),
    )
    routes = [
        *console,
        *signup,
        *web.routes,
        Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"]),
        Route(WECOM_PATH, wecom_callback, methods=["GET", "POST"]),
        Route(WECHAT_PATH, wechat_callback, methods=["GET", "POST"]),
    ]
    callbacks = {
        WEBHOOK_PATH: limits.CALLBACK_BODY,
        WECOM_PATH: limits.CALLBACK_BODY,
        WECHAT_PATH: limits.CALLBACK_BODY,
        SUBSCRIBE_PATH: limits.FORM_BODY,
        CONFIRM_PATH: limits.FORM_BODY,
        UNSUBSCRIBE_PATH: limits.FORM_BODY,
        **CONSOLE_CAPS,
    }
    middleware = [Middleware(limits.RequestLimits, caps=callbacks), *web.user_middleware]
    outer = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    return outer


def run(settings: Settings, world: World, *, demo: bool = False) -> None:
    """Serve until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _redact.install(settings.secret_values())
    log.info(
        "%d policies, channels: %s, database: %s, http://%s:%d%s",
        len(world.catalog.policies),
        ", ".join(settings.channels),
        settings.database_url.split("@")[-1],  # never the password part of a URL
        settings.host,
        settings.port,
        " (demo)" if demo else "",
    )
    try:
        listener = bind(settings.host, settings.port)
    except OSError as exc:
        log.error(
            "cannot listen on %s:%d (%s): is another huiqi serve running? "
            "Stop it or choose another HUIQI_PORT.",
            settings.host,
            settings.port,
            exc.strerror or exc,
        )
        raise SystemExit(2) from None
    app = create_app(settings, world, demo=demo, wait_for_http=True)
    config = uvicorn.Config(
        app,
        log_level="info",
        log_config=None,  # keep the root handler above, with its redacting filter
        **limits.server_options(),
    )
    _Server(config, lambda: app.state.http_up.set()).run(sockets=[listener])


def bind(host: str, port: int) -> socket.socket:
    """Listen on host:port before anything starts, so a busy port fails before any send."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()
