"""The real python-telegram-bot Application against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update

from bot._service import World, add_round, dispatcher_for, sync_rounds
from bot._telegram import TelegramChannel, build_application
from bot.chat import ChatService
from schedulers import SHANGHAI, Reminder, split_long
from schedulers.data import load_catalog
from schedulers.dispatch import Dispatcher
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store
from tests.bot.fake_telegram import FakeTelegram, serve_fake

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
ADMIN, USER, GROUP = 7001, 100, -5000
_ids = itertools.count(1)


class Harness:
    """Feeds updates to the real Application; the fake records what the bot sends."""

    def __init__(self, fake: FakeTelegram, api: str, store: Store) -> None:
        self.fake, self.store = fake, store
        self.service = ChatService(
            WORLD,
            store,
            clock=lambda: NOW,
            public_url="https://huiqi.example.cn",
            bot_username="huiqi_bot",
        )
        self.app = build_application("123:TEST", api, self.service, admins=[f"tg:{ADMIN}"])

    def _chat(self, chat: int) -> dict[str, Any]:
        return {
            "id": chat,
            "type": "group" if chat < 0 else "private",
            **({"title": "政策对接群"} if chat < 0 else {}),
        }

    def _user(self, user: int) -> dict[str, Any]:
        return {"id": user, "is_bot": False, "first_name": "张", "last_name": "三"}

    async def send(self, text: str, *, chat: int = USER, user: int | None = None) -> list[str]:
        """A message from a person; returns what the bot answered in that chat."""
        before = len(self.fake.texts(chat))
        message: dict[str, Any] = {
            "message_id": next(_ids),
            "date": 1795000000,
            "chat": self._chat(chat),
            "from": self._user(user or chat),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        await self.app.process_update(
            Update.de_json({"update_id": next(_ids), "message": message}, self.app.bot)
        )
        return self.fake.texts(chat)[before:]

    async def press(self, data: str, *, chat: int = USER, user: int | None = None) -> list[str]:
        """An inline-button press; returns what the bot answered."""
        before = len(self.fake.texts(chat))
        query = {
            "id": str(next(_ids)),
            "from": self._user(user or chat),
            "chat_instance": "c",
            "data": data,
            "message": {
                "message_id": next(_ids),
                "date": 1795000000,
                "chat": self._chat(chat),
                "text": "…",
            },
        }
        await self.app.process_update(
            Update.de_json({"update_id": next(_ids), "callback_query": query}, self.app.bot)
        )
        return self.fake.texts(chat)[before:]

    def buttons(self, chat: int = USER) -> list[dict[str, Any]]:
        """The inline buttons of the bot's last message in a chat."""
        markup = self.fake.messages(chat)[-1].get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@pytest.fixture
def harness(store: Store) -> Iterator[Harness]:
    """A fresh store, the fake Bot API, and the Application wired to both."""
    with serve_fake() as (fake, api):
        yield Harness(fake, api, store)


def run(harness: Harness, scenario: Any) -> None:
    """Run an async scenario between the Application's initialize and shutdown."""

    async def go() -> None:
        await harness.app.initialize()
        try:
            await scenario()
        finally:
            await harness.app.shutdown()

    asyncio.run(go())


ONE_LINE = (
    "/register 名称=鄂州某光电科技有限公司 行业=C39 人数=180 营收=12000 "
    "资质=高新技术企业,省级专精特新中小企业 区域=葛店经开区"
)


