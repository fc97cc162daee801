"""What huiqi says in a chat: one service for every channel (Telegram now, WeCom next).

Handlers stay thin: they turn an update into (who, text) or (who, button data), call this
service, and send the replies. Replies are Telegram-style HTML with every user-supplied
string escaped by the templates (autoescape); other channels strip the tags.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import segno

from bot._commands import (
    COMMAND_WORDS,
    FIELD_WORDS,
    USAGE,
    Command,
    parse_command,
    profile_from_fields,
)
from bot._service import (
    ANNOUNCEMENT_MAX_CHARS,
    World,
    add_round,
    replan,
    sync_rounds,
    upcoming,
)
from bot._views import environment
from schedulers import local_date, next_round, split_long
from subscriptions import (
    ELIGIBLE,
    INELIGIBLE,
    POSSIBLE,
    SIZE_NAMES,
    Context,
    ProfileError,
    classify,
    match,
    match_all,
    normalize_industry,
    parse_profile,
)
from subscriptions.store import Store

log = logging.getLogger("huiqi.chat")

PAGE = 5
ANNOUNCE_CONFIRM_WITHIN = dt.timedelta(minutes=10)
# How the admin is told where an announcement goes.
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "wecom": "企业微信",
    "wecom-robot": "企业微信群机器人",
    "webhook": "Webhook",
    "console": "控制台",
}
LIMIT = 4000  # below Telegram's 4,096 characters


@dataclass(frozen=True)
class Button:
    """An inline button: callback data, or a URL."""

    label: str
    data: str | None = None
    url: str | None = None


ROTATE_BUTTON = ((Button("更换链接（旧链接失效）", data="cal:rotate"),),)


@dataclass(frozen=True)
class Reply:
    """One message to send back."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: bytes | None = None


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


@dataclass
class Draft:
    """A guided registration in progress."""

    step: str = "name"
    profile: dict[str, Any] = field(default_factory=dict)
    section: str | None = None


# Each slash command as the word a WeCom or WeChat user types: its first Chinese name.
TYPED_WORDS = {name: words[1] for name, words in COMMAND_WORDS.items() if words[0].isascii()}
SLASH_COMMAND = re.compile(r"(?<![\w/.:])/(" + "|".join(TYPED_WORDS) + r")\b")


def as_typed(text: str) -> str:
    """Slash commands written as the words a WeCom or WeChat user types (/match → 可申报)."""
    return SLASH_COMMAND.sub(lambda m: TYPED_WORDS[m[1]], text)


def strip_tags(html: str) -> str:
    """Plain text of a reply, for channels without HTML: tags dropped, every entity decoded."""
    return htmllib.unescape(re.sub(r"<[^>]+>", "", html))


