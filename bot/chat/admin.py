"""What the bureau's admins (HUIQI_ADMINS) do from a chat: 公告 (an announcement to every
subscriber, shown first and sent once confirmed), 批次 add (publish a round), 统计; and what a
group's admins do for their group: 订阅类别 / 取消订阅."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from bot._commands import Command
from bot._service import ANNOUNCEMENT_MAX_CHARS, RoundRefused, add_round, replan, sync_rounds
from bot.chat._talk import Button, ButtonHandler, Handler, Reply, Talk, Who

log = logging.getLogger("huiqi.chat")

KIND = "announce"  # the kind of an announcement waiting for 确认公告 in the store's drafts
ANNOUNCE_CONFIRM_WITHIN = dt.timedelta(minutes=10)
# How the admin is told where an announcement goes.
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "wecom": "企业微信",
    "wecom-robot": "企业微信群机器人",
    "webhook": "Webhook",
    "console": "控制台",
}


@dataclass
class Admin(Talk):
    """公告, 确认公告, 批次, 统计, 订阅类别 and 取消订阅."""

    phrases: str = "admin"

    def commands(self) -> dict[str, Handler]:
        return {
            "announce": self.announce,
            "confirm_announce": lambda who, cmd: self.announce_answer(who, "yes"),
            "rounds": self.rounds,
            "stats": self.stats,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
        }

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"ann": self.announce_answer}

    def announce(self, who: Who, cmd: Command) -> list[Reply]:
        """An admin's announcement to every subscriber: shown first, sent once confirmed."""
        if not who.admin:
            return self.tell(who, "admins_only", what="announce")
        # The text as written, line breaks kept: everything after the command word.
        body = re.sub(r"^\s*\S+", "", cmd.raw, count=1).strip()
        if not body:
            return self.tell(who, "announce_usage")
        if len(body) > ANNOUNCEMENT_MAX_CHARS:
            return self.tell(
                who, "announcement_too_long", limit=ANNOUNCEMENT_MAX_CHARS, length=len(body)
            )
        self.store.chats.put_draft(who.channel, who.chat, KIND, {"text": body}, now=self.clock())
        count = sum(self.store.registry.active_counts().values())
        buttons = ((Button("确认发送", data="ann:yes"), Button("放弃", data="ann:no")),)
        shown = () if who.typed else buttons
        return self.tell(who, "announcement_preview", shown, count=count, body=body)

    def announce_answer(self, who: Who, value: str) -> list[Reply]:
        """确认公告 / 放弃: the waiting announcement is queued or dropped, once."""
        if not who.admin:
            return self.tell(who, "admins_only", what="announce")
        waiting = self.store.chats.take_draft(who.channel, who.chat, KIND)
        if value != "yes":
            return self.tell(who, "announcement_dropped", waiting=waiting is not None)
        if waiting is None or self.clock() - waiting.updated_at > ANNOUNCE_CONFIRM_WITHIN:
            return self.tell(who, "nothing_to_confirm")
        body = str(waiting.data["text"])
        author = f"{who.channel}:{who.user}"
        number, by_channel = self.store.outbox.announce(body, author=author, now=self.clock())
        log.info(
            "announcement %d by %s queued for %d subscribers",
            number,
            author,
            sum(by_channel.values()),
        )
        parts = "、".join(f"{CHANNEL_NAMES.get(c, c)} {n}" for c, n in sorted(by_channel.items()))
        total = sum(by_channel.values())
        return self.tell(who, "announcement_queued", total=total, parts=parts)

    def rounds(self, who: Who, cmd: Command) -> list[Reply]:
        if not who.admin:
            return self.tell(who, "admins_only", what="rounds")
        if len(cmd.args) < 2 or cmd.args[0] != "add":
            return self.tell(who, "rounds_usage")
        found = self.world.catalog.find(cmd.args[1])
        if len(found) != 1:
            asked = f"{self.command(who, 'rounds')} add"
            return self.tell(who, "which_policy", word=cmd.args[1], policies=found, asked=asked)
        policy_id = found[0].id
        values = cmd.options
        try:
            start = dt.date.fromisoformat(values["开始"]) if "开始" in values else None
            end = dt.date.fromisoformat(values["截止"]) if "截止" in values else None
        except ValueError:
            return self.tell(who, "bad_date")
        if start is None and end is None:
            return self.tell(who, "rounds_usage")
        if start and end and end < start:
            return self.tell(who, "close_before_open")
        sync_rounds(self.store, self.world.catalog, now=self.clock())
        try:
            old, new, notices = add_round(
                self.store,
                self.world.catalog,
                policy_id,
                open=start,
                close=end,
                notice_url=values.get("通知"),
                now=self.clock(),
            )
        except RoundRefused as refused:
            return self.tell(who, "round_refused", problems=refused.problems)
        replan(self.store, self.world, now=self.clock())
        if old is not None and old.version == new.version:
            return self.tell(who, "round_unchanged")
        return self.tell(who, "round_published", new=new, notices=notices)

    def stats(self, who: Who, cmd: Command) -> list[Reply]:
        if not who.admin:
            return self.tell(who, "admins_only", what="stats")
        stats = self.store.registry.delivery_stats(since=self.clock() - dt.timedelta(days=7))
        return self.tell(who, "stats", s=stats)

    def subscribe(self, who: Who, cmd: Command) -> list[Reply]:
        vocab = self.world.catalog.vocab
        names = {t.key: t.name for t in vocab.categories}
        by_name = {t.name: t.key for t in vocab.categories}
        listing = "、".join(f"{v}（{k}）" for k, v in names.items())
        if who.group and not (who.admin or who.group_admin):
            return self.tell(who, "admins_only", what="subscribe")
        wanted = [w for arg in cmd.args for w in re.split(r"[,，、]", arg) if w]
        if not wanted:
            return self.tell(who, "subscribe_usage", listing=listing)
        keys = [by_name.get(w, w) for w in wanted]
        unknown = [w for w, k in zip(wanted, keys, strict=True) if k not in names]
        if unknown:
            return self.tell(who, "no_categories", unknown=unknown, listing=listing)
        subscriber = self.subscriber(who)
        self.store.registry.set_categories(subscriber, sorted(set(keys)), now=self.clock())
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        chosen = "、".join(names[k] for k in sorted(set(keys)))
        return self.tell(who, "subscribed", chosen=chosen)

    def unsubscribe(self, who: Who, cmd: Command) -> list[Reply]:
        if who.group and not (who.admin or who.group_admin):
            return self.tell(who, "admins_only", what="unsubscribe")
        self.store.registry.set_categories(self.subscriber(who), [], now=self.clock())
        return self.tell(who, "unsubscribed")