def test_guided_registration(harness: Harness) -> None:
    """Name, section, division, head count, revenue (size shown), qualifications, district."""

    async def scenario() -> None:
        assert "/register 登记企业" in (await harness.send("/start"))[0]
        assert (await harness.send("/register"))[0].startswith("开始登记")
        assert (await harness.send("鄂州某光电科技有限公司"))[0].startswith("第2步")
        assert any(b["callback_data"] == "reg:sec:C" for b in harness.buttons())
        await harness.press("reg:sec:C")
        assert any(b["callback_data"] == "reg:div:C39" for b in harness.buttons())
        assert "第3步" in (await harness.press("reg:div:C39"))[0]
        assert "第4步" in (await harness.send("180"))[0]
        reply = (await harness.send("12000"))[0]
        assert reply.startswith("按《中小企业划型标准规定》为小型企业（工业）。")
        await harness.press("reg:q:0")
        assert (await harness.press("reg:q:3"))[0] == "已选：省级专精特新中小企业、高新技术企业"
        assert "第6步" in (await harness.press("reg:q:done"))[0]
        confirm = (await harness.press("reg:d:3"))[0]
        assert "区域：葛店经开区" in confirm
        done = (await harness.press("reg:ok"))[0]
        assert done.startswith(
            "<b>已登记：鄂州某光电科技有限公司</b>\n行业：C39（计算机、通信和其他电子设备制造业），小型企业"
        )
        assert (
            harness.store.registry.registration(
                harness.store.registry.subscriber("telegram", str(USER), display_name=None, now=NOW)
            )
            is not None
        )

    run(harness, scenario)


def test_one_line_registration_match_and_upcoming(harness: Harness) -> None:
    """One-line registration; /match pages with reasons; /upcoming lists the December round."""

    async def scenario() -> None:
        assert (await harness.send(ONE_LINE))[0].startswith("<b>已登记：鄂州某光电科技有限公司</b>")
        first = (await harness.send("/match"))[0]
        assert first.startswith("<b>可申报的政策</b>（第1/")
        assert "✓ 要求全部具备：高新技术企业，已具备" in first
        assert [b["text"] for b in harness.buttons()] == ["下一页"]
        second = (await harness.press("match:2"))[0]
        assert "（第2/" in second
        upcoming = (await harness.send("/upcoming"))[0]
        assert "2026-12-01 至 2026-12-25（文件写明）" in upcoming
        assert "企业“千名引硕工程”人才生活补贴" in upcoming

    run(harness, scenario)


def test_bad_one_line_registration_is_explained(harness: Harness) -> None:
    """An unknown code and a negative head count are listed; nothing is stored."""

    async def scenario() -> None:
        reply = (await harness.send("/register 行业=C99 人数=-5"))[0]
        assert reply.startswith("登记信息有误，请修改后重发：")
        assert "“C99”不是《国民经济行业分类》" in reply
        assert "从业人数不能为负数（-5）" in reply
        assert harness.store.registry.enterprises() == []

    run(harness, scenario)


def test_calendar_with_rotation(harness: Harness) -> None:
    """/calendar sends the private link with a QR code; rotating kills the old link."""

    async def scenario() -> None:
        await harness.send(ONE_LINE)
        await harness.send("/calendar")
        photo = harness.fake.messages(USER)[-1]
        assert isinstance(photo["photo"], bytes)
        assert photo["photo"].startswith(b"\x89PNG")
        old = photo["caption"].split("https://huiqi.example.cn/feeds/e/")[1].split(".ics")[0]
        assert harness.store.tokens.feed_owner(old) is not None
        again = (await harness.send("/calendar"))[0]  # asking again keeps the subscribed link
        assert again.startswith("鄂州某光电科技有限公司 的日历链接已于11月22日发给您，仍然有效")
        assert harness.store.tokens.feed_owner(old) is not None
        replies = await harness.press("cal:rotate")
        assert replies[0] == "已更换，旧链接已失效。"
        new = replies[1].split("https://huiqi.example.cn/feeds/e/")[1].split(".ics")[0]
        assert new != old
        assert harness.store.tokens.feed_owner(old) is None
        assert harness.store.tokens.feed_owner(new) is not None

    run(harness, scenario)


def test_stop_after_confirmation(harness: Harness) -> None:
    """/stop asks first; confirming deletes the registration."""

    async def scenario() -> None:
        await harness.send(ONE_LINE)
        assert (await harness.send("/stop"))[0].startswith("确定退订吗？")
        assert [b["callback_data"] for b in harness.buttons()] == ["stop:yes", "stop:no"]
        assert (await harness.press("stop:yes"))[0] == "已退订，企业资料和日历链接已删除。"
        assert harness.store.registry.enterprises() == []

    run(harness, scenario)


