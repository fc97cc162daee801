"""The WeCom (企业微信) face: the app callback, the app-message sender, the group robots.

Built on wechatpy (WXBizMsgCrypt scheme, access tokens) plus plain HTTP for group robots,
which wechatpy has no API for. Every WeCom answer is checked for `errcode == 0`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import requests
from wechatpy.enterprise import WeChatClient, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from bot.chat import (
    ChatService,
    Reply,
    Who,
    is_admin,
)
from schedulers import (
    OK,
    PERMANENT,
    RETRY_AFTER,
    SHANGHAI,
    TRANSIENT,
    Capabilities,
    SendResult,
    part_failed,
)
from schedulers.dispatch import PerAddress

log = logging.getLogger("huiqi.wecom")

CHANNEL = "wecom"
ROBOT_CHANNEL = "wecom-robot"
MAX_AGE = dt.timedelta(minutes=5)  # older callbacks are treated as replays
RETRY_LATER = {-1, 45009, 45033, 45047}  # system busy; API frequency limits
GONE = {60111, 60102, 81013, 40003, 60020, 81011}  # user not found / not in the app's scope
TOKEN_ERRORS = {40014, 42001, 40001}  # invalid or expired access token: refresh and retry once
TEXT_BYTES = 2048  # WeCom cuts app text messages longer than this (UTF-8 bytes)
MARKDOWN_BYTES = 4096  # the robot's markdown limit


APP_MESSAGES = Capabilities(limit=TEXT_BYTES, utf8=True, commands="typed")
ROBOT_MESSAGES = Capabilities(limit=MARKDOWN_BYTES, utf8=True, markup="markdown")


class CallbackError(Exception):
    """A callback that must be refused: bad signature, wrong corp, malformed, replayed, stale."""


class Memory:
    """Replay memory in this process only (tests, and a guard without a store)."""

    def __init__(self) -> None:
        self.seen: OrderedDict[str, dt.datetime] = OrderedDict()

    def __len__(self) -> int:
        return len(self.seen)

    def first_sighting(self, key: str, *, now: dt.datetime, window: dt.timedelta) -> bool:
        """Whether `key` is new within `window`; remembers it."""
        while self.seen and next(iter(self.seen.values())) < now - window:
            self.seen.popitem(last=False)
        if key in self.seen:
            return False
        self.seen[key] = now
        return True


class ReplayMemory(Protocol):
    """Where the ids of handled callbacks are kept (the store, so a restart forgets none)."""

    def first_sighting(self, key: str, *, now: dt.datetime, window: dt.timedelta) -> bool: ...


ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[([^\]<]*)\]\]>|([^<]*))\s*</Encrypt>")


@dataclass
class CallbackGuard:
    """Decrypts callbacks and refuses replays (same MsgId, or too old).

    The signature is checked on the Encrypt field, found without an XML parser, before any
    XML is parsed: an unsigned body never reaches the parser."""

    crypto: WeChatCrypto
    clock: Callable[[], dt.datetime]
    seen: ReplayMemory = field(default_factory=Memory)

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The plain echostr of WeCom's URL verification."""
        try:
            return str(self.crypto.check_signature(signature, timestamp, nonce, echostr))
        except Exception as exc:  # bad signature, corp, or an undecryptable echostr: refuse
            raise CallbackError(f"URL verification refused: {type(exc).__name__}") from None

    def open(self, body: bytes, signature: str, timestamp: str, nonce: str) -> Any:
        """The parsed message of an encrypted callback, or CallbackError."""
        try:
            sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise CallbackError("malformed timestamp") from None
        now = self.clock()
        if abs(now - sent) > MAX_AGE:
            raise CallbackError(f"stale callback ({sent.isoformat()})")
        found = ENCRYPT.search(body)
        encrypted = (found.group(1) or found.group(2) or b"") if found else b""
        expected = _signature(
            self.crypto.token, timestamp, nonce, encrypted.decode("ascii", "replace")
        )
        if not encrypted or not hmac.compare_digest(expected, signature.encode("ascii", "replace")):
            raise CallbackError("refused: InvalidSignatureException")
        try:
            xml = self.crypto.decrypt_message(body.decode("utf-8"), signature, timestamp, nonce)
            message = parse_message(xml)
            for name in type(message)._fields:  # fields are converted when read: read each once
                getattr(message, name)
        except (InvalidSignatureException, InvalidCorpIdException) as exc:
            raise CallbackError(f"refused: {type(exc).__name__}") from None
        except Exception as exc:  # malformed XML or ciphertext: refuse, never crash
            raise CallbackError(f"malformed callback: {type(exc).__name__}") from None
        key = str(getattr(message, "id", None) or hashlib.sha256(body).hexdigest())
        if not self.seen.first_sighting(f"wecom:{key}", now=now, window=2 * MAX_AGE):
            raise CallbackError(f"replayed message {key}")
        return message


