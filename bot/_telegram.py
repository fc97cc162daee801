"""The Telegram face: python-telegram-bot's Application around the chat service, and the sender.

All traffic goes to `HUIQI_TELEGRAM_API_URL` (Telegram's Bot API by default; a self-hosted
Bot API server, or the fake one in the tests).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.chat import ChatService, Reply, Who, is_admin
from schedulers import (
    ANSWER_WORDS,
    MIGRATE,
    OK,
    PERMANENT,
    REJECTED,
    RETRY_AFTER,
    TRANSIENT,
    UNCERTAIN,
    Action,
    Capabilities,
    SendResult,
)
from schedulers.dispatch import PerAddress

log = logging.getLogger("huiqi.telegram")

App = Application[Any, Any, Any, Any, Any, Any]

CHANNEL = "telegram"
# Reminders go out as plain text; chat replies as HTML, with inline buttons.
CAPABILITIES = Capabilities(limit=4096, markup="text", buttons=True, commands="slash")
CAPTION_LIMIT = 1024  # a photo's caption, in characters
SHOWN = "ans:shown"  # the button that shows an answer already given: pressing it does nothing


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, callback_data=b.data)
                if b.data
                else InlineKeyboardButton(b.label, url=b.url)
                for b in row
            ]
            for row in reply.buttons
        ]
    )


def _who(update: Update, admins: Sequence[str]) -> Who | None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    display = chat.title or user.full_name or f"Telegram用户{user.id}"
    admin = is_admin(CHANNEL, str(user.id), admins)
    return Who(
        CHANNEL,
        str(chat.id),
        str(user.id),
        display,
        group=chat.type != "private",
        admin=admin,
        buttons=CAPABILITIES.buttons,
    )


async def send_replies(
    app: App, chat_id: int | str, replies: Sequence[Reply], service: ChatService
) -> None:
    """Send the service's replies: HTML text in parts within Telegram's limit (the buttons
    under the last), a photo where there is one (its caption within the caption limit)."""
    for reply in replies:
        if reply.photo is not None and len(reply.text) <= CAPTION_LIMIT:
            await app.bot.send_photo(
                chat_id,
                reply.photo,
                caption=reply.text,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(reply),
            )
            continue
        if reply.photo is not None:
            await app.bot.send_photo(chat_id, reply.photo)
        parts = CAPABILITIES.split(reply.text)
        for number, part in enumerate(parts, start=1):
            await app.bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(reply) if number == len(parts) else None,
                disable_web_page_preview=True,
            )


def build_application(
    token: str,
    api_url: str,
    service: ChatService,
    admins: Sequence[str],
    *,
    polling: bool = False,
) -> App:
    """The PTB Application: one text handler and one button handler, both thin."""
    base = api_url.rstrip("/")
    builder = (
        ApplicationBuilder().token(token).base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    )
    if not polling:
        builder = builder.updater(None)  # updates arrive through the webhook route or the tests
    app = builder.build()

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        who = _who(update, admins)
        message = update.effective_message
        if who is None or message is None or message.text is None:
            return
        if who.group and not who.admin:
            member = await context.bot.get_chat_member(int(who.chat), int(who.user))
            if member.status in ("administrator", "creator"):
                # A group's admin manages that group's subscription; only HUIQI_ADMINS
                # speak for the bureau (announcements, rounds, statistics).
                who = replace(who, group_admin=True)
        try:
            # Off the event loop: a registration matches and plans, which takes database time.
            replies = await asyncio.to_thread(service.handle_text, who, message.text)
        except Exception:  # a bug must not leave the user without an answer
            log.exception("chat handler failed")
            replies = [Reply("抱歉，处理时出错了，请稍后再试。")]
        await send_replies(app, who.chat, replies, service)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        who = _who(update, admins)
        if query is None or who is None:
            return
        await query.answer()
        try:
            replies = await asyncio.to_thread(service.handle_button, who, query.data or "")
        except Exception:
            log.exception("button handler failed")
            replies = [Reply("抱歉，处理时出错了，请稍后再试。")]
        label = next((r.pressed for r in replies if r.pressed), None)
        if label is not None:  # the answer was taken: the buttons give way to the choice
            shown = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=SHOWN)]])
            try:
                await query.edit_message_reply_markup(reply_markup=shown)
            except TelegramError as exc:
                log.warning("buttons of a reminder not updated: %s", type(exc).__name__)
        await send_replies(app, who.chat, replies, service)

    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


@dataclass
class TelegramChannel:
    """The dispatcher's Telegram sender: plain text, Telegram's errors mapped to results."""

    app: App
    name: str = CHANNEL
    capabilities: Capabilities = CAPABILITIES
    rate_per_second: float | None = 25.0  # under Telegram's ~30 messages/s overall
    per_chat: bool = True  # Telegram: about 1 message/s per chat, 20/min per group
    # 1 message/s to a person, 20/min to a group (group chat ids are negative).
    _limit: PerAddress = field(
        default_factory=lambda: PerAddress(lambda a: 3.0 if a.startswith("-") else 1.0),
        init=False,
        repr=False,
    )

    def __repr__(self) -> str:
        return f"TelegramChannel(name={self.name!r}, rate_per_second={self.rate_per_second!r})"

    async def send(self, address: str, text: str) -> SendResult:
        """Send one part (the dispatcher splits to `capabilities`), within the chat's limit."""
        return await self.send_actions(address, text, ())

    async def send_actions(self, address: str, text: str, actions: Sequence[Action]) -> SendResult:
        """Send one part with the answers it offers as inline buttons under it."""
        markup = None
        if actions:
            row = [
                InlineKeyboardButton(ANSWER_WORDS[a.code], callback_data=a.data) for a in actions
            ]
            markup = InlineKeyboardMarkup([row])
        if not self.per_chat:
            return await self._send(address, text, markup)
        async with self._limit(address):
            return await self._send(address, text, markup)

    async def _send(
        self, address: str, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> SendResult:
        try:
            with warnings.catch_warnings():
                # PTB 22 warns (when building RetryAfter) that retry_after becomes a
                # timedelta in its next major version; both forms are handled below.
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                await self.app.bot.send_message(
                    address, text, disable_web_page_preview=True, reply_markup=markup
                )
        except RetryAfter as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            return SendResult(
                RETRY_AFTER, retry_after=seconds, detail=f"429 retry after {seconds:g}s"
            )
        except ChatMigrated as exc:  # a group became a supergroup with a new id
            return SendResult(
                MIGRATE, new_address=str(exc.new_chat_id), detail=f"迁移到 {exc.new_chat_id}"
            )
        except InvalidToken:  # the bot token was revoked or mistyped: no message can go out
            return SendResult(
                TRANSIENT, detail="Telegram 拒绝了机器人令牌（InvalidToken）", channel_down=True
            )
        except Forbidden as exc:
            return SendResult(PERMANENT, detail=f"403 {exc.message}")
        except BadRequest as exc:
            if "chat not found" in exc.message.lower() or "deactivated" in exc.message.lower():
                return SendResult(PERMANENT, detail=f"400 {exc.message}")
            return SendResult(REJECTED, detail=f"400 {exc.message}")  # resending cannot help
        except TimedOut as exc:
            if isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
                return SendResult(TRANSIENT, detail="TimedOut: 未连上 Telegram", channel_down=True)
            # The request was sent; Telegram may have delivered it (the Bot API has no
            # idempotency key), so it is not sent again.
            return SendResult(UNCERTAIN, detail="TimedOut: 已发出但未收到应答")
        except NetworkError as exc:
            return SendResult(TRANSIENT, detail=f"NetworkError: {exc.message}", channel_down=True)
        except TelegramError as exc:
            return SendResult(TRANSIENT, detail=f"{type(exc).__name__}: {exc.message}")
        return SendResult(OK)