def test_group_register_goes_private(harness: Harness) -> None:
    """In a group, /register answers with a button to continue privately; nothing is shown there."""

    async def scenario() -> None:
        reply = (await harness.send("/register@huiqi_bot", chat=GROUP, user=USER))[0]
        assert reply == "为保护企业信息，登记和查看资料请在私聊中进行。"
        assert harness.buttons(GROUP) == [
            {"text": "私聊继续登记", "url": "https://t.me/huiqi_bot?start=register"}
        ]

    run(harness, scenario)


def test_admin_announce_and_refusal(harness: Harness) -> None:
    """An admin's announcement is shown, confirmed, queued in the outbox and sent by the
    dispatcher (rate limits, retries, delivery log); anyone else is refused politely."""

    async def scenario() -> None:
        await harness.send(ONE_LINE)
        blocked = harness.store.registry.subscriber("telegram", "404", display_name=None, now=NOW)
        harness.fake.failures["404"] = [(403, "Forbidden: bot was blocked by the user", None)]
        text = "/announce 2026年技改资金申报通知已发布\n详见市经信局网站 <b>&"
        refused = await harness.send(text, user=USER)
        assert refused == ["抱歉，只有管理员可以发布公告。"]
        assert (await harness.press("ann:yes", user=USER)) == ["抱歉，只有管理员可以发布公告。"]
        [preview] = await harness.send(text, chat=ADMIN)
        assert preview.startswith("将向全部 2 位订阅者发送以下公告：\n\n【公告】2026年技改")
        assert "\n详见市经信局网站 &lt;b&gt;&amp;" in preview  # HTML-escaped, line break kept
        assert [b["callback_data"] for b in harness.buttons(ADMIN)] == ["ann:yes", "ann:no"]
        sent = "【公告】2026年技改资金申报通知已发布\n详见市经信局网站 <b>&"
        before = harness.store.outbox.counts()
        [queued] = await harness.press("ann:yes", chat=ADMIN)
        assert queued.startswith("公告已排入发送队列，共 2 位订阅者（Telegram 2）")
        again = await harness.press("ann:yes", chat=ADMIN)  # a second press sends nothing more
        assert again[0].startswith("没有待确认的公告")
        assert harness.store.outbox.counts()["pending"] == before["pending"] + 2
        assert sent not in harness.fake.texts(USER)  # queued, not sent by the chat handler
        dispatcher = dispatcher_for(
            WORLD,
            harness.store,
            {"telegram": TelegramChannel(harness.app, rate_per_second=None)},
            clock=lambda: NOW,
            public_url="https://huiqi.example.cn",
        )
        await dispatcher.tick()
        assert harness.fake.texts(USER).count(sent) == 1
        assert not harness.store.registry.subscriber_active(blocked)  # the delivery log says why
        await dispatcher.tick()
        assert harness.fake.texts(USER).count(sent) == 1
        await harness.send("/announce 不发这条", chat=ADMIN)
        assert (await harness.press("ann:no", chat=ADMIN)) == ["已放弃这条公告，没有发出。"]
        long = await harness.send("/announce " + "字" * 1001, chat=ADMIN)
        assert long == ["公告最多 1000 字，这条有 1001 字，请删减后重新发送。"]
        after = harness.store.outbox.counts()
        assert after.get("failed", 0) == before.get("failed", 0) + 1  # the blocked one

    run(harness, scenario)


def test_user_text_is_escaped(harness: Harness) -> None:
    """A name with HTML in it comes back escaped, never as markup."""

    async def scenario() -> None:
        reply = (await harness.send("/register 名称=<b>坏</b>&公司 行业=C39"))[0]
        assert "&lt;b&gt;坏&lt;/b&gt;&amp;公司" in reply

    run(harness, scenario)


