"""The WeChat official account (微信服务号) face: the callback, passive replies and
customer-service messages for the chat, template messages (or 订阅通知) for reminders.

Built on wechatpy: the callback's signature (plain mode) or its encryption (safe mode, the
same scheme as WeCom with the account's AppID), the message parser, the API client with its
access token. Every WeChat answer is checked for `errcode == 0`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wechatpy import WeChatClient
from wechatpy import parse_message as parse_mp_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import (
    InvalidAppIdException,
    InvalidSignatureException,
    WeChatClientException,
)
from wechatpy.replies import TextReply

from bot._wecom import (
    MAX_AGE,
    TOKEN_ERRORS,
    CallbackError,
    DailyCap,
    Memory,
    ReplayMemory,
    _message_key,
    _TimedSession,
    reply_text,
)
from bot.chat import ChatService, Reply, Who, is_admin
from schedulers import (
    OK,
    PERMANENT,
    REJECTED,
    RETRY_AFTER,
    TRANSIENT,
    Capabilities,
    SendResult,
    part_failed,
    split_long,
    utf8_size,
)
from subscriptions.store import Store

log = logging.getLogger("huiqi.wechat")

CHANNEL = "wechat"
TEXT_BYTES = 2048  # a customer-service or passive text reply WeChat delivers whole
PASSIVE_SECONDS = 4.0  # WeChat waits 5 s for the callback's answer, then retries
GONE = {43004, 40003, 43019}  # not following (any more), not this account's user, blocked us
RETRY_LATER = {-1, 45009, 45011, 45047}  # busy; the day's API quota; too often
REFUSED = {45015, 45047, 47003, 43101}  # 48-hour window over; 20 unanswered; bad field; no consent
CONFIG = {40037, 40036, 40013, 40125, 40164}  # bad template id, appid, secret, IP not allowed

# A reminder goes out as one template message (a summary and a link to the full text);
# answers and settings are typed words.
TEMPLATE_MESSAGES = Capabilities(limit=None, commands="typed")

# WeChat's template field types and their length limits (characters), by name prefix.
FIELD_LIMITS = (("thing", 20), ("character_string", 32), ("phrase", 5), ("time", 30))
FIELD_LIMIT = 200


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's official-account client with every call, the token fetch included, on one
    base URL (WeChat's, or the fake in tests) and a timeout on each."""

    def __init__(self, *args: Any, timeout: float | tuple[float, float], **kwargs: Any) -> None:
        super().__init__(*args, timeout=timeout, **kwargs)
        self._http = _TimedSession(timeout)

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self.appid!r}, api={self.API_BASE_URL!r})"


def make_client(
    app_id: str, secret: str, api_url: str, timeout: float | tuple[float, float] = (5.0, 10.0)
) -> WeChatClient:
    """A wechatpy client of the account whose calls go to `api_url`; wechatpy's own retry on
    an expired token is off (the channel refreshes once itself)."""
    client = _Client(app_id, secret, timeout=timeout, auto_retry=False)
    client.API_BASE_URL = api_url.rstrip("/") + "/cgi-bin/"
    return client


@dataclass(frozen=True)
class TemplateSpec:
    """Which template reminders use, how they are sent (模板消息 or 订阅通知), and which
    reminder value fills each of its fields (HUIQI_WECHAT_TEMPLATE_FIELDS)."""

    template_id: str
    fields: tuple[tuple[str, str], ...]  # (template field, source)
    mode: str = "template"


_TITLE = re.compile(r"^【([^】]+)】(.*)$")
_LINK = re.compile(r"https?://[^\s）)]+/policies/[A-Za-z0-9_.-]+")