class ChatService:
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
        self.world, self.store, self.clock = world, store, clock
        self.public_url = public_url.rstrip("/")
        self.bot_username = bot_username
        self.drafts: dict[tuple[str, str], Draft] = {}
        # An admin's announcement waiting for 确认公告: (text, when written), per chat.
        self.announcing: dict[tuple[str, str], tuple[str, dt.datetime]] = {}
        self.env = environment()

    # --- plumbing --------------------------------------------------------------------

    def _say(
        self, template: str, buttons: tuple[tuple[Button, ...], ...] = (), **ctx: Any
    ) -> list[Reply]:
        text = self.env.get_template(f"chat/{template}.html.j2").render(**ctx).strip()
        parts = split_long(text, LIMIT)
        return [Reply(p, buttons if i == len(parts) - 1 else ()) for i, p in enumerate(parts)]

    def _plain(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> list[Reply]:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return [Reply(escaped, buttons)]

    def _subscriber(self, who: Who) -> int:
        return self.store.subscriber(
            who.channel, who.chat, display_name=who.display, now=self.clock()
        )

    def _today(self) -> dt.date:
        return local_date(self.clock())

    # --- entry points ----------------------------------------------------------------

    def handle_text(self, who: Who, text: str) -> list[Reply]:
        """Answer a message."""
        cmd = parse_command(text)
        draft = self.drafts.get((who.channel, who.chat))
        if cmd.name == "cancel":
            if self.drafts.pop((who.channel, who.chat), None) is not None:
                return self._plain("已取消登记。发 /register 可重新开始。")
            if self.announcing.pop((who.channel, who.chat), None) is not None:
                return self._plain("已放弃这条公告，没有发出。")
            return self._plain("当前没有进行中的操作。")
        if draft is not None and cmd.name in ("text", "unknown"):
            return self._draft_text(who, draft, cmd.text)
        handler = getattr(self, f"_cmd_{cmd.name}", None)
        if handler is None:
            return self._cmd_help(who, cmd)
        result: list[Reply] = handler(who, cmd)
        return result

    def handle_button(self, who: Who, data: str) -> list[Reply]:
        """Answer an inline-button press."""
        kind, _, value = data.partition(":")
        if kind == "reg":
            draft = self.drafts.get((who.channel, who.chat))
            if draft is None:
                return self._plain("这次登记已结束。发 /register 重新开始。")
            return self._draft_button(who, draft, value)
        if kind == "match":
            return self._match_page(who, int(value) if value.isdigit() else 1)
        if kind == "cal" and value == "rotate":
            return self._calendar(who, rotate=True)
        if kind == "ann":
            return self._announce_answer(who, confirmed=value == "yes")
        if kind == "stop":
            if value == "yes":
                subscriber = self._subscriber(who)
                gone = self.store.unregister(subscriber, now=self.clock())
                return self._plain(
                    "已退订，企业资料和日历链接已删除。" if gone else "您还没有登记企业。"
                )
            return self._plain("好的，保留您的登记。")
        return self._plain("这个按钮已失效，请重新发送命令。")

    # --- commands --------------------------------------------------------------------

    def _cmd_start(self, who: Who, cmd: Command) -> list[Reply]:
        if cmd.args and cmd.args[0] == "register":
            return self._cmd_register(who, Command("register"))
        return self._cmd_help(who, cmd)

    def _cmd_help(self, who: Who, cmd: Command) -> list[Reply]:
        return self._say("help_text" if who.typed else "help")

    def _not_registered(self, who: Who) -> list[Reply]:
        if who.typed:
            return self._plain(f"您还没有登记企业。请按这个格式发送：\n{USAGE}")
        return self._plain("您还没有登记企业。发 /register 开始。")

    def _cmd_text(self, who: Who, cmd: Command) -> list[Reply]:
        return self._cmd_help(who, cmd)

    def _private_only(self, who: Who) -> list[Reply] | None:
        if not who.group:
            return None
        buttons: tuple[tuple[Button, ...], ...] = ()
        if self.bot_username:
            url = f"https://t.me/{self.bot_username}?start=register"
            buttons = ((Button("私聊继续登记", url=url),),)
        return self._plain("为保护企业信息，登记和查看资料请在私聊中进行。", buttons)

    def _cmd_register(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        if cmd.unknown_keys:
            return self._plain(f"不认识的项目：{'、'.join(cmd.unknown_keys)}。示例：\n{USAGE}")
        if not cmd.fields and who.typed:  # no buttons: the one-line form
            return self._plain(
                f"请一行写明企业情况，例如：\n{USAGE.replace('注册', '注册 名称=鄂州某公司', 1)}"
            )
        if not cmd.fields:
            self.drafts[(who.channel, who.chat)] = Draft()
            return self._plain("开始登记（随时发 /cancel 取消）。\n第1步：请输入企业名称。")
        raw = profile_from_fields(dict(cmd.fields))
        word = raw.get("industry")
        if isinstance(word, str) and word and not re.fullmatch(r"[A-Za-z]\d{0,4}", word):
            try:
                normalize_industry(self.world.vocab.industries, word)
            except ValueError:
                term, matches = self._industry_matches(word)
                if len(matches) != 1:
                    return self._industry_choices(word, matches)
                raw["industry"] = matches[0].full_code  # a word naming one industry
                if term and term in self.world.vocab.chains:
                    raw.setdefault("chains", [term.name])
        current = self._registered(who)
        if current is not None:  # a correction: keep what is not being changed
            raw = {**current[2], **raw}
        raw.setdefault("name", who.display)
        return self._save(who, raw)

    def _industry_choices(self, word: str, matches: list[Any]) -> list[Reply]:
        """A one-line registration whose 行业 word fits no industry, or several."""
        if not matches:
            return self._plain(
                f"没找到“{word}”对应的行业。请写《国民经济行业分类》代码，如 行业=C39"
                "（计算机、通信和其他电子设备制造业），或换个关键词。"
            )
        shown = "\n".join(f"{d.full_code} {d.name}" for d in matches[:12])
        more = f"\n……共 {len(matches)} 个" if len(matches) > 12 else ""
        return self._plain(
            f"“{word}”对应多个行业，请把 行业= 改成其中一个代码后重发：\n{shown}{more}"
        )

    def _save(self, who: Who, raw: dict[str, Any]) -> list[Reply]:
        try:
            profile = parse_profile(raw, self.world.vocab)
        except ProfileError as exc:
            lines = "\n".join(
                f"• {FIELD_WORDS.get(e.field, (e.field,))[0]}：{e.message}" for e in exc.errors
            )
            return self._plain(f"登记信息有误，请修改后重发：\n{lines}\n\n示例：{USAGE}")
        subscriber = self._subscriber(who)
        stored = {k: v for k, v in raw.items() if v is not None}
        self.store.register(subscriber, stored, now=self.clock())
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        return self._say_registered(who, profile.name, stored)

    def _registered(self, who: Who) -> tuple[int, str, dict[str, Any]] | None:
        return self.store.registration(self._subscriber(who))

    def _cmd_profile(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        found = self._registered(who)
        if found is None:
            return self._not_registered(who)
        _, name, raw = found
        verb = "注册" if who.typed else "/register"
        return self._say_registered(who, name, raw) + self._plain(
            f"修改资料：再发一次 {verb} 加上要改的项目，如 {verb} 人数=200"
        )

    def _say_registered(self, who: Who, name: str, raw: dict[str, Any]) -> list[Reply]:
        """The profile as stored, its size class and how many policies it matches."""
        profile = parse_profile(raw, self.world.vocab)
        ctx = Context.of(profile, self.world.vocab, self.world.standard)
        decisions = [match(ctx, p, on=self._today()).decision for p in self.world.catalog.policies]
        return self._say(
            "registered",
            name=name,
            profile=profile,
            industry_name=self.world.vocab.industries.name_of(profile.industry),
            size=SIZE_NAMES[ctx.size.size] + "企业" if ctx.size.size else None,
            counts={d: decisions.count(d) for d in (ELIGIBLE, POSSIBLE)},
            typed=who.typed,
        )

    def _cmd_match(self, who: Who, cmd: Command) -> list[Reply]:
        page = cmd.args[0] if cmd.args else "1"
        return self._match_page(who, int(page) if page.isdigit() else 1)

    def _match_page(self, who: Who, page: int) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        found = self._registered(who)
        if found is None:
            return self._not_registered(who)
        profile = parse_profile(found[2], self.world.vocab)
        ctx = Context.of(profile, self.world.vocab, self.world.standard)
        on = self._today()
        items = [
            m
            for m in match_all(ctx, self.world.catalog.policies, on=on)
            if m.decision != INELIGIBLE
        ]
        pages = max(1, -(-len(items) // PAGE))
        page = min(max(page, 1), pages)
        shown = items[(page - 1) * PAGE : page * PAGE]
        nav: list[Button] = []
        if page > 1:
            nav.append(Button("上一页", data=f"match:{page - 1}"))
        if page < pages:
            nav.append(Button("下一页", data=f"match:{page + 1}"))
        return self._say(
            "match",
            (tuple(nav),) if nav else (),
            items=[(m, next_round(m.policy, on=on)) for m in shown],
            page=page,
            pages=pages,
            total=len(items),
            typed=who.typed,  # no buttons: say which words turn the page
        )

    def _cmd_upcoming(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        found = self._registered(who)
        if found is None:
            return self._not_registered(who)
        profile = parse_profile(found[2], self.world.vocab)
        days = 90
        items = upcoming(self.world, profile, on=self._today(), days=days)
        return self._say("upcoming", items=items, days=days)

    def _cmd_policy(self, who: Who, cmd: Command) -> list[Reply]:
        if not cmd.args:
            return self._plain(
                "请在 /policy 后加政策编号，如 /policy talent-living-allowance-masters-doctors"
            )
        policy = self.world.catalog.get(cmd.args[0])
        if policy is None:
            return self._plain(f"没有编号为 {cmd.args[0]} 的政策。发 /match 查看适合您的政策。")
        page = f"{self.public_url}/policies/{policy.id}"
        feed = f"{self.public_url}/feeds/category/{policy.category}.ics"
        buttons = ((Button("政策详情与原文", url=page), Button("订阅此类日历", url=feed)),)
        return self._say("policy", buttons, p=policy, next=next_round(policy, on=self._today()))

    def _cmd_calendar(self, who: Who, cmd: Command) -> list[Reply]:
        return self._calendar(who, rotate=bool(cmd.args) and cmd.args[0] in ("更换", "rotate"))

    def _calendar(self, who: Who, *, rotate: bool) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        found = self._registered(who)
        if found is None:
            return self._not_registered(who)
        since = self.store.live_token_since(found[0])
        if since is not None and not rotate:
            # Only a digest of the link is kept: it cannot be shown again, and issuing a new one
            # here would silently break the calendars already subscribed to the old one.
            day = local_date(since)
            how = "发送“日历 更换”" if who.typed else "点下面的“更换链接”"
            return self._plain(
                f"{found[1]} 的日历链接已于{day.month}月{day.day}日发给您，仍然有效，"
                "请往上翻聊天记录查找（为安全起见链接不重复显示）。\n"
                f"找不到或怀疑泄露：{how}获取新链接，旧链接随即失效，"
                "已订阅的日历需改用新链接。",
                ROTATE_BUTTON,
            )
        token = self.store.issue_token(found[0], now=self.clock())  # revokes any earlier one
        https = f"{self.public_url}/feeds/e/{token}.ics"
        webcal = "webcal://" + https.split("://", 1)[1]
        qr = segno.make(https, error="m")
        png = io.BytesIO()
        qr.save(png, kind="png", scale=6)
        replies = self._say(
            "calendar",
            ROTATE_BUTTON,
            name=found[1],
            https=https,
            webcal=webcal,
            typed=who.typed,
        )
        replies[0] = Reply(replies[0].text, replies[0].buttons, png.getvalue())
        return ([Reply("已更换，旧链接已失效。")] if rotate else []) + replies

    def _cmd_remind(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        subscriber = self._subscriber(who)
        prefs = self.store.preferences(subscriber)
        if prefs is None:
            return self._not_registered(who)
        words = dict(a.split("=", 1) for a in cmd.text.split()[1:] if "=" in a)
        changes: dict[str, Any] = {}
        errors: list[str] = []
        if "提前" in words:
            days = [d for d in re.split(r"[,，、]", words["提前"]) if d.strip()]
            if all(d.strip().isdigit() and 0 <= int(d) <= 60 for d in days) and days:
                changes["offsets"] = sorted({int(d) for d in days}, reverse=True)
            else:
                errors.append("提前天数应为 0-60 的整数，用逗号分开，如 提前=14,7,3,1")
        if "时间" in words:
            if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", words["时间"]):
                changes["send_time"] = words["时间"]
            else:
                errors.append("时间应为 HH:MM，如 时间=09:30")
        for key, target, add in (
            ("屏蔽", "muted_policies", True),
            ("恢复", "muted_policies", False),
            ("屏蔽类别", "muted_categories", True),
            ("恢复类别", "muted_categories", False),
        ):
            if key not in words:
                continue
            value = words[key]
            known = (
                self.world.catalog.get(value) is not None
                if target == "muted_policies"
                else value in {t.key for t in self.world.catalog.vocab.categories}
            )
            if not known:
                errors.append(
                    f"没有“{value}”这一{'政策编号' if target == 'muted_policies' else '类别'}"
                )
                continue
            current = set(changes.get(target, prefs[target]))
            current = current | {value} if add else current - {value}
            changes[target] = sorted(current)
        if errors:
            return self._plain("\n".join(errors))
        if changes:
            self.store.set_preferences(subscriber, **changes)
            prefs = {**prefs, **changes}
            # Reminders already planned follow the new settings: drop the waiting ones, plan anew.
            self.store.forget_planned(subscriber, after=self.clock())
            replan(self.store, self.world, now=self.clock(), only={subscriber})
        categories = "、".join(t.key for t in self.world.catalog.vocab.categories)
        return self._say("remind", prefs=prefs, categories=categories)

    def _cmd_stop(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self._private_only(who)
        if refused:
            return refused
        buttons = ((Button("确认退订并删除", data="stop:yes"), Button("再想想", data="stop:no")),)
        if who.typed:
            return self._plain("确定退订吗？企业资料、提醒和日历链接都会删除。确认请回复：确认退订")
        return self._plain("确定退订吗？企业资料、提醒和日历链接都会删除。", buttons)

    def _cmd_confirm_stop(self, who: Who, cmd: Command) -> list[Reply]:
        return self.handle_button(who, "stop:yes")

    def _cmd_announce(self, who: Who, cmd: Command) -> list[Reply]:
        """An admin's announcement to every subscriber: shown first, sent once confirmed."""
        if not who.admin:
            return self._plain("抱歉，只有管理员可以发布公告。")
        # The text as written, line breaks kept: everything after the command word.
        body = re.sub(r"^\s*\S+", "", cmd.raw, count=1).strip()
        if not body:
            return self._plain("用法：/announce 公告内容（可以换行，最多 1000 字）")
        if len(body) > ANNOUNCEMENT_MAX_CHARS:
            return self._plain(
                f"公告最多 {ANNOUNCEMENT_MAX_CHARS} 字，这条有 {len(body)} 字，请删减后重新发送。"
            )
        self.announcing[(who.channel, who.chat)] = (body, self.clock())
        count = sum(self.store.active_counts().values())
        preview = f"将向全部 {count} 位订阅者发送以下公告：\n\n【公告】{body}\n\n"
        if who.typed:
            return self._plain(preview + "确认发送请回复：确认公告；放弃请回复：取消")
        buttons = ((Button("确认发送", data="ann:yes"), Button("放弃", data="ann:no")),)
        return self._plain(preview + "确认后发出，发出后不能撤回。", buttons)

    def _cmd_confirm_announce(self, who: Who, cmd: Command) -> list[Reply]:
        return self._announce_answer(who, confirmed=True)

    def _announce_answer(self, who: Who, *, confirmed: bool) -> list[Reply]:
        if not who.admin:
            return self._plain("抱歉，只有管理员可以发布公告。")
        waiting = self.announcing.pop((who.channel, who.chat), None)
        if not confirmed:
            return self._plain(
                "已放弃这条公告，没有发出。" if waiting else "当前没有待发送的公告。"
            )
        if waiting is None or self.clock() - waiting[1] > ANNOUNCE_CONFIRM_WITHIN:
            return self._plain(
                "没有待确认的公告（或已超过 10 分钟），请重新发送“/announce 公告内容”。"
            )
        body = waiting[0]
        author = f"{who.channel}:{who.user}"
        number, by_channel = self.store.announce(body, author=author, now=self.clock())
        log.info(
            "announcement %d by %s queued for %d subscribers",
            number,
            author,
            sum(by_channel.values()),
        )
        parts = "、".join(f"{CHANNEL_NAMES.get(c, c)} {n}" for c, n in sorted(by_channel.items()))
        total = sum(by_channel.values())
        return self._plain(
            f"公告已排入发送队列，共 {total} 位订阅者"
            + (f"（{parts}）" if parts else "")
            + "，将按各渠道的频率限制陆续发出。发送情况可用 /stats 查看。"
        )

    def _cmd_rounds(self, who: Who, cmd: Command) -> list[Reply]:
        usage = "用法：/rounds add 政策编号 开始=2026-12-01 截止=2026-12-25 通知=https://…"
        if not who.admin:
            return self._plain("抱歉，只有管理员可以发布申报批次。")
        words = cmd.text.split()[1:]
        if len(words) < 2 or words[0] != "add":
            return self._plain(usage)
        policy_id = words[1]
        if self.world.catalog.get(policy_id) is None:
            return self._plain(f"没有编号为 {policy_id} 的政策。\n{usage}")
        values = dict(w.split("=", 1) for w in words[2:] if "=" in w)
        try:
            start = dt.date.fromisoformat(values["开始"]) if "开始" in values else None
            end = dt.date.fromisoformat(values["截止"]) if "截止" in values else None
        except ValueError:
            return self._plain(f"日期应为 YYYY-MM-DD。\n{usage}")
        if start is None and end is None:
            return self._plain(usage)
        if start and end and end < start:
            return self._plain("截止日期早于开始日期，请检查。")
        sync_rounds(self.store, self.world.catalog, now=self.clock())
        old, new, notices = add_round(
            self.store,
            self.world.catalog,
            policy_id,
            open=start,
            close=end,
            notice_url=values.get("通知"),
            now=self.clock(),
        )
        replan(self.store, self.world, now=self.clock())
        if old is not None and old.version == new.version:
            return self._plain("批次未变化。")
        dates = f"{new.open or '待定'} 至 {new.close or '待定'}"
        return self._plain(f"已发布：{dates}（第{new.version}版），已通知 {notices} 个订阅者或群。")

    def _cmd_stats(self, who: Who, cmd: Command) -> list[Reply]:
        if not who.admin:
            return self._plain("抱歉，只有管理员可以查看统计。")
        stats = self.store.delivery_stats(since=self.clock() - dt.timedelta(days=7))
        return self._plain(
            f"订阅者 {stats['subscribers']}，企业 {stats['enterprises']}，"
            f"匹配政策 {stats['matches']} 项；"
            f"近7天发出提醒 {stats['sent']} 条，失败 {stats['failed']} 条。"
        )

    def _cmd_subscribe(self, who: Who, cmd: Command) -> list[Reply]:
        vocab = self.world.catalog.vocab
        names = {t.key: t.name for t in vocab.categories}
        by_name = {t.name: t.key for t in vocab.categories}
        listing = "、".join(f"{v}（{k}）" for k, v in names.items())
        if who.group and not (who.admin or who.group_admin):
            return self._plain("抱歉，只有群管理员可以为本群订阅政策类别。")
        wanted = [w for arg in cmd.args for w in re.split(r"[,，、]", arg) if w]
        if not wanted:
            usage = f"用法：/subscribe 类别…，可选：{listing}。"
            return self._plain(usage + "订阅后每周一推送未来两周的申报批次，通知发布时另行公告。")
        keys = [by_name.get(w, w) for w in wanted]
        unknown = [w for w, k in zip(wanted, keys, strict=True) if k not in names]
        if unknown:
            return self._plain(f"没有这些类别：{'、'.join(unknown)}。可选：{listing}")
        subscriber = self._subscriber(who)
        self.store.set_categories(subscriber, sorted(set(keys)), now=self.clock())
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        chosen = "、".join(names[k] for k in sorted(set(keys)))
        return self._plain(
            f"已订阅：{chosen}。每周一推送未来两周的申报批次；市经信局发布通知时另行公告。"
        )

    def _cmd_unsubscribe(self, who: Who, cmd: Command) -> list[Reply]:
        if who.group and not (who.admin or who.group_admin):
            return self._plain("抱歉，只有群管理员可以取消本群的订阅。")
        self.store.set_categories(self._subscriber(who), [], now=self.clock())
        return self._plain("已取消本群的类别订阅。")

    def _cmd_unknown(self, who: Who, cmd: Command) -> list[Reply]:
        return self._plain("没有这个命令。") + self._cmd_help(who, cmd)

    # --- guided registration ------------------------------------------------------------

    def _sections(self) -> tuple[tuple[Button, ...], ...]:
        items = [
            Button(f"{k} {v}", data=f"reg:sec:{k}")
            for k, v in self.world.vocab.industries.sections.items()
        ]
        return tuple(tuple(items[i : i + 2]) for i in range(0, len(items), 2))

    def _divisions(self, section: str) -> tuple[tuple[Button, ...], ...]:
        items = [
            Button(f"{d.full_code} {d.name}", data=f"reg:div:{d.full_code}")
            for d in self.world.vocab.industries.divisions.values()
            if d.section == section
        ]
        return tuple((b,) for b in items)

    def _qual_buttons(self, draft: Draft) -> tuple[tuple[Button, ...], ...]:
        chosen = set(draft.profile.get("qualifications", []))
        rows = [
            (Button(("✓ " if q.name in chosen else "") + q.name, data=f"reg:q:{i}"),)
            for i, q in enumerate(self.world.vocab.qualifications)
        ]
        return (*rows, (Button("完成", data="reg:q:done"),))

    def _district_buttons(self) -> tuple[tuple[Button, ...], ...]:
        rows = [
            (Button(d.name, data=f"reg:d:{i}"),) for i, d in enumerate(self.world.vocab.districts)
        ]
        return (*rows, (Button("跳过", data="reg:d:skip"),))

    def _draft_text(self, who: Who, draft: Draft, text: str) -> list[Reply]:
        text = text.strip()
        if draft.step == "name":
            if not text or len(text) > 100:
                return self._plain("请输入企业名称（100字以内）。")
            draft.profile["name"] = text
            draft.step = "industry"
            return self._plain(
                "第2步：选择行业门类，或直接输入行业代码（如 C39）或关键词（如 光电子）。",
                self._sections(),
            )
        if draft.step == "industry":
            return self._industry_text(draft, text)
        if draft.step in ("employees", "revenue"):
            number = text.replace(",", "").replace("人", "").replace("万元", "").replace("万", "")
            if not re.fullmatch(r"\d+(\.\d+)?", number):
                what = "从业人数（整数）" if draft.step == "employees" else "上年营业收入（万元）"
                return self._plain(
                    f"请输入{what}，例如 {'180' if draft.step == 'employees' else '12000'}。"
                )
            if draft.step == "employees":
                draft.profile["employees"] = int(float(number))
                draft.step = "revenue"
                return self._plain("第4步：上年营业收入是多少万元？")
            draft.profile["revenue_wan"] = float(number) if "." in number else int(number)
            draft.step = "qualifications"
            size = classify(
                self.world.standard,
                draft.profile["industry"],
                employees=draft.profile["employees"],
                revenue_wan=draft.profile["revenue_wan"],
            )
            label = (
                f"按《中小企业划型标准规定》为{SIZE_NAMES[size.size]}企业（{size.group}）。"
                if size.size
                else ""
            )
            return self._plain(
                f"{label}\n第5步：选择已有的资质（可多选），选好点“完成”。",
                self._qual_buttons(draft),
            )
        return self._plain("请点选上面的按钮，或发 /cancel 取消。")

    def _industry_matches(self, text: str) -> tuple[Any, list[Any]]:
        """The industry group a word names (if any) and the divisions it or the word covers."""
        term = self.world.vocab.find("industry_groups", text)
        divisions = term.divisions if term else ()
        matches = [
            d
            for d in self.world.vocab.industries.divisions.values()
            if d.code in divisions or (text and text in d.name)
        ]
        return term, matches

    def _industry_text(self, draft: Draft, text: str) -> list[Reply]:
        try:
            draft.profile["industry"] = normalize_industry(self.world.vocab.industries, text)
        except ValueError:
            term, matches = self._industry_matches(text)
            if not matches:
                return self._plain(
                    f"没找到“{text}”对应的行业。请选门类，或输入代码如 C39。", self._sections()
                )
            if term and term in self.world.vocab.chains:
                draft.profile["chains"] = [term.name]
            rows = tuple(
                (Button(f"{d.full_code} {d.name}", data=f"reg:div:{d.full_code}"),)
                for d in matches[:12]
            )
            return self._plain("请选择具体行业：", rows)
        draft.step = "employees"
        return self._plain(
            f"行业：{draft.profile['industry']}（{self.world.vocab.industries.name_of(draft.profile['industry'])}）\n第3步：从业人数是多少？"
        )

    def _draft_button(self, who: Who, draft: Draft, value: str) -> list[Reply]:
        kind, _, arg = value.partition(":")
        vocab = self.world.vocab
        if kind == "sec" and draft.step == "industry" and arg in vocab.industries.sections:
            return self._plain(
                f"{arg} {vocab.industries.sections[arg]}：请选择大类。", self._divisions(arg)
            )
        if kind == "div" and draft.step == "industry":
            return self._industry_text(draft, arg)
        if kind == "q" and draft.step == "qualifications":
            if arg == "done":
                draft.step = "district"
                return self._plain("第6步：企业在哪个区？", self._district_buttons())
            if arg.isdigit() and int(arg) < len(vocab.qualifications):
                chosen = set(draft.profile.get("qualifications", []))
                name = vocab.qualifications[int(arg)].name
                chosen ^= {name}
                draft.profile["qualifications"] = sorted(chosen)
                return self._plain(
                    "已选：" + ("、".join(sorted(chosen)) or "无"), self._qual_buttons(draft)
                )
        if kind == "d" and draft.step == "district":
            if arg.isdigit() and int(arg) < len(vocab.districts):
                draft.profile["district"] = vocab.districts[int(arg)].name
            draft.step = "confirm"
            p = draft.profile
            summary = (
                f"请确认：\n企业：{p['name']}\n行业：{p['industry']}\n"
                f"人数：{p['employees']}，营收：{p['revenue_wan']}万元\n"
                f"资质：{'、'.join(p.get('qualifications', [])) or '无'}\n"
                f"区域：{p.get('district', '未填')}"
            )
            return self._plain(
                summary, ((Button("确认登记", data="reg:ok"), Button("取消", data="reg:cancel")),)
            )
        if kind == "ok" and draft.step == "confirm":
            self.drafts.pop((who.channel, who.chat), None)
            return self._save(who, dict(draft.profile))
        if kind == "cancel":
            self.drafts.pop((who.channel, who.chat), None)
            return self._plain("已取消登记。")
        return self._plain("这个按钮不属于当前步骤，请按提示操作，或发 /cancel 取消。")