def test_reminder_delivery_retry_after_and_blocked(harness: Harness) -> None:
    """Dispatcher: a 429 waits retry_after, then delivers; a 403 deactivates the chat."""

    async def scenario() -> None:
        await harness.send(ONE_LINE)
        await harness.send(ONE_LINE.replace("鄂州某光电科技有限公司", "鄂州某二号公司"), chat=200)
        store = harness.store
        ok = store.registry.subscriber("telegram", str(USER), display_name=None, now=NOW)
        blocked = store.registry.subscriber("telegram", "200", display_name=None, now=NOW)
        key = next(
            r.key
            for r in store.rounds.current_rounds()
            if r.policy_id == "talent-living-allowance-masters-doctors"
            and r.close == dt.date(2026, 12, 25)
        )
        harness.fake.failures = {
            str(USER): [(429, "Too Many Requests: retry after 3", 3)],
            "200": [(403, "Forbidden: bot was blocked by the user", None)],
        }
        clock = [NOW]
        dispatcher = dispatcher_for(
            WORLD,
            store,
            {"telegram": TelegramChannel(harness.app, rate_per_second=None, per_chat=False)},
            clock=lambda: clock[0],
            public_url="https://huiqi.example.cn",
        )
        store.outbox.enqueue([Reminder(s, key, 1, "close-33", NOW) for s in (ok, blocked)], now=NOW)
        before, before_blocked = len(harness.fake.texts(USER)), len(harness.fake.texts("200"))
        first = await dispatcher.tick()
        assert first.deactivated == [blocked]
        assert first.sent == 0
        assert first.retried >= 1
        assert store.registry.subscriber_active(blocked) is False
        clock[0] = NOW + dt.timedelta(seconds=3)
        second = await dispatcher.tick()
        assert second.sent == first.retried
        assert any("千名引硕工程" in t for t in harness.fake.texts(USER)[before:])
        assert harness.fake.texts("200")[before_blocked:] == []  # the blocked chat got nothing

    run(harness, scenario)


def test_unknown_commands_and_free_text_get_help(harness: Harness) -> None:
    """Anything else gets the help text."""

    async def scenario() -> None:
        assert "/register 登记企业" in (await harness.send("你好"))[0]
        unknown = await harness.send("/frobnicate")
        assert unknown[0] == "没有这个命令。"

    run(harness, scenario)


def test_profile_correction_keeps_other_fields(harness: Harness) -> None:
    """/register 人数=320 after registering changes the head count only; /profile shows it."""

    async def scenario() -> None:
        await harness.send(ONE_LINE)
        reply = (await harness.send("/register 人数=320"))[0]
        assert reply.startswith(
            "<b>已登记：鄂州某光电科技有限公司</b>\n行业：C39（计算机、通信和其他电子设备制造业），中型企业"
        )
        profile = (await harness.send("/profile"))[0]
        assert "资质：省级专精特新中小企业、高新技术企业" in profile

    run(harness, scenario)


