"""The one place where huiqi is wired together: store, scheduler, channels, web app."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from wechatpy.enterprise.crypto import WeChatCrypto

from bot import _clock, _redact
from bot import _limits as limits
from bot._chat import ChatService
from bot._service import World, dispatcher_for, replan
from bot._settings import Settings
from bot._simulate import demo_profiles
from bot._telegram import App, TelegramChannel, build_application
from bot._web import create_web_app
from bot._wecom import (
    ROBOT_CHANNEL,
    CallbackError,
    CallbackGuard,
    Robot,
    RobotChannel,
    WeComChannel,
    handle_message,
    make_client,
    parse_robots,
)
from schedulers import Channel, local_date
from schedulers.dispatch import LEASE, ChannelHealth, ConsoleChannel, Dispatcher
from subscriptions.store import Store

log = logging.getLogger("huiqi")

TICK_SECONDS = 30
WEBHOOK_PATH = "/telegram/webhook"
WECOM_PATH = "/wecom/callback"
REPLAN_MINUTES = 60
TELEGRAM_START_SECONDS = 8.0  # the first start of the bot, before HTTP is served


@dataclass
class Runtime:
    """What the running service holds."""

    store: Store
    dispatcher: Dispatcher
    scheduler: AsyncIOScheduler
    wecom: WeComRuntime | None = None


def channels_for(settings: Settings) -> dict[str, Channel]:
    """Every channel the settings turn on (the console is always on)."""
    return {"console": ConsoleChannel()}


def load_demo(store: Store, *, now: dt.datetime) -> int:
    """The sample enterprises, each subscribed on the console; return how many."""
    for i, profile in enumerate(demo_profiles(), start=1):
        enterprise = store.save_enterprise(profile["name"], profile, now=now)
        subscriber = store.subscriber("console", f"demo-{i}", display_name=profile["name"], now=now)
        store.subscribe(subscriber, enterprise, now=now)
    return len(demo_profiles())


def create_app(
    settings: Settings,
    world: World,
    *,
    demo: bool = False,
    clock: Callable[[], dt.datetime] = _clock.now,
    channels: dict[str, Channel] | None = None,
    wait_for_http: bool = False,
) -> Starlette:
    """The ASGI app; its lifespan opens the store and runs the scheduler.

    The backlog of due reminders goes out once HTTP is up: with `wait_for_http` the lifespan
    waits for `app.state.http_up` (set by the server once it listens), otherwise at once.
    Telegram starts in the background and keeps retrying while it cannot be reached."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            http_up = app.state.http_up = asyncio.Event()
            if not wait_for_http:
                http_up.set()
            store = Store.open(settings.database_url)
            stack.callback(store.close)
            dispatcher = dispatcher_for(
                world,
                store,
                channels or channels_for(settings),
                clock=clock,
                worker=f"{socket.gethostname()}:{os.getpid()}",
            )
            holder["dispatcher"] = dispatcher
            wecom = None
            if settings.wecom_secret is not None:
                wecom = start_wecom(settings, world, store, clock)
                stack.push_async_callback(wecom.drain)
                dispatcher.channels = {**dispatcher.channels, "wecom": wecom.channel}
                holder["wecom"] = wecom
            robots = robots_for(settings, world)
            if robots:
                robot_client = httpx.AsyncClient(timeout=10)
                stack.push_async_callback(robot_client.aclose)
                for robot in robots:
                    subscriber = store.subscriber(
                        ROBOT_CHANNEL, robot.address, display_name="企业微信群机器人", now=clock()
                    )
                    store.set_categories(subscriber, list(robot.categories), now=clock())
                dispatcher.channels = {
                    **dispatcher.channels,
                    ROBOT_CHANNEL: RobotChannel(
                        {r.address: r.url for r in robots}, robot_client, public_url_of(settings)
                    ),
                }
            now = clock()
            # One process on SQLite owns every row left in `sending`; on PostgreSQL other
            # dispatchers may be mid-send, so only rows older than the lease are taken back.
            lease = dt.timedelta(0) if store.dialect == "sqlite" else LEASE
            recovered = store.recover(now=now, lease=lease)
            if demo:
                loaded = load_demo(store, now=now)
                log.info("demo: %d sample enterprises subscribed on the console", loaded)
            planned = replan(store, world, now=now)
            log.info("start-up: %d reminders recovered, %d newly planned", recovered, planned)
            scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")

            async def replan_job() -> None:
                # Matching and planning a city take seconds: keep them off the event loop.
                planned = await asyncio.to_thread(replan, store, world, now=clock())
                log.info("replanned: %d new reminders", planned)

            async def backlog() -> None:
                await http_up.wait()
                report = await dispatcher.tick()  # what came due while huiqi was down
                log.info("start-up tick: %s", report)
                scheduler.add_job(
                    dispatcher.tick,
                    "interval",
                    seconds=TICK_SECONDS,
                    coalesce=True,
                    max_instances=1,
                )

            scheduler.add_job(
                replan_job, "interval", minutes=REPLAN_MINUTES, coalesce=True, max_instances=1
            )
            scheduler.start()
            stack.callback(scheduler.shutdown, wait=False)
            sending = asyncio.create_task(backlog())
            stack.push_async_callback(_finish, sending, http_up)
            tasks: list[asyncio.Task[None]] = []
            if settings.telegram_token is not None:
                dispatcher.waiting.add("telegram")
                if not await try_telegram(store, dispatcher, stack, first=True):
                    retry = keep_starting_telegram(store, dispatcher, stack)
                    tasks.append(asyncio.create_task(retry))
            stack.push_async_callback(_cancel, tasks)
            app.state.runtime = Runtime(store, dispatcher, scheduler, wecom)
            holder["store"] = store
            yield
            holder.clear()

    async def try_telegram(
        store: Store,
        dispatcher: Dispatcher,
        stack: contextlib.AsyncExitStack,
        *,
        first: bool = False,
        retry_in: float = 5.0,
    ) -> bool:
        """Start the bot once; on failure say so (log, /healthz) and return False.

        The first try at start-up is bounded, so that serving never waits on Telegram."""
        try:
            async with asyncio.timeout(TELEGRAM_START_SECONDS if first else None):
                telegram = await start_telegram(settings, world, store, clock)
        except Exception as exc:  # unreachable, refused token, a 5xx: try again later
            why = f"{type(exc).__name__}：启动失败，{retry_in:g} 秒后重试"
            dispatcher.health["telegram"] = ChannelHealth("down", why, changed_at=clock())
            log.warning("telegram: cannot start (%s); retry in %gs", type(exc).__name__, retry_in)
            return False
        stack.push_async_callback(stop_telegram, telegram)
        holder["telegram"] = telegram
        dispatcher.channels = {**dispatcher.channels, "telegram": TelegramChannel(telegram)}
        dispatcher.waiting.discard("telegram")
        dispatcher.health["telegram"] = ChannelHealth("idle", "已启动", changed_at=clock())
        return True

    async def keep_starting_telegram(
        store: Store, dispatcher: Dispatcher, stack: contextlib.AsyncExitStack
    ) -> None:
        """Retry starting the bot with backoff until Telegram answers."""
        delay = 5.0
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)
            if await try_telegram(store, dispatcher, stack, retry_in=delay):
                log.info("telegram: started after all")
                return

    holder: dict[str, Any] = {}

    def current_store() -> Store | None:
        store: Store | None = holder.get("store")
        return store

    def channel_states() -> dict[str, Any]:
        dispatcher: Dispatcher | None = holder.get("dispatcher")
        if dispatcher is None:
            return {}
        states = {name: {"state": "idle"} for name in (*dispatcher.channels, *dispatcher.waiting)}
        states |= {name: h.as_dict() for name, h in dispatcher.health.items()}
        return states

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
        telegram = holder.get("telegram")
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
        wecom: WeComRuntime | None = holder.get("wecom")
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

    routes = [
        *web.routes,
        Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"]),
        Route(WECOM_PATH, wecom_callback, methods=["GET", "POST"]),
    ]
    callbacks = {WEBHOOK_PATH: limits.CALLBACK_BODY, WECOM_PATH: limits.CALLBACK_BODY}
    middleware = [Middleware(limits.RequestLimits, caps=callbacks), *web.user_middleware]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