def _signature(token: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
    """WeCom's msg_signature: SHA-1 of the sorted token, timestamp, nonce and ciphertext."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest().encode()  # noqa: S324 - WeCom's scheme


def reply_text(reply: Reply) -> str:
    """A chat reply as WeCom text: its plain form, link buttons written out."""
    text = reply.words
    links = [f"{b.label}：{b.url}" for row in reply.buttons for b in row if b.url]
    return "\n".join([text, *links])


class _TimedSession(requests.Session):
    """A requests session that gives every request a timeout (wechatpy's token fetch has none)."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(*args, **kwargs)


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client with the token endpoint under API_BASE_URL too, and a timeout
    on every call, the token fetch included.

    wechatpy fixes the gettoken URL to qyapi.weixin.qq.com; a private deployment of WeCom or
    the fake API in tests needs every call, the token included, on one base URL.
    """

    def __init__(self, *args: Any, timeout: float | tuple[float, float], **kwargs: Any) -> None:
        super().__init__(*args, timeout=timeout, **kwargs)
        self._http = _TimedSession(timeout)

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self.corp_id!r}, api={self.API_BASE_URL!r})"


DEDUPE_SECONDS = 1800  # WeCom's duplicate check window for app messages (its maximum: 4 h)
API_TIMEOUT = (5.0, 10.0)  # seconds to connect, to read an answer: no call waits for ever


def make_client(
    corp_id: str,
    secret: str,
    api_url: str,
    session: Any = None,
    timeout: float | tuple[float, float] = API_TIMEOUT,
) -> WeChatClient:
    """A wechatpy WeCom client whose API calls go to `api_url` (WeCom's, or a fake in tests).

    Every call has a timeout, and wechatpy's own retry on an expired token is off: the
    channel refreshes the token once itself, so a platform that keeps refusing tokens costs
    one token fetch per message, not a loop of them."""
    client = _Client(corp_id, secret, session=session, timeout=timeout, auto_retry=False)
    client.API_BASE_URL = api_url.rstrip("/") + "/cgi-bin/"
    return client


@dataclass
class WeComChannel:
    """App messages to members: errcode checked, token refreshed, limits kept, :00/:30 avoided."""

    client: WeChatClient
    agent_id: str
    clock: Callable[[], dt.datetime]
    name: str = CHANNEL
    capabilities: Capabilities = APP_MESSAGES
    rate_per_second: float | None = 10.0
    per_member: bool = True  # WeCom: 30 messages/min to one member
    daily_cap: int = 10_000  # the app's daily message cap (set from the admin console's figure)
    _limit: PerAddress = field(  # 30 messages/min to one member
        default_factory=lambda: PerAddress(lambda _: 2.0), init=False, repr=False
    )
    _sent_today: tuple[dt.date, int] = field(default=(dt.date.min, 0), init=False, repr=False)

    async def reply(self, address: str, text: str) -> SendResult:
        """An answer to a member's own message: sent at once, whatever the minute."""
        return await asyncio.to_thread(self._send_parts, address, text, False)

    async def send(self, address: str, text: str) -> SendResult:
        """Send one part of a reminder (the dispatcher splits to `capabilities`)."""
        now = self.clock()
        local = now.astimezone(SHANGHAI)
        if local.minute in (0, 30):
            wait = 60 - local.second  # WeCom asks senders to avoid the top and half of the hour
            return SendResult(RETRY_AFTER, retry_after=float(wait), detail="avoiding :00/:30")
        day, count = self._sent_today
        if day != local.date():
            day, count = local.date(), 0
        if count >= self.daily_cap:
            midnight = dt.datetime.combine(
                local.date() + dt.timedelta(days=1), dt.time(0, 5), tzinfo=local.tzinfo
            )
            return SendResult(
                RETRY_AFTER, retry_after=(midnight - local).total_seconds(), detail="daily cap"
            )
        if self.per_member:
            async with self._limit(address):
                result = await asyncio.to_thread(self._send, address, text, True)
        else:
            result = await asyncio.to_thread(self._send, address, text, True)
        if result.status == OK:
            self._sent_today = (day, count + 1)
        return result

    def _send_parts(self, address: str, text: str, dedupe: bool) -> SendResult:
        """Send a text in parts WeCom will not cut; stop at the first part that fails.

        With `dedupe` (reminders), WeCom drops a repeat of the same message to the same
        member within 30 minutes, so a resend after a lost answer cannot say it twice."""
        for number, part in enumerate(self.capabilities.split(text)):
            result = self._send(address, part, dedupe)
            if result.status != OK:
                return part_failed(number, result)
        return SendResult(OK)

    def _send(self, address: str, text: str, dedupe: bool = False) -> SendResult:
        msg: dict[str, Any] = {"msgtype": "text", "text": {"content": text}, "safe": 0}
        if dedupe:
            msg |= {"enable_duplicate_check": 1, "duplicate_check_interval": DEDUPE_SECONDS}
        for attempt in range(2):
            try:
                answer = self.client.message.send(self.agent_id, address, msg=msg)
            except WeChatClientException as exc:
                code = int(exc.errcode or 0)
                if code in TOKEN_ERRORS and attempt == 0:
                    self.client.fetch_access_token()  # refresh and retry once
                    continue
                if code in GONE:
                    return SendResult(PERMANENT, detail=f"errcode {code}: {exc.errmsg}")
                if code in RETRY_LATER:
                    return SendResult(
                        RETRY_AFTER, retry_after=60.0, detail=f"errcode {code}: {exc.errmsg}"
                    )
                return SendResult(TRANSIENT, detail=f"errcode {code}: {exc.errmsg}")
            except Exception as exc:  # network errors from requests
                return SendResult(TRANSIENT, detail=f"{type(exc).__name__}")
            if isinstance(answer, dict) and answer.get("invaliduser"):
                return SendResult(PERMANENT, detail=f"invaliduser {answer['invaliduser']}")
            return SendResult(OK)
        return SendResult(TRANSIENT, detail="access token refused twice")


@dataclass(frozen=True)
class Robot:
    """A group robot webhook and the categories its group wants (empty: all)."""

    url: str
    categories: tuple[str, ...]

    @property
    def address(self) -> str:
        """A stable name for the robot that does not reveal its key."""
        return "robot-" + hashlib.sha256(self.url.encode()).hexdigest()[:12]


def parse_robots(values: tuple[str, ...], categories: tuple[str, ...]) -> list[Robot]:
    """`URL#cat1+cat2` entries (from HUIQI_WECOM_ROBOT_WEBHOOK) as robots."""
    robots = []
    for value in values:
        url, _, wanted = value.partition("#")
        chosen = tuple(c for c in wanted.split("+") if c) or categories
        unknown = [c for c in chosen if c not in categories]
        if unknown:
            accepted, bad = ", ".join(categories), ", ".join(unknown)
            raise ValueError(
                f"HUIQI_WECOM_ROBOT_WEBHOOK: unknown categories {bad}; accepted: {accepted}"
            )
        robots.append(Robot(url, chosen))
    return robots


@dataclass
class RobotChannel:
    """Group robots: markdown messages, 20 per minute per robot, errcode checked."""

    robots: dict[str, str]  # address -> webhook URL
    client: httpx.AsyncClient
    name: str = ROBOT_CHANNEL
    capabilities: Capabilities = ROBOT_MESSAGES
    rate_per_second: float | None = None
    limits: PerAddress = field(  # 20 messages/min to one robot
        default_factory=lambda: PerAddress(lambda _: 3.0), repr=False
    )

    def __repr__(self) -> str:  # the webhook URLs carry the robots' keys
        return f"RobotChannel(robots={sorted(self.robots)!r})"

    async def send(self, address: str, text: str) -> SendResult:
        url = self.robots.get(address)
        if url is None:
            return SendResult(PERMANENT, detail="robot no longer configured")
        async with self.limits(address):
            return await self._post(url, text)

    async def _post(self, url: str, content: str) -> SendResult:
        try:
            response = await self.client.post(
                url, json={"msgtype": "markdown", "markdown": {"content": content}}
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return SendResult(TRANSIENT, detail=type(exc).__name__)
        code = int(body.get("errcode", -1)) if isinstance(body, dict) else -1
        if code == 0:
            return SendResult(OK)
        if code in (45009, -1):
            return SendResult(RETRY_AFTER, retry_after=60.0, detail=f"errcode {code}")
        if code in (93000, 40008, 93004):  # invalid webhook key, bad type, robot removed
            return SendResult(PERMANENT, detail=f"errcode {code}: {body.get('errmsg', '')}")
        return SendResult(TRANSIENT, detail=f"errcode {code}: {body.get('errmsg', '')}")


async def handle_message(
    service: ChatService, channel: WeComChannel, message: Any, admins: tuple[str, ...]
) -> None:
    """Answer one member's message with app messages (run in the background)."""
    user = str(getattr(message, "source", ""))
    kind = getattr(message, "type", "")
    if not user:
        return
    if kind == "text":
        text = str(message.content)
    elif kind == "event" and getattr(message, "event", "") == "subscribe":
        text = "帮助"  # a member who just followed the app gets the help
    elif kind == "event":
        return  # entering the app, location reports, menu views: nothing to answer
    else:
        await channel.reply(user, "目前只能看懂文字命令。发送“帮助”查看可用的命令。")
        return
    who = Who(CHANNEL, user, user, user, group=False, admin=is_admin(CHANNEL, user, admins))
    try:
        replies = await asyncio.to_thread(service.handle_text, who, text)
    except Exception:
        log.exception("wecom chat handler failed")
        replies = [Reply("抱歉，处理时出错了，请稍后再试。")]
    for reply in replies:
        result = await channel.reply(user, reply_text(reply))
        if result.status != OK:
            log.warning("wecom reply to %s not sent: %s", user, result.detail)
