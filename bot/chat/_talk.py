"""What every chat feature shares: who wrote, what goes back, and the plumbing to answer.

Each reply is rendered twice from its template: with Telegram's HTML (every user-supplied
string escaped, `.html.j2`) and without markup, commands written as typed words (WeCom,
WeChat).
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from bot._commands import COMMAND_WORDS, USAGE, Command
from bot._service import World
from schedulers import local_date
from subscriptions.store import Enterprise, Store

DRAFT_LIFETIME = dt.timedelta(days=1)  # a conversation left longer than this starts over


@dataclass(frozen=True)
class Button:
    """An inline button: callback data, or a URL."""

    label: str
    data: str | None = None
    url: str | None = None


Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """One answer, as each kind of channel shows it: `text` in Telegram's HTML and `plain`
    for channels without markup (commands as the words typed there); its actions (buttons),
    and a photo where there is one. The channel splits it to its own limit."""

    text: str
    buttons: Buttons = ()
    photo: bytes | None = None
    plain: str | None = None  # None: `text` has no markup and nothing escaped
    # What the pressed button now reads, when a press was taken (a WeCom card is updated to
    # show it, a Telegram message's buttons give way to it).
    pressed: str | None = None

    @property
    def words(self) -> str:
        """The answer for a channel without markup."""
        return self.text if self.plain is None else self.plain

    @classmethod
    def joined(cls, replies: Sequence[Reply]) -> Reply:
        """Several answers as one message, a line each (their buttons are not kept)."""
        return cls("\n".join(r.text for r in replies), plain="\n".join(r.words for r in replies))


@dataclass(frozen=True)
class Who:
    """Who wrote: the chat (where to answer) and the person."""

    channel: str
    chat: str
    user: str
    display: str
    group: bool = False
    admin: bool = False  # one of HUIQI_ADMINS: speaks for the bureau
    group_admin: bool = False  # administers this group: may only (un)subscribe the group
    buttons: bool = False  # the channel declares inline buttons (Capabilities.buttons)

    @property
    def typed(self) -> bool:
        """The chat has no buttons (WeCom, WeChat): every command is a typed word."""
        return not self.buttons


def is_admin(channel: str, user: str, admins: Sequence[str]) -> bool:
    """Whether `user` of `channel` is one of HUIQI_ADMINS (`tg:ID`, `wecom:USERID`).

    WeCom user ids are case-insensitive (the admin console shows them as typed).
    """
    prefix = {"telegram": "tg", "wecom": "wecom"}.get(channel, channel)
    wanted = f"{prefix}:{user}".casefold()
    return any(a.casefold() == wanted for a in admins)


# Each slash command as the word a WeCom or WeChat user types: its first Chinese name.
TYPED_WORDS = {name: words[1] for name, words in COMMAND_WORDS.items() if words[0].isascii()}


def _commands_of(who: Who) -> Callable[[str], str]:
    """How this chat writes a command: /register with buttons, 注册 where commands are typed."""
    if who.typed:
        return lambda name: TYPED_WORDS[name]
    return lambda name: f"/{name}"


# A handler answers one command of one chat.
Handler = Callable[[Who, Command], list[Reply]]
# A button handler answers a press, with the data after the button's prefix.
ButtonHandler = Callable[[Who, str], list[Reply]]


@dataclass
class Talk:
    """The world, the store and the clock a feature answers from, and how it says things."""

    world: World
    store: Store
    clock: Callable[[], dt.datetime]
    public_url: str
    env: Environment
    bot_username: str | None = None
    phrases: str = "common"  # the file of this feature's phrases in templates/chat/phrases

    def commands(self) -> dict[str, Handler]:
        """The commands this feature answers, by name (the names of `COMMAND_WORDS`)."""
        return {}

    def buttons(self) -> dict[str, ButtonHandler]:
        """The buttons this feature answers, by the prefix of their data (`reg:…`)."""
        return {}

    def say(self, who: Who, template: str, buttons: Buttons = (), **ctx: Any) -> list[Reply]:
        """A reply from `templates/chat/<template>.html.j2`, rendered once with HTML markup
        and once without (`templates/chat/_format.*.j2`); autoescaping is undone for the
        plain form, which never had tags. Commands are written as the chat takes them."""
        found = self.env.get_template(f"chat/{template}.html.j2")
        ctx |= {"typed": who.typed, "cmd": _commands_of(who)}
        html = found.render(fmt_template="chat/_format.html.j2", **ctx).strip()
        bare = found.render(fmt_template="chat/_format.txt.j2", **ctx).strip()
        return [Reply(html, buttons, plain=htmllib.unescape(bare))]

    def tell(self, who: Who, phrase: str, buttons: Buttons = (), **args: Any) -> list[Reply]:
        """A short reply: the macro `phrase` of `templates/chat/phrases/<feature>.txt.j2`
        (`common` where the feature has no such phrase), escaped for Telegram's HTML."""
        ctx = {"typed": who.typed, "cmd": _commands_of(who), "usage": USAGE}
        for name in (self.phrases, "common"):
            module = self.env.get_template(f"chat/phrases/{name}.txt.j2").make_module(ctx)
            macro = getattr(module, phrase, None)
            if macro is not None:
                text = str(macro(**args))
                return [Reply(htmllib.escape(text, quote=False), buttons, plain=text)]
        raise LookupError(f"no phrase {phrase!r} for {self.phrases}")

    def command(self, who: Who, name: str) -> str:
        """How this chat writes the command `name` (/remind, or 提醒设置 where typed)."""
        return _commands_of(who)(name)

    def subscriber(self, who: Who) -> int:
        """The chat's subscriber id (made on first contact)."""
        return self.store.registry.subscriber(
            who.channel, who.chat, display_name=who.display, now=self.clock()
        )

    def today(self) -> dt.date:
        """Today in Ezhou."""
        return local_date(self.clock())

    def registered(self, who: Who) -> Enterprise | None:
        """The enterprise the chat registered, if any."""
        return self.store.registry.registration(self.subscriber(who))

    def own(self, who: Who) -> Enterprise | list[Reply]:
        """The chat's registration, or the reply that refuses: in a group (enterprise details
        stay private), or before the chat has registered."""
        refused = self.private_only(who)
        if refused:
            return refused
        found = self.registered(who)
        return self.not_registered(who) if found is None else found

    def not_registered(self, who: Who) -> list[Reply]:
        """The answer to a command that needs a registration first."""
        return self.tell(who, "not_registered")

    def private_only(self, who: Who) -> list[Reply] | None:
        """A refusal in a group (enterprise details stay in private chats), else None."""
        if not who.group:
            return None
        buttons: Buttons = ()
        if self.bot_username:
            url = f"https://t.me/{self.bot_username}?start=register"
            buttons = ((Button("私聊继续登记", url=url),),)
        return self.tell(who, "private_only", buttons)

    def draft(self, who: Who, kind: str) -> dict[str, Any] | None:
        """The chat's conversation of `kind` in progress, unless it was left too long ago."""
        found = self.store.chats.draft(who.channel, who.chat)
        if found is None or found.kind != kind:
            return None
        if self.clock() - found.updated_at > DRAFT_LIFETIME:
            self.store.chats.take_draft(who.channel, who.chat, kind)
            return None
        return found.data