def test_group_categories_weekly_digest_and_announcement(harness: Harness) -> None:
    """An admin subscribes the group; Monday brings a digest; confirmed rounds are announced."""

    async def scenario() -> None:
        harness.fake.group_admins = {ADMIN}
        refused = await harness.send("/subscribe 人才补贴", chat=GROUP, user=USER)
        assert refused == ["抱歉，只有群管理员可以为本群订阅政策类别。"]
        done = await harness.send("/subscribe 人才补贴", chat=GROUP, user=ADMIN)
        assert done[0].startswith("已订阅：人才补贴。")
        store = harness.store
        group = store.registry.subscriber("telegram", str(GROUP), display_name=None, now=NOW)
        clock = [NOW]
        dispatcher = dispatcher_for(
            WORLD,
            store,
            {"telegram": TelegramChannel(harness.app, rate_per_second=None, per_chat=False)},
            clock=lambda: clock[0],
            public_url="https://huiqi.example.cn",
        )
        clock[0] = dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)  # Monday
        await dispatcher.tick()
        digest = harness.fake.texts(GROUP)[-1]
        assert digest.startswith("【本周政策申报提示】未来两周开始或截止的批次（1项）：")
        assert "企业“千名引硕工程”人才生活补贴" in digest
        add_round(
            store,
            WORLD.catalog,
            "talent-living-allowance-masters-doctors",
            open=dt.date(2026, 12, 1),
            close=dt.date(2026, 12, 28),
            notice_url="https://example.org/n",
            now=clock[0],
        )
        await dispatcher.tick()
        changed = harness.fake.texts(GROUP)[-1]  # the group heard of this round: a change notice
        assert changed.startswith(
            "【日期变更】企业“千名引硕工程”人才生活补贴\n申报时间由 2026-12-01 至 2026-12-25 改为"
        )
        await harness.send("/subscribe 人才补贴,认定称号", chat=GROUP, user=ADMIN)
        await dispatcher.tick()  # this week's digest for the newly added category
        clock[0] += dt.timedelta(hours=1)
        add_round(
            store,
            WORLD.catalog,
            "provincial-hidden-champion",
            open=dt.date(2027, 3, 1),
            close=dt.date(2027, 3, 31),
            notice_url=None,
            now=clock[0],
        )
        await dispatcher.tick()
        assert harness.fake.texts(GROUP)[-1].startswith(
            "【通知已发布】产业领域隐形冠军\n申报时间：2027-03-01 至 2027-03-31（已发布"
        ), harness.fake.texts(GROUP)[-1][:80]
        assert group in [s for s, _, _ in store.registry.category_subscriptions()]

    run(harness, scenario)


def test_admin_publishes_a_round_in_chat(harness: Harness) -> None:
    """/rounds add by an admin records a confirmed round; others are refused; bad dates told."""

    async def scenario() -> None:
        cmd = "/rounds add talent-living-allowance-masters-doctors 开始=2026-12-01 截止=2026-12-28"
        assert (await harness.send(cmd, chat=USER))[0] == "抱歉，只有管理员可以发布申报批次。"
        assert (await harness.send(cmd.replace("12-28", "11-28"), chat=ADMIN))[
            0
        ] == "截止日期早于开始日期，请检查。"
        assert (await harness.send(cmd.replace("2026-12-28", "12月28日"), chat=ADMIN))[
            0
        ].startswith("日期应为 YYYY-MM-DD。")
        reply = (await harness.send(cmd, chat=ADMIN))[0]
        assert reply.startswith("已发布：2026-12-01 至 2026-12-28（第2版）")
        versions = harness.store.rounds.round_versions(
            "talent-living-allowance-masters-doctors#1@2026"
        )
        assert [(v.version, v.basis) for v in versions] == [(1, "stated"), (2, "confirmed")]

    run(harness, scenario)


def test_long_answers_are_split_below_the_limit() -> None:
    """A 10,000-character answer becomes parts under 4,096 characters, split at line breaks."""
    text = "\n".join(f"第{i}行：" + "政" * 40 for i in range(200))
    parts = split_long(text, 4000)
    assert all(len(p) <= 4000 for p in parts)
    assert "\n".join(parts) == text
    assert len(parts) == 3


def test_admin_stats(harness: Harness) -> None:
    """/stats for an admin counts subscribers, enterprises, matches and this week's deliveries."""

    async def scenario() -> None:
        await harness.send(ONE_LINE)
        reply = (await harness.send("/stats", chat=ADMIN))[0]
        assert reply == "订阅者 1，企业 1，匹配政策 72 项；近7天发出提醒 0 条，失败 0 条。"
        assert (await harness.send("/stats"))[0] == "抱歉，只有管理员可以查看统计。"

    run(harness, scenario)


