"""What huiqi says in a chat: one service for every channel (Telegram, WeCom, and next ones).

Handlers stay thin: they turn an update into (who, text) or (who, button data), call this
service, and send the replies. Each feature (registration, matching, calendar, reminder
settings, admin) answers its own commands; one table, built once, says which answers which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot._commands import COMMAND_WORDS, Command, parse_command
from bot._service import World
from bot._views import environment
from bot.chat import admin, registration
from bot.chat._talk import ButtonHandler, Handler, Reply, Talk, Who
from bot.chat.admin import Admin
from bot.chat.answers import Answers
from bot.chat.calendar import Calendar
from bot.chat.matching import Matching
from bot.chat.registration import Registration
from bot.chat.reminders import Reminders
from subscriptions.store import Store


class ChatService(Talk):
    """Registration, matching, rounds, calendar links and reminder settings, in Chinese."""

    def __init__(
        self,
        world: World,
        store: Store,
        *,
        clock: Callable[[], dt.datetime],
        public_url: str,
        bot_username: str | None = None,
    ) -> None:
        super().__init__(world, store, clock, public_url.rstrip("/"), environment(), bot_username)
        shared = (self.world, self.store, self.clock, self.public_url, self.env, bot_username)
        self.registration = Registration(*shared)
        features: list[Talk] = [
            self.registration,
            Matching(*shared),
            Calendar(*shared),
            Reminders(*shared),
            Admin(*shared),
            Answers(*shared),
        ]
        own: dict[str, Handler] = {
            "start": self.start,
            "help": self.help,
            "text": self.help,
            "unknown": lambda who, cmd: self.tell(who, "unknown_command") + self.help(who, cmd),
            "cancel": self.cancel,
        }
        self.table: dict[str, Handler] = dict(own)
        self.button_handlers: dict[str, ButtonHandler] = {}
        for feature in features:
            for name, handler in feature.commands().items():
                if name in self.table:
                    raise ValueError(f"two features answer the command {name!r}")
                self.table[name] = handler
            for prefix, pressed in feature.buttons().items():
                if prefix in self.button_handlers:
                    raise ValueError(f"two features answer the buttons {prefix!r}")
                self.button_handlers[prefix] = pressed
        missing = set(COMMAND_WORDS) - set(self.table)
        if missing:
            raise ValueError(f"commands without an answer: {sorted(missing)}")

    def handle_text(self, who: Who, text: str) -> list[Reply]:
        """Answer a message."""
        cmd = parse_command(text)
        if cmd.name in ("text", "unknown"):
            draft = self.registration.in_progress(who)
            if draft is not None:  # the answer to the guided registration's question
                return self.registration.answer(who, draft, cmd.text)
        return self.table[cmd.name](who, cmd)

    def handle_button(self, who: Who, data: str) -> list[Reply]:
        """Answer an inline-button press."""
        prefix, _, value = data.partition(":")
        pressed = self.button_handlers.get(prefix)
        if pressed is None:
            return self.tell(who, "stale_button")
        return pressed(who, value)

    def start(self, who: Who, cmd: Command) -> list[Reply]:
        """/start, and /start register from a group's 私聊继续登记 link."""
        if cmd.args and cmd.args[0] == "register":
            return self.registration.register(who, Command("register"))
        if cmd.args and cmd.args[0].startswith("join-"):  # t.me/<bot>?start=join-CODE
            return self.registration.bind(who, Command("bind", (cmd.args[0][5:],)))
        return self.help(who, cmd)

    def help(self, who: Who, cmd: Command) -> list[Reply]:
        return self.say(who, "help_text" if who.typed else "help")

    def cancel(self, who: Who, cmd: Command) -> list[Reply]:
        """取消: ends the chat's conversation in progress, whichever it is."""
        taken = self.store.chats.take_draft(who.channel, who.chat)
        if taken is not None and taken.kind == registration.KIND:
            return self.tell(who, "cancelled_registration")
        if taken is not None and taken.kind == admin.KIND:
            return self.tell(who, "cancelled_announcement")
        return self.tell(who, "nothing_to_cancel")
