"""The one place where huiqi's running parts are assembled: store, dispatcher, channels,
scheduler. `start` enters each part into an AsyncExitStack as it comes up, so a failure at any
step closes what came before it, and shutdown runs in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from wechatpy.crypto import WeChatCrypto as AccountCrypto
from wechatpy.enterprise.crypto import WeChatCrypto

from bot._email import EmailChannel, MailServer
from bot._service import World, dispatcher_for, replan
from bot._settings import Settings
from bot._simulate import demo_profiles
from bot._telegram import App, TelegramChannel, build_application
from bot._wechat import TemplateSpec, WeChatChannel, WeChatGuard, WeChatRuntime
from bot._wechat import make_client as make_wechat_client
from bot._wecom import (
    ROBOT_CHANNEL,
    CallbackGuard,
    Robot,
    RobotChannel,
    WeComChannel,
    make_client,
    parse_robots,
)
from bot.chat import ChatService
from schedulers import Channel
from schedulers.dispatch import LEASE, ChannelHealth, ConsoleChannel, Dispatcher
from subscriptions.store import Store

log = logging.getLogger("huiqi")

TICK_SECONDS = 30
REPLAN_MINUTES = 60
TELEGRAM_START_SECONDS = 8.0  # the first start of the bot, before HTTP is served
WEBHOOK_PATH = "/telegram/webhook"
WECOM_PATH = "/wecom/callback"
WECHAT_PATH = "/wechat/callback"


@dataclass
class Runtime:
    """What the running service holds; `app.state.runtime` while huiqi serves."""

    store: Store
    dispatcher: Dispatcher
    scheduler: AsyncIOScheduler
    http_up: asyncio.Event
    wecom: WeComRuntime | None = None
    wechat: WeChatRuntime | None = None
    email: EmailChannel | None = None
    telegram: App | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __repr__(self) -> str:  # the bot application's repr carries its token
        return f"Runtime(dispatcher={self.dispatcher!r}, telegram={self.telegram is not None})"

    def channel_states(self) -> dict[str, dict[str, object]]:
        """Each channel's state for /healthz: started, waiting to start, up or down."""
        d = self.dispatcher
        states: dict[str, dict[str, object]] = {
            name: {"state": "idle"} for name in (*d.channels, *d.waiting)
        }
        states |= {name: h.as_dict() for name, h in d.health.items()}
        return states


async def start(
    settings: Settings,
    world: World,
    stack: contextlib.AsyncExitStack,
    *,
    clock: Callable[[], dt.datetime],
    channels: Mapping[str, Channel] | None = None,
    demo: bool = False,
    wait_for_http: bool = False,
) -> Runtime:
    """Open the store, start every configured channel and the scheduler; return the parts.

    The backlog of due reminders goes out once `http_up` is set (at once unless
    `wait_for_http`). Telegram starts in the background and keeps retrying while it cannot be
    reached; the other channels are in the dispatcher from the start."""
    http_up = asyncio.Event()
    if not wait_for_http:
        http_up.set()
    store = Store.open(settings.database_url)
    stack.callback(store.close)
    senders: dict[str, Channel] = dict(channels or {"console": ConsoleChannel()})
    wecom = None
    if settings.wecom_secret is not None:
        wecom = start_wecom(settings, world, store, clock)
        stack.callback(wecom.channel.client._http.close)  # the API session's connections
        stack.push_async_callback(wecom.drain)
        senders["wecom"] = wecom.channel
    wechat = None
    if settings.wechat_app_secret is not None:
        wechat = start_wechat(settings, world, store, clock)
        stack.callback(wechat.channel.client._http.close)
        stack.push_async_callback(wechat.drain)
        senders["wechat"] = wechat.channel
    email = email_channel(settings, store, clock)
    if email is not None:
        senders["email"] = email
    robots = robots_for(settings, world)
    if robots:
        robot_client = httpx.AsyncClient(timeout=10)
        stack.push_async_callback(robot_client.aclose)
        for robot in robots:
            subscriber = store.registry.subscriber(
                ROBOT_CHANNEL, robot.address, display_name="企业微信群机器人", now=clock()
            )
            store.registry.set_categories(subscriber, list(robot.categories), now=clock())
        addresses = {r.address: r.url for r in robots}
        senders[ROBOT_CHANNEL] = RobotChannel(addresses, robot_client)
    dispatcher = dispatcher_for(
        world,
        store,
        senders,
        clock=clock,
        public_url=settings.base_url,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        hotline=settings.hotline,
    )
    now = clock()
    # One process on SQLite owns every row left in `sending`; on PostgreSQL other
    # dispatchers may be mid-send, so only rows older than the lease are taken back.
    lease = dt.timedelta(0) if store.dialect == "sqlite" else LEASE
    recovered = store.outbox.recover(now=now, lease=lease)
    if demo:
        loaded = load_demo(store, now=now)
        log.info("demo: %d sample enterprises subscribed on the console", loaded)
    planned = replan(store, world, now=now)
    log.info("start-up: %d reminders recovered, %d newly planned", recovered, planned)
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
    runtime = Runtime(store, dispatcher, scheduler, http_up, wecom, wechat, email)

    async def replan_job() -> None:
        # Matching and planning a city take seconds: keep them off the event loop.
        planned = await asyncio.to_thread(replan, store, world, now=clock())
        log.info("replanned: %d new reminders", planned)

    async def backlog() -> None:
        await http_up.wait()
        report = await dispatcher.tick()  # what came due while huiqi was down
        log.info("start-up tick: %s", report)
        scheduler.add_job(
            dispatcher.tick, "interval", seconds=TICK_SECONDS, coalesce=True, max_instances=1
        )

    scheduler.add_job(
        replan_job, "interval", minutes=REPLAN_MINUTES, coalesce=True, max_instances=1
    )
    scheduler.start()
    stack.callback(scheduler.shutdown, wait=False)
    sending = asyncio.create_task(backlog())
    stack.push_async_callback(_finish, sending, http_up)
    stack.push_async_callback(_cancel, runtime.tasks)
    if settings.telegram_token is not None:
        dispatcher.waiting.add("telegram")
        if not await _try_telegram(settings, world, runtime, stack, clock, first=True):
            retry = _keep_starting_telegram(settings, world, runtime, stack, clock)
            runtime.tasks.append(asyncio.create_task(retry))
    return runtime


