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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import requests
from wechatpy import events
from wechatpy.enterprise import WeChatClient, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.events import register_event
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException
from wechatpy.fields import IntegerField, StringField

from bot.chat import (
    ChatService,
    Reply,
    Who,
    is_admin,
)
from bot.chat.answers import LATER
from schedulers import (
    ANSWER_WORDS,
    OK,
    PERMANENT,
    RETRY_AFTER,
    SHANGHAI,
    TRANSIENT,
    Action,
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


# App messages are text; a reminder's answers follow it as a card with buttons.
APP_MESSAGES = Capabilities(limit=TEXT_BYTES, utf8=True, buttons=True, commands="typed")
ROBOT_MESSAGES = Capabilities(limit=MARKDOWN_BYTES, utf8=True, markup="markdown")


@register_event("template_card_event")
class TemplateCardEvent(events.BaseEvent):  # type: ignore[misc]
    """A press of a button on a card the app sent (WeCom's 模板卡片事件推送), which wechatpy
    does not know: the button's key, the card's task id, and the code that updates it."""

    event = "template_card_event"
    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey")
    task = StringField("TaskId")
    card_type = StringField("CardType")
    response_code = StringField("ResponseCode")


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
        key = _message_key(message, body)
        if not self.seen.first_sighting(f"wecom:{key}", now=now, window=2 * MAX_AGE):
            raise CallbackError(f"replayed message {key}")
        return message


def _message_key(message: Any, body: bytes) -> str:
    """What identifies a callback when WeCom sends it again: the MsgId of a message; for an
    event (which has none), who sent it, when, and what (WeCom's advice: FromUserName and
    CreateTime), so a retried button press re-encrypted with fresh padding is still known."""
    if getattr(message, "id", None):
        return str(message.id)
    if getattr(message, "type", "") == "event":
        sent = getattr(message, "create_time", None)
        stamp = int(sent.timestamp()) if isinstance(sent, dt.datetime) else 0
        what = ":".join(str(getattr(message, f, "") or "") for f in ("event", "key", "task"))
        return f"event:{message.source}:{stamp}:{what}"
    return hashlib.sha256(body).hexdigest()


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
class DailyCap:
    """A platform's messages-per-day cap, counted in Ezhou's day: past it, sends wait until
    00:05 the next day."""

    cap: int
    clock: Callable[[], dt.datetime]
    _sent: tuple[dt.date, int] = field(default=(dt.date.min, 0), repr=False)

    def reached(self) -> SendResult | None:
        """The wait until tomorrow when today's cap is spent, else None."""
        local = self.clock().astimezone(SHANGHAI)
        day, count = self._sent
        if day != local.date() or count < self.cap:
            return None
        tomorrow = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), dt.time(0, 5), tzinfo=local.tzinfo
        )
        return SendResult(
            RETRY_AFTER, retry_after=(tomorrow - local).total_seconds(), detail="daily cap"
        )

    def count(self) -> None:
        """One more message sent today."""
        today = self.clock().astimezone(SHANGHAI).date()
        day, count = self._sent
        self._sent = (today, count + 1 if day == today else 1)


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
    _today: DailyCap = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._today = DailyCap(self.daily_cap, self.clock)

    async def reply(self, address: str, text: str) -> SendResult:
        """An answer to a member's own message: sent at once, whatever the minute."""
        return await asyncio.to_thread(self._send_parts, address, text, False)

    async def send(self, address: str, text: str) -> SendResult:
        """Send one part of a reminder (the dispatcher splits to `capabilities`)."""
        local = self.clock().astimezone(SHANGHAI)
        if local.minute in (0, 30):
            wait = 60 - local.second  # WeCom asks senders to avoid the top and half of the hour
            return SendResult(RETRY_AFTER, retry_after=float(wait), detail="avoiding :00/:30")
        return await self._deliver(address, {"msgtype": "text", "text": {"content": text}})

    async def _deliver(self, address: str, msg: dict[str, Any]) -> SendResult:
        """One app message within the daily cap and the member's pace, counted when sent."""
        waiting = self._today.reached()
        if waiting is not None:
            return waiting
        if self.per_member:
            async with self._limit(address):
                result = await asyncio.to_thread(self._post, address, msg, True)
        else:
            result = await asyncio.to_thread(self._post, address, msg, True)
        if result.status == OK:
            self._today.count()
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
        return self._post(address, {"msgtype": "text", "text": {"content": text}}, dedupe)

    def _post(self, address: str, msg: dict[str, Any], dedupe: bool) -> SendResult:
        """Send one app message (text or card) to a member; WeCom's answer as a result."""
        msg = msg | {"safe": 0}
        if dedupe:
            msg |= {"enable_duplicate_check": 1, "duplicate_check_interval": DEDUPE_SECONDS}
        answer, failed = self._api(
            lambda: self.client.message.send(self.agent_id, address, msg=msg)
        )
        if failed is not None:
            return failed
        if isinstance(answer, dict) and answer.get("invaliduser"):
            return SendResult(PERMANENT, detail=f"invaliduser {answer['invaliduser']}")
        return SendResult(OK)

    def _api(self, call: Callable[[], Any]) -> tuple[Any, SendResult | None]:
        """One API call, the access token refreshed once when WeCom refuses it: (its answer,
        None), or (None, the failure as a result)."""
        for attempt in range(2):
            try:
                return call(), None
            except WeChatClientException as exc:
                code = int(exc.errcode or 0)
                if code in TOKEN_ERRORS and attempt == 0:
                    self.client.fetch_access_token()  # refresh and retry once
                    continue
                return None, _refused(code, str(exc.errmsg))
            except Exception as exc:  # network errors from requests
                return None, SendResult(TRANSIENT, detail=f"{type(exc).__name__}")
        return None, SendResult(TRANSIENT, detail="access token refused twice")

    async def send_actions(self, address: str, text: str, actions: Sequence[Action]) -> SendResult:
        """Send one part, then its answers as a card with buttons (WeCom's text messages have
        none). The reminder is the text: a card that does not go out costs only the buttons
        (the text says how to answer in words)."""
        result = await self.send(address, text)
        if result.status != OK or not actions:
            return result
        sent = await self._deliver(address, answer_card(text, actions))
        if sent.status != OK:
            log.warning("wecom answer card to %s not sent: %s", address, sent.detail)
            return SendResult(OK, detail=f"按钮卡片未发出：{sent.detail}")
        return result

    async def mark_card(self, address: str, response_code: str, label: str) -> SendResult:
        """Show on a pressed card what was chosen: its buttons give way to `label`."""
        body = {
            "userids": [address],
            "agentid": int(self.agent_id) if self.agent_id.isdigit() else self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": label},
        }
        return await asyncio.to_thread(self._update_card, body)

    def _update_card(self, body: dict[str, Any]) -> SendResult:
        _, failed = self._api(lambda: self.client.post("message/update_template_card", data=body))
        return failed or SendResult(OK)