def reminder_values(text: str) -> dict[str, str]:
    """The values a template can show, read from a reminder as text channels get it: its
    first line (【申报开始】+ the policy's name), its 申报时间, 支持 and 承办 lines."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    title = lines[0] if lines else "政策申报提醒"
    first_entry = next((line for line in lines if _TITLE.match(re.sub(r"^\d+\. ", "", line))), "")
    found = _TITLE.match(re.sub(r"^\d+\. ", "", first_entry))
    kind, policy = (found.group(1), found.group(2)) if found else ("政策申报提醒", title)

    def line_of(word: str) -> str:
        return next((ln.split("：", 1)[1] for ln in lines if ln.startswith(word + "：")), "")

    time = line_of("申报时间")
    close = re.search(r"至 (\d{4}-\d{2}-\d{2})", time)
    return {
        "title": title,
        "kind": kind,
        "policy": policy.strip() or title,
        "time": time or "以通知为准",
        "deadline": close.group(1) if close else "以通知为准",
        "benefit": line_of("支持") or "详见政策原文",
        "contact": line_of("承办") or line_of("咨询"),
        "remark": "点击查看政策详情、申报条件与材料；已申报请回复“已申报 政策名称”",
        "text": "\n".join(lines[1:]),
    }


def template_data(spec: TemplateSpec, text: str) -> dict[str, dict[str, str]]:
    """The template's `data`: each field's value, cut to the length its type allows."""
    values = reminder_values(text)
    data = {}
    for name, source in spec.fields:
        limit = next((n for prefix, n in FIELD_LIMITS if name.startswith(prefix)), FIELD_LIMIT)
        value = values[source]
        data[name] = {"value": value if len(value) <= limit else value[: limit - 1] + "…"}
    return data


@dataclass
class WeChatChannel:
    """Reminders as template messages (or 订阅通知), replies as customer-service messages."""

    client: WeChatClient
    spec: TemplateSpec | None  # None: no template configured, reminders as text messages
    clock: Callable[[], dt.datetime]
    daily_quota: int = 100_000  # the account's daily template-message quota
    name: str = CHANNEL
    rate_per_second: float | None = 20.0
    capabilities: Capabilities = field(default=TEMPLATE_MESSAGES, init=False)
    _today: DailyCap = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._today = DailyCap(self.daily_quota, self.clock)
        # One template message a reminder; text in parts when no template is configured.
        if self.spec is None:
            self.capabilities = Capabilities(limit=TEXT_BYTES, utf8=True, commands="typed")

    async def send(self, address: str, text: str) -> SendResult:
        """A reminder to a follower, within the day's quota."""
        waiting = self._today.reached()
        if waiting is not None:
            return waiting
        if self.spec is None:
            result = await asyncio.to_thread(self._custom, address, text)
        else:
            result = await asyncio.to_thread(self._template, address, text, self.spec)
        if result.status == OK:
            self._today.count()
        return result

    async def reply(self, address: str, text: str) -> SendResult:
        """An answer to a follower's message that came too late for the passive reply: a
        customer-service message (allowed for 48 hours after the follower wrote)."""
        return await asyncio.to_thread(self._custom_parts, address, text)

    def _template(self, address: str, text: str, spec: TemplateSpec) -> SendResult:
        data = template_data(spec, text)
        link = _LINK.search(text)
        url = link.group(0) if link else None
        if spec.mode == "subscribe":
            return self._api(
                lambda: self.client.message.send_subscribe_message(
                    address, spec.template_id, data, page=url
                )
            )
        return self._api(
            lambda: self.client.message.send_template(address, spec.template_id, data, url=url)
        )

    def _custom_parts(self, address: str, text: str) -> SendResult:
        for number, part in enumerate(split_long(text, TEXT_BYTES, utf8_size)):
            result = self._custom(address, part)
            if result.status != OK:
                return part_failed(number, result)
        return SendResult(OK)

    def _custom(self, address: str, text: str) -> SendResult:
        return self._api(lambda: self.client.message.send_text(address, text))

    def _api(self, call: Callable[[], Any]) -> SendResult:
        """One API call, the access token refreshed once when WeChat refuses it."""
        for attempt in range(2):
            try:
                call()
                return SendResult(OK)
            except WeChatClientException as exc:
                code = int(exc.errcode or 0)
                if code in TOKEN_ERRORS and attempt == 0:
                    try:
                        self.client.fetch_access_token()
                    except WeChatClientException as refused:  # a wrong AppSecret
                        return _refused(int(refused.errcode or 0), str(refused.errmsg))
                    continue
                return _refused(code, str(exc.errmsg))
            except Exception as exc:  # network errors from requests
                return SendResult(TRANSIENT, detail=type(exc).__name__)
        return SendResult(TRANSIENT, detail="access token refused twice", channel_down=True)