@dataclass
class WeComRuntime:
    """The WeCom app's parts while serving."""

    guard: CallbackGuard
    channel: WeComChannel
    service: ChatService
    tasks: set[asyncio.Task[None]]

    async def drain(self) -> None:
        """Wait for the replies still being handled (at shutdown, and in tests)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


def start_wecom(
    settings: Settings, world: World, store: Store, clock: Callable[[], dt.datetime]
) -> WeComRuntime:
    """The WeCom app: callback decryption, the chat service, the app-message sender."""
    corp, agent, secret = settings.wecom_corp_id, settings.wecom_agent_id, settings.wecom_secret
    token, aes_key = settings.wecom_token, settings.wecom_aes_key
    if not (corp and agent and secret and token and aes_key):
        raise ValueError("WeCom is not configured")
    crypto = WeChatCrypto(token.reveal(), aes_key.reveal(), corp)
    client = make_client(corp, secret.reveal(), settings.wecom_api_url)
    public = public_url_of(settings)
    service = ChatService(world, store, clock=clock, public_url=public)
    log.info("wecom: app %s, callback %s%s", agent, public, WECOM_PATH)
    if settings.public_url is None:
        log.warning(
            "wecom: HUIQI_PUBLIC_URL is not set: WeCom can only reach %s%s through a proxy, "
            "and calendar links in replies point at that local address",
            public,
            WECOM_PATH,
        )
    return WeComRuntime(
        CallbackGuard(crypto, clock, store),
        WeComChannel(client, agent, clock, public),
        service,
        set(),
    )


def public_url_of(settings: Settings) -> str:
    """Where users reach the web app: HUIQI_PUBLIC_URL, or the local address."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def robots_for(settings: Settings, world: World) -> list[Robot]:
    """The configured group robots (each `URL#category+category`)."""
    categories = tuple(t.key for t in world.catalog.vocab.categories)
    return parse_robots(tuple(r.reveal() for r in settings.wecom_robot_webhooks), categories)