def _refused(code: int, message: str) -> SendResult:
    """WeCom's errcode as a result."""
    if code in GONE:
        return SendResult(PERMANENT, detail=f"errcode {code}: {message}")
    if code in RETRY_LATER:
        return SendResult(RETRY_AFTER, retry_after=60.0, detail=f"errcode {code}: {message}")
    return SendResult(TRANSIENT, detail=f"errcode {code}: {message}")


CARD_TITLE = 36  # WeCom's card title: at most this many characters are shown
ANSWER_STYLE = {"applied": 1, "not_interested": 4, "later": 4}  # blue, grey, grey


def answer_card(text: str, actions: Sequence[Action]) -> dict[str, Any]:
    """The answers to a reminder as a WeCom button card: its first line as the title, one
    button an answer; a press comes back as a template_card_event with the button's key.

    The task id is the reminder's row and text, so a resend of the same reminder is the
    same card (WeCom refuses a task id twice) rather than a second one."""
    title = text.strip().split("\n", 1)[0].strip() or "政策申报提醒"
    if len(title) > CARD_TITLE:
        title = title[: CARD_TITLE - 1] + "…"
    row = actions[0].data.rsplit(":", 1)[-1]
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": title, "desc": "请告知办理情况"},
            "sub_title_text": f"已申报、不感兴趣：本批次不再提醒；稍后提醒：{LATER}个工作日后",
            "task_id": f"huiqi-{row}-{digest}",
            "button_list": [
                {"text": ANSWER_WORDS[a.code], "style": ANSWER_STYLE[a.code], "key": a.data}
                for a in actions
            ],
        },
    }


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
    who = Who(CHANNEL, user, user, user, group=False, admin=is_admin(CHANNEL, user, admins))
    if isinstance(message, TemplateCardEvent):
        await _pressed(service, channel, who, message)
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
    try:
        replies = await asyncio.to_thread(service.handle_text, who, text)
    except Exception:
        log.exception("wecom chat handler failed")
        replies = [Reply("抱歉，处理时出错了，请稍后再试。")]
    await _answer(channel, user, replies)


async def _pressed(
    service: ChatService, channel: WeComChannel, who: Who, event: TemplateCardEvent
) -> None:
    """A card button pressed: the answer taken, the card showing it, the reply as text."""
    try:
        replies = await asyncio.to_thread(service.handle_button, who, str(event.key or ""))
    except Exception:
        log.exception("wecom card handler failed")
        replies = [Reply("抱歉，处理时出错了，请稍后再试。")]
    label = next((r.pressed for r in replies if r.pressed), None)
    if label and event.response_code:
        result = await channel.mark_card(who.user, str(event.response_code), label)
        if result.status != OK:
            log.warning("wecom card of %s not updated: %s", who.user, result.detail)
    await _answer(channel, who.user, replies)


async def _answer(channel: WeComChannel, user: str, replies: list[Reply]) -> None:
    for reply in replies:
        result = await channel.reply(user, reply_text(reply))
        if result.status != OK:
            log.warning("wecom reply to %s not sent: %s", user, result.detail)