def _refused(code: int, message: str) -> SendResult:
    """WeChat's errcode as a result."""
    said = f"errcode {code}: {message}"
    if code in GONE:
        return SendResult(PERMANENT, detail=said)
    if code == 45009:  # the day's quota of this API is spent: try after midnight
        return SendResult(RETRY_AFTER, retry_after=3600.0, detail=said)
    if code in RETRY_LATER:
        return SendResult(RETRY_AFTER, retry_after=60.0, detail=said)
    if code in REFUSED:
        return SendResult(REJECTED, detail=said)
    if code in CONFIG or code in TOKEN_ERRORS:  # every message would fail the same way
        return SendResult(TRANSIENT, detail=said, channel_down=True)
    return SendResult(TRANSIENT, detail=said)


@dataclass
class WeChatGuard:
    """Checks the account's callbacks: the signature of plain mode, or safe mode's
    msg_signature and encryption; refuses stale ones and remembers what it handled."""

    token: str
    clock: Callable[[], dt.datetime]
    crypto: WeChatCrypto | None = None  # safe mode (HUIQI_WECHAT_AES_KEY set)
    seen: ReplayMemory = field(default_factory=Memory)

    def __repr__(self) -> str:
        return f"WeChatGuard(safe_mode={self.crypto is not None})"

    def _signed(self, signature: str, *parts: str) -> bool:
        joined = "".join(sorted([self.token, *parts]))
        expected = hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeChat's scheme
        return hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace"))

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The echostr of WeChat's server check (signed in both modes)."""
        if not echostr or not self._signed(signature, timestamp, nonce):
            raise CallbackError("URL verification refused: bad signature")
        return echostr

    def open(self, body: bytes, query: Mapping[str, str]) -> tuple[Any, bool]:
        """The parsed message, and whether it was seen before; CallbackError when refused."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        try:
            sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise CallbackError("malformed timestamp") from None
        now = self.clock()
        if abs(now - sent) > MAX_AGE:
            raise CallbackError(f"stale callback ({sent.isoformat()})")
        if not self._signed(query.get("signature", ""), timestamp, nonce):
            raise CallbackError("refused: bad signature")
        encrypted = query.get("encrypt_type", "raw") == "aes"
        if self.crypto is not None and not encrypted:
            raise CallbackError("refused: plain message while safe mode is on")
        try:
            text = body.decode("utf-8")
            if encrypted:
                if self.crypto is None:
                    raise CallbackError("refused: encrypted message without HUIQI_WECHAT_AES_KEY")
                text = self.crypto.decrypt_message(
                    text, query.get("msg_signature", ""), timestamp, nonce
                )
            message = parse_mp_message(text)
            for name in type(message)._fields:  # fields are converted when read: read each once
                getattr(message, name)
        except CallbackError:
            raise
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise CallbackError(f"refused: {type(exc).__name__}") from None
        except Exception as exc:  # malformed XML or ciphertext: refuse, never crash
            raise CallbackError(f"malformed callback: {type(exc).__name__}") from None
        key = _message_key(message, body)
        window = 2 * MAX_AGE
        if not self.seen.first_sighting(f"wechat:{key}", now=now, window=window):
            return message, True  # WeChat's retry of a message it has already sent
        # In plain mode the signature covers the query, not the body: a signed query seen
        # before with another message is someone else's body on a captured URL.
        query_key = f"wechat-query:{query.get('signature', '')}:{timestamp}:{nonce}"
        if not encrypted and not self.seen.first_sighting(query_key, now=now, window=window):
            raise CallbackError("refused: a signed query reused for another message")
        return message, False

    def answer(self, message: Any, text: str, query: Mapping[str, str]) -> str:
        """A passive reply (XML), encrypted in safe mode."""
        xml = TextReply(message=message, content=text).render()
        if self.crypto is None or query.get("encrypt_type") != "aes":
            return str(xml)
        timestamp = query.get("timestamp") or str(int(self.clock().timestamp()))
        return str(self.crypto.encrypt_message(xml, query.get("nonce", ""), timestamp))


@dataclass
class WeChatRuntime:
    """The official account's parts while serving."""

    guard: WeChatGuard
    channel: WeChatChannel
    service: ChatService
    store: Store
    admins: tuple[str, ...]
    passive_seconds: float = PASSIVE_SECONDS  # how long a passive reply may take
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def drain(self) -> None:
        """Wait for the replies still being handled (at shutdown, and in tests)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def handle(self, message: Any) -> str | None:
        """The passive reply to one follower's message, or None (nothing to say now; a late
        answer goes out as a customer-service message)."""
        work = asyncio.ensure_future(self._replies(message))
        try:
            replies = await asyncio.wait_for(asyncio.shield(work), self.passive_seconds)
        except TimeoutError:  # too slow for WeChat's 5 s: answer when done, as a message
            user = str(getattr(message, "source", ""))
            task = asyncio.ensure_future(self._late(user, work))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return None
        if not replies:
            return None
        user = str(getattr(message, "source", ""))
        text = "\n\n".join(reply_text(r) for r in replies)
        if utf8_size(text) <= TEXT_BYTES:
            return text
        first, *rest = split_long(text, TEXT_BYTES, utf8_size)
        task = asyncio.ensure_future(self._send_rest(user, rest))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return first

    async def _late(self, user: str, work: asyncio.Future[list[Reply]]) -> None:
        replies = await work
        await self._send_rest(user, ["\n\n".join(reply_text(r) for r in replies)])

    async def _send_rest(self, user: str, texts: list[str]) -> None:
        for text in texts:
            result = await self.channel.reply(user, text)
            if result.status != OK:
                log.warning("wechat reply to %s not sent: %s", user, result.detail)
                return

    async def _replies(self, message: Any) -> list[Reply]:
        user = str(getattr(message, "source", ""))
        kind = getattr(message, "type", "")
        event = str(getattr(message, "event", "") or "")
        if not user:
            return []
        who = Who(CHANNEL, user, user, user, admin=is_admin(CHANNEL, user, self.admins))
        if kind == "event" and event == "unsubscribe":
            await asyncio.to_thread(self._unfollowed, user)
            return []
        if kind == "text":
            text = str(message.content)
        elif kind == "event" and event in ("subscribe", "subscribe_scan", "scan"):
            text = "帮助"  # a new follower (or one scanning the account's code) gets the help
        elif kind == "event" and event == "click":
            text = str(getattr(message, "key", "") or "帮助")  # a menu button's key is a command
        elif kind == "event":
            return []  # location reports, menu views, template receipts: nothing to answer
        else:
            return [Reply("目前只能看懂文字命令。发送“帮助”查看可用的命令。")]
        try:
            return await asyncio.to_thread(self.service.handle_text, who, text)
        except Exception:
            log.exception("wechat chat handler failed")
            return [Reply("抱歉，处理时出错了，请稍后再试。")]

    def _unfollowed(self, user: str) -> None:
        """An unfollow: the follower hears nothing more (following again restores them)."""
        now = self.service.clock()
        subscriber = self.store.registry.subscriber(CHANNEL, user, display_name=None, now=now)
        self.store.outbox.deactivate(subscriber, "取消关注公众号")