async def start_telegram(
    settings: Settings, world: World, store: Store, clock: Callable[[], dt.datetime]
) -> App:
    """The Telegram bot: polling, or a webhook on the web app when HUIQI_PUBLIC_URL is set."""
    if settings.telegram_token is None:
        raise ValueError("Telegram is not configured")
    public = public_url_of(settings)
    service = ChatService(world, store, clock=clock, public_url=public)
    webhook = settings.public_url is not None
    app = build_application(
        settings.telegram_token.reveal(),
        settings.telegram_api_url,
        service,
        settings.admins,
        polling=not webhook,
    )
    await app.initialize()
    try:
        await _start_bot(app, settings, service, webhook)
    except BaseException:
        await stop_telegram(app)  # nothing half-started stays behind
        raise
    return app


async def _start_bot(app: App, settings: Settings, service: ChatService, webhook: bool) -> None:
    service.bot_username = app.bot.username
    await app.start()
    if webhook:
        secret = settings.telegram_webhook_secret
        await app.bot.set_webhook(
            f"{settings.public_url.rstrip('/')}{WEBHOOK_PATH}" if settings.public_url else "",
            secret_token=secret.reveal() if secret else None,
        )
        log.info("telegram: webhook at %s%s", settings.public_url, WEBHOOK_PATH)
    elif app.updater is not None:
        await app.updater.start_polling()
        log.info("telegram: polling %s as @%s", settings.telegram_api_url, app.bot.username)


async def _finish(sending: asyncio.Task[None], http_up: asyncio.Event) -> None:
    """Let the start-up sends that began finish; never wait for a start that did not come."""
    if not http_up.is_set():
        sending.cancel()
    await asyncio.gather(sending, return_exceptions=True)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def stop_telegram(app: App) -> None:
    """Stop polling and the application."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


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