def test_group_admin_is_not_a_bureau_admin(harness: Harness) -> None:
    """A Telegram group's admin may subscribe that group, but not announce, publish or see stats."""

    async def scenario() -> None:
        stranger = 4242
        harness.fake.group_admins = {stranger}
        await harness.send(ONE_LINE)
        told = len(harness.fake.texts(USER))
        refused = await harness.send("/announce 假通知", chat=GROUP, user=stranger)
        assert refused == ["抱歉，只有管理员可以发布公告。"]
        rounds = await harness.send(
            "/rounds add talent-living-allowance-masters-doctors 开始=2026-12-01 截止=2026-12-02",
            chat=GROUP,
            user=stranger,
        )
        assert rounds == ["抱歉，只有管理员可以发布申报批次。"]
        stats = await harness.send("/stats", chat=GROUP, user=stranger)
        assert stats == ["抱歉，只有管理员可以查看统计。"]
        assert len(harness.fake.texts(USER)) == told  # nobody heard the stranger
        done = await harness.send("/subscribe 人才补贴", chat=GROUP, user=stranger)
        assert done[0].startswith("已订阅：人才补贴。")

    run(harness, scenario)


def test_sender_maps_every_platform_answer_to_one_result(harness: Harness) -> None:
    """A migrated group, a long text (split by the dispatcher from the channel's declared
    4,096-character limit, which Telegram would refuse whole), a revoked token: each ends as
    its own result."""

    async def scenario() -> None:
        channel = TelegramChannel(harness.app, rate_per_second=None, per_chat=False)
        harness.fake.migrated = {"-100": -1009}
        moved = await channel.send("-100", "通知")
        assert (moved.status, moved.new_address) == ("migrate", "-1009")
        long_text = "\n".join(f"第{i}行：" + "政" * 60 for i in range(150))  # 9,700 characters
        assert (await channel.send(str(USER), long_text)).status == "rejected"  # whole: refused
        harness.store.registry.subscriber("telegram", str(USER), display_name="甲", now=NOW)
        harness.store.outbox.announce("长公告", author="tg:1", now=NOW)
        dispatcher = Dispatcher(
            store=harness.store.outbox,
            channels={"telegram": channel},
            render=lambda *_: long_text,
            rounds=dict,
            clock=lambda: NOW,
        )
        assert (await dispatcher.tick()).sent == 1
        parts = harness.fake.texts(USER)
        assert len(parts) == 3
        assert all(len(p) <= 4096 for p in parts)
        assert "\n".join(parts) == long_text
        harness.fake.revoked = True
        revoked = await channel.send(str(USER), "通知")
        assert (revoked.status, revoked.channel_down) == ("transient", True)
        assert "InvalidToken" in revoked.detail

    run(harness, scenario)


def quick_dispatcher(harness: Harness) -> Any:
    """A dispatcher on the harness's store sending through its Telegram, with no rate limits."""
    return dispatcher_for(
        WORLD,
        harness.store,
        {"telegram": TelegramChannel(harness.app, rate_per_second=None, per_chat=False)},
        clock=lambda: NOW,
        public_url="https://huiqi.example.cn",
    )


def test_a_moved_group_gets_its_reminder_at_the_new_id(harness: Harness) -> None:
    """When a group becomes a supergroup, the dispatcher follows it and the reminder arrives."""

    async def scenario() -> None:
        store = harness.store
        group = store.registry.subscriber("telegram", str(GROUP), display_name=None, now=NOW)
        sync_rounds(store, WORLD.catalog, now=NOW)
        key = next(
            r.key
            for r in store.rounds.current_rounds()
            if r.policy_id == "talent-living-allowance-masters-doctors"
            and r.close == dt.date(2026, 12, 25)
        )
        store.outbox.enqueue([Reminder(group, key, 1, "close-33", NOW)], now=NOW)
        harness.fake.migrated = {str(GROUP): -1009}
        dispatcher = quick_dispatcher(harness)
        report = await dispatcher.tick()
        assert (report.moved, report.sent) == (1, 1)
        assert any("千名引硕工程" in t for t in harness.fake.texts(-1009))
        assert store.registry.subscriber("telegram", "-1009", display_name=None, now=NOW) == group

    run(harness, scenario)