async def _try_telegram(
    settings: Settings,
    world: World,
    runtime: Runtime,
    stack: contextlib.AsyncExitStack,
    clock: Callable[[], dt.datetime],
    *,
    first: bool = False,
    retry_in: float = 5.0,
) -> bool:
    """Start the bot once; on failure say so (log, /healthz) and return False.

    The first try at start-up is bounded, so that serving never waits on Telegram."""
    dispatcher = runtime.dispatcher
    try:
        async with asyncio.timeout(TELEGRAM_START_SECONDS if first else None):
            telegram = await start_telegram(settings, world, runtime.store, clock)
    except Exception as exc:  # unreachable, refused token, a 5xx: try again later
        why = f"{type(exc).__name__}：启动失败，{retry_in:g} 秒后重试"
        dispatcher.health["telegram"] = ChannelHealth("down", why, changed_at=clock())
        log.warning("telegram: cannot start (%s); retry in %gs", type(exc).__name__, retry_in)
        return False
    stack.push_async_callback(stop_telegram, telegram)
    runtime.telegram = telegram
    dispatcher.channels["telegram"] = TelegramChannel(telegram)
    dispatcher.waiting.discard("telegram")
    dispatcher.health["telegram"] = ChannelHealth("idle", "已启动", changed_at=clock())
    return True


async def _keep_starting_telegram(
    settings: Settings,
    world: World,
    runtime: Runtime,
    stack: contextlib.AsyncExitStack,
    clock: Callable[[], dt.datetime],
) -> None:
    """Retry starting the bot with backoff until Telegram answers."""
    delay = 5.0
    while True:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 300.0)
        if await _try_telegram(settings, world, runtime, stack, clock, retry_in=delay):
            log.info("telegram: started after all")
            return


def load_demo(store: Store, *, now: dt.datetime) -> int:
    """The sample enterprises, each subscribed on the console; return how many."""
    for i, profile in enumerate(demo_profiles(), start=1):
        enterprise = store.registry.save_enterprise(profile["name"], profile, now=now)
        subscriber = store.registry.subscriber(
            "console", f"demo-{i}", display_name=profile["name"], now=now
        )
        store.registry.subscribe(subscriber, enterprise, now=now)
    return len(demo_profiles())


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
    public = settings.base_url
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
        CallbackGuard(crypto, clock, store.chats),
        WeComChannel(client, agent, clock),
        service,
        set(),
    )


def start_wechat(
    settings: Settings, world: World, store: Store, clock: Callable[[], dt.datetime]
) -> WeChatRuntime:
    """The official account: callback checks, the chat service, the message sender."""
    app_id, secret, token = (
        settings.wechat_app_id,
        settings.wechat_app_secret,
        settings.wechat_token,
    )
    if not (app_id and secret and token):
        raise ValueError("the WeChat official account is not configured")
    aes = settings.wechat_aes_key
    crypto = AccountCrypto(token.reveal(), aes.reveal(), app_id) if aes else None
    client = make_wechat_client(app_id, secret.reveal(), settings.wechat_api_url)
    template = settings.wechat_template_id
    spec = (
        TemplateSpec(template, settings.wechat_template_fields, settings.wechat_send_mode)
        if template
        else None
    )
    public = settings.base_url
    service = ChatService(world, store, clock=clock, public_url=public)
    log.info(
        "wechat: account %s, callback %s%s (%s mode), reminders as %s",
        app_id,
        public,
        WECHAT_PATH,
        "safe" if crypto else "plain",
        spec.mode if spec else "customer-service messages (no HUIQI_WECHAT_TEMPLATE_ID)",
    )
    return WeChatRuntime(
        WeChatGuard(token.reveal(), clock, crypto, store.chats),
        WeChatChannel(client, spec, clock, daily_quota=settings.wechat_daily_quota),
        service,
        store,
        settings.admins,
    )


def email_channel(
    settings: Settings, store: Store, clock: Callable[[], dt.datetime]
) -> EmailChannel | None:
    """The e-mail sender, when HUIQI_SMTP_HOST is set."""
    if not (settings.smtp_host and settings.smtp_from):
        return None
    server = MailServer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        tls=settings.smtp_tls,
        user=settings.smtp_user,
        password=settings.smtp_password,
    )
    log.info("email: %s:%d (%s) from %s", server.host, server.port, server.tls, server.sender)
    if server.tls == "none" and server.host not in ("127.0.0.1", "::1", "localhost"):
        log.warning(
            "email: HUIQI_SMTP_TLS=none to %s: mail and the login cross the network in clear",
            server.host,
        )
    return EmailChannel(server, store, settings.base_url, clock)


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
    public = settings.base_url
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
