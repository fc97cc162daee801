"""What the bureau's admins (HUIQI_ADMINS) do from a chat: 公告 (an announcement to every
subscriber, shown first and sent once confirmed), 批次 add (publish a round), 统计; and what a
group's admins do for their group: 订阅类别 / 取消订阅."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from bot._commands import Command
from bot._service import ANNOUNCEMENT_MAX_CHARS, add_round, replan, sync_rounds
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
ROUNDS_USAGE = "用法：/rounds add 政策编号 开始=2026-12-01 截止=2026-12-25 通知=https://…"


@dataclass
class Admin(Talk):
    """公告, 确认公告, 批次, 统计, 订阅类别 and 取消订阅."""

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
            return self.plain("抱歉，只有管理员可以发布公告。")
        # The text as written, line breaks kept: everything after the command word.
        body = re.sub(r"^\s*\S+", "", cmd.raw, count=1).strip()
        if not body:
            return self.plain("用法：/announce 公告内容（可以换行，最多 1000 字）")
        if len(body) > ANNOUNCEMENT_MAX_CHARS:
            return self.plain(
                f"公告最多 {ANNOUNCEMENT_MAX_CHARS} 字，这条有 {len(body)} 字，请删减后重新发送。"
            )
        self.store.chats.put_draft(who.channel, who.chat, KIND, {"text": body}, now=self.clock())
        count = sum(self.store.registry.active_counts().values())
        preview = f"将向全部 {count} 位订阅者发送以下公告：\n\n【公告】{body}\n\n"
        if who.typed:
            return self.plain(preview + "确认发送请回复：确认公告；放弃请回复：取消")
        buttons = ((Button("确认发送", data="ann:yes"), Button("放弃", data="ann:no")),)
        return self.plain(preview + "确认后发出，发出后不能撤回。", buttons)

    def announce_answer(self, who: Who, value: str) -> list[Reply]:
        """确认公告 / 放弃: the waiting announcement is queued or dropped, once."""
        if not who.admin:
            return self.plain("抱歉，只有管理员可以发布公告。")
        waiting = self.store.chats.take_draft(who.channel, who.chat, KIND)
        if value != "yes":
            return self.plain("已放弃这条公告，没有发出。" if waiting else "当前没有待发送的公告。")
        if waiting is None or self.clock() - waiting.updated_at > ANNOUNCE_CONFIRM_WITHIN:
            return self.plain(
                "没有待确认的公告（或已超过 10 分钟），请重新发送“/announce 公告内容”。"
            )
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
        return self.plain(
            f"公告已排入发送队列，共 {total} 位订阅者"
            + (f"（{parts}）" if parts else "")
            + "，将按各渠道的频率限制陆续发出。发送情况可用 /stats 查看。"
        )

    def rounds(self, who: Who, cmd: Command) -> list[Reply]:
        if not who.admin:
            return self.plain("抱歉，只有管理员可以发布申报批次。")
        if len(cmd.args) < 2 or cmd.args[0] != "add":
            return self.plain(ROUNDS_USAGE)
        policy_id = cmd.args[1]
        if self.world.catalog.get(policy_id) is None:
            return self.plain(f"没有编号为 {policy_id} 的政策。\n{ROUNDS_USAGE}")
        values = cmd.options
        try:
            start = dt.date.fromisoformat(values["开始"]) if "开始" in values else None
            end = dt.date.fromisoformat(values["截止"]) if "截止" in values else None
        except ValueError:
            return self.plain(f"日期应为 YYYY-MM-DD。\n{ROUNDS_USAGE}")
        if start is None and end is None:
            return self.plain(ROUNDS_USAGE)
        if start and end and end < start:
            return self.plain("截止日期早于开始日期，请检查。")
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
            return self.plain("批次未变化。")
        dates = f"{new.open or '待定'} 至 {new.close or '待定'}"
        return self.plain(f"已发布：{dates}（第{new.version}版），已通知 {notices} 个订阅者或群。")

    def stats(self, who: Who, cmd: Command) -> list[Reply]:
        if not who.admin:
            return self.plain("抱歉，只有管理员可以查看统计。")
        stats = self.store.registry.delivery_stats(since=self.clock() - dt.timedelta(days=7))
        return self.plain(
            f"订阅者 {stats.subscribers}，企业 {stats.enterprises}，"
            f"匹配政策 {stats.matches} 项；"
            f"近7天发出提醒 {stats.sent} 条，失败 {stats.failed} 条。"
        )

    def subscribe(self, who: Who, cmd: Command) -> list[Reply]:
        vocab = self.world.catalog.vocab
        names = {t.key: t.name for t in vocab.categories}
        by_name = {t.name: t.key for t in vocab.categories}
        listing = "、".join(f"{v}（{k}）" for k, v in names.items())
        if who.group and not (who.admin or who.group_admin):
            return self.plain("抱歉，只有群管理员可以为本群订阅政策类别。")
        wanted = [w for arg in cmd.args for w in re.split(r"[,，、]", arg) if w]
        if not wanted:
            usage = f"用法：/subscribe 类别…，可选：{listing}。"
            return self.plain(usage + "订阅后每周一推送未来两周的申报批次，通知发布时另行公告。")
        keys = [by_name.get(w, w) for w in wanted]
        unknown = [w for w, k in zip(wanted, keys, strict=True) if k not in names]
        if unknown:
            return self.plain(f"没有这些类别：{'、'.join(unknown)}。可选：{listing}")
        subscriber = self.subscriber(who)
        self.store.registry.set_categories(subscriber, sorted(set(keys)), now=self.clock())
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        chosen = "、".join(names[k] for k in sorted(set(keys)))
        return self.plain(
            f"已订阅：{chosen}。每周一推送未来两周的申报批次；市经信局发布通知时另行公告。"
        )

    def unsubscribe(self, who: Who, cmd: Command) -> list[Reply]:
        if who.group and not (who.admin or who.group_admin):
            return self.plain("抱歉，只有群管理员可以取消本群的订阅。")
        self.store.registry.set_categories(self.subscriber(who), [], now=self.clock())
        return self.plain("已取消本群的类别订阅。")