def test_a_reminder_offers_its_answers_as_buttons(harness: Harness) -> None:
    """A reminder about one round comes with 已申报 / 不感兴趣 / 稍后提醒 under it; 已申报 and
    不感兴趣 stop that round's remaining reminders, 稍后提醒 moves the next one three working
    days on; the buttons give way to the choice; a button pressed in another chat does
    nothing."""

    async def scenario() -> None:
        store = harness.store
        sync_rounds(store, WORLD.catalog, now=NOW)
        [talent] = [
            r
            for r in store.rounds.current_rounds()
            if r.policy_id == "talent-living-allowance-masters-doctors"
            and r.close == dt.date(2026, 12, 25)
        ]
        me = store.registry.subscriber("telegram", str(USER), display_name="甲", now=NOW)
        later = NOW + dt.timedelta(days=9)
        store.outbox.enqueue(
            [
                Reminder(me, talent.key, talent.version, "close-14", NOW),
                Reminder(me, talent.key, talent.version, "close-7", later),
            ],
            now=NOW,
        )
        dispatcher = quick_dispatcher(harness)
        assert (await dispatcher.tick()).sent == 1
        [row] = harness.fake.messages(USER)[-1]["reply_markup"]["inline_keyboard"]
        data = {b["text"]: b["callback_data"] for b in row}
        assert list(data) == ["已申报", "不感兴趣", "稍后提醒"]
        assert (await harness.press(data["已申报"], chat=GROUP)) == [
            "这个按钮已失效，请重新发送命令。"
        ]
        assert store.outbox.counts() == {"sent": 1, "pending": 1}
        [said] = await harness.press(data["已申报"])
        assert said.startswith("已记录：企业“千名引硕工程”人才生活补贴（2026-12-01 至 2026-12-25）")
        assert "已申报。本批次不再提醒（取消了 1 条待发提醒）" in said
        assert store.outbox.counts() == {"sent": 1, "dropped": 1}
        assert store.outbox.answers(talent.key) == {"applied": 1}
        [edit] = [c.params for c in harness.fake.calls if c.method == "editMessageReplyMarkup"]
        [[shown]] = edit["reply_markup"]["inline_keyboard"]
        assert shown["text"] == "✓ 已申报"  # the buttons gave way to the choice
        assert (await harness.press(shown["callback_data"])) == []  # pressing it does nothing
        assert store.outbox.answers(talent.key) == {"applied": 1}

        # Two more chats: 不感兴趣 stops theirs; 稍后提醒 moves the next one 3 working days on
        other, third = 201, 202
        them = store.registry.subscriber("telegram", str(other), display_name="乙", now=NOW)
        late = store.registry.subscriber("telegram", str(third), display_name="丙", now=NOW)
        week_before = dt.datetime(2026, 12, 18, 9, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
        store.outbox.enqueue(
            [
                Reminder(them, talent.key, talent.version, "close-14", NOW),
                Reminder(them, talent.key, talent.version, "close-7", week_before),
                Reminder(late, talent.key, talent.version, "close-14", NOW),
                Reminder(late, talent.key, talent.version, "close-7", week_before),
            ],
            now=NOW,
        )
        assert (await dispatcher.tick()).sent == 2

        def buttons_of(chat: int) -> dict[str, str]:
            [row] = harness.fake.messages(chat)[-1]["reply_markup"]["inline_keyboard"]
            return {b["text"]: b["callback_data"] for b in row}

        [said] = await harness.press(buttons_of(other)["不感兴趣"], chat=other)
        assert "不感兴趣。本批次不再提醒（取消了 1 条待发提醒）" in said
        [said] = await harness.press(buttons_of(third)["稍后提醒"], chat=third)
        assert said.endswith("的下一条提醒改在 12月23日。")
        waiting = store.outbox.next_waiting(late, talent.key)
        assert waiting is not None
        assert waiting.due_at.astimezone(SHANGHAI).date() == dt.date(2026, 12, 23)
        assert store.outbox.answers(talent.key) == {
            "applied": 1,
            "not_interested": 1,
            "later": 1,
        }

    run(harness, scenario)
