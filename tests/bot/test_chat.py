"""The chat service every channel shares: what a registration plans, and for whom."""

from __future__ import annotations

import datetime as dt
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from bot._commands import normalize
from bot._service import World, replan
from bot.chat import ChatService, Who
from schedulers import SHANGHAI
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 5, tzinfo=SHANGHAI).astimezone(dt.UTC)
PROFILE = {
    "name": "鄂州某光电科技有限公司",
    "industry": "C39",
    "employees": 180,
    "revenue_wan": 12000,
    "qualifications": ["高新技术企业"],
}


def test_registration_plans_only_the_new_subscriber(store: Store) -> None:
    """A chat registration plans its own reminders at once and leaves the rest to the job."""
    other = store.registry.subscriber("console", "imported", display_name=None, now=NOW)
    store.registry.subscribe(
        other, store.registry.save_enterprise("甲公司", PROFILE, now=NOW), now=NOW
    )
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    reply = service.handle_text(
        who, "注册 名称=乙公司 行业=C39 人数=180 营收=12000 资质=高新技术企业"
    )
    assert reply[0].text.startswith("<b>已登记：乙公司</b>")
    me = store.registry.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    planned = {row["subscriber_id"] for row in store.outbox.rows()}
    assert planned == {me}
    assert replan(store, WORLD, now=NOW) > 0  # the hourly job plans everyone else
    assert {row["subscriber_id"] for row in store.outbox.rows()} == {me, other}


def test_changed_reminder_settings_apply_to_planned_reminders(store: Store) -> None:
    """提醒设置 reshapes reminders already queued: new offsets and time, muted policy gone."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    service.handle_text(who, "注册 名称=乙公司 行业=C39 人数=180 营收=12000 资质=高新技术企业")
    me = store.registry.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    talent = "talent-living-allowance-masters-doctors"

    def waiting() -> list[dict[str, object]]:
        return [
            r for r in store.outbox.rows() if r["subscriber_id"] == me and r["status"] == "pending"
        ]

    kinds = {r["kind"] for r in waiting() if talent in str(r["round_key"])}
    assert {"open", "close-14", "close-7", "close-3", "close-1"} <= kinds
    service.handle_text(who, "提醒设置 提前=7,1 时间=15:00")
    after = waiting()
    assert {r["kind"] for r in after if talent in str(r["round_key"])} == {
        "open",
        "close-7",
        "close-1",
    }
    later = [r["due_at"].astimezone(SHANGHAI) for r in after if r["due_at"] > NOW]  # type: ignore[operator,attr-defined]
    assert later
    assert {d.time() for d in later} == {dt.time(15, 0)}
    service.handle_text(who, f"提醒设置 屏蔽={talent}")
    assert not [r for r in waiting() if talent in str(r["round_key"])]


def test_admins_named_per_channel_wecom_case_insensitive() -> None:
    """HUIQI_ADMINS names `tg:ID` and `wecom:USERID`; WeCom ids match whatever their case."""
    from bot.chat import is_admin

    admins = ("tg:7001", "wecom:ZhangSan")
    assert [
        is_admin("telegram", "7001", admins),
        is_admin("telegram", "7002", admins),
        is_admin("wecom", "zhangsan", admins),
        is_admin("wecom", "ZHANGSAN", admins),
        is_admin("wecom", "7001", admins),
        is_admin("telegram", "zhangsan", admins),
    ] == [True, False, True, True, False, False]


# A comma or semicolon ending a name reads as the separator before the next field, as in
# 名称：甲公司，行业：C39 (full-width ，and ；fold to , and ;).
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Z")), min_size=1
).filter(
    lambda t: (
        t == t.strip()
        and "=" not in t
        and len(t) <= 100
        and not normalize(t).rstrip().endswith((",", ";"))
    )
)


@settings(max_examples=40, deadline=None)
@given(NAMES)
def test_a_name_reads_as_written_on_every_channel(name: str) -> None:
    """An enterprise name comes back to WeCom as written (quotes, &, < too) and to Telegram
    escaped inside its HTML: each channel's form is rendered, not stripped from the other."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/huiqi.db")
        try:
            service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://h.example")
            who = Who("wecom", "u1", "u1", "u1")
            [reply] = service.handle_text(who, f"注册 名称={name} 行业=C39 人数=10 营收=100")
        finally:
            store.close()
    if not reply.words.startswith("已登记："):
        return  # a name the registration refuses (it says why)
    written = normalize(name)  # as the command parser reads it (NFKC: full-width folded)
    assert reply.words.splitlines()[0] == f"已登记：{written}"
    assert reply.text.splitlines()[0] == f"<b>已登记：{escape(written)}</b>"


def test_a_guided_registration_outlives_the_process(store: Store) -> None:
    """The guided registration's answers are in the store: a restarted service (or a second
    process) takes the next answer where the first left off; a day-old one starts over."""
    clock = [NOW]
    who = Who("telegram", "42", "42", "张三", buttons=True)

    def service() -> ChatService:
        return ChatService(WORLD, store, clock=lambda: clock[0], public_url="https://h.example")

    def say(text: str) -> str:
        return service().handle_text(who, text)[0].text

    assert "第1步" in say("/register")
    assert "第2步" in say("鄂州某光电科技有限公司")
    assert "第3步" in service().handle_button(who, "reg:div:C39")[0].text
    assert "第4步" in say("180")
    clock[0] += dt.timedelta(days=2)  # left for two days: the next number is no answer
    assert say("12000").startswith("<b>")  # the help, not step 5
    assert store.chats.draft("telegram", "42") is None
    assert service().handle_button(who, "reg:q:done")[0].text.startswith("这次登记已结束")


def test_an_announcement_confirmed_in_another_process(store: Store) -> None:
    """公告 written to one process and 确认公告 answered by another queue it once."""
    admin = Who("wecom", "boss", "boss", "boss", admin=True)
    store.registry.subscriber("wecom", "member", display_name=None, now=NOW)

    def service() -> ChatService:
        return ChatService(WORLD, store, clock=lambda: NOW, public_url="https://h.example")

    assert "确认发送请回复：确认公告" in service().handle_text(admin, "公告 明天宣讲会")[0].text
    assert service().handle_text(admin, "确认公告")[0].text.startswith("公告已排入发送队列")
    assert service().handle_text(admin, "确认公告")[0].text.startswith("没有待确认的公告")
    assert sum(1 for r in store.outbox.rows() if r["kind"] == "announcement") == 1  # the member


def test_every_command_word_is_answered_on_every_kind_of_chat(store: Store) -> None:
    """Each word of every command gets a reply, with buttons and typed, private and in a group,
    from a member and an admin: the command table has an answer for every command."""
    from bot._commands import COMMAND_WORDS

    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://h.example")
    chats = [
        Who("telegram", "1", "1", "甲", buttons=True),
        Who("telegram", "-5", "2", "乙", group=True, buttons=True),
        Who("wecom", "u1", "u1", "丙"),
        Who("wecom", "boss", "boss", "丁", admin=True),
    ]
    for words in COMMAND_WORDS.values():
        for word in words:
            for who in chats:
                text = word if not word.isascii() or not word.isalpha() else f"/{word}"
                replies = service.handle_text(who, text)
                assert replies, (word, who)
                assert all(r.text.strip() for r in replies), (word, who)


def test_a_round_the_bureau_would_not_publish_is_refused_in_chat(store: Store) -> None:
    """批次 add with last year's dates, or a notice that is no web address, is refused with
    the reason; nothing is recorded."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://h.example")
    admin = Who("wecom", "boss", "boss", "boss", admin=True)
    talent = "talent-living-allowance-masters-doctors"
    said = service.handle_text(admin, f"批次 add {talent} 开始=2025-12-01 截止=2025-12-20")
    assert said[0].words.startswith("批次未发布：批次年份应为 2026 或 2027 年")
    said = service.handle_text(admin, f"批次 add {talent} 截止=2026-12-20 通知=javascript:x")
    assert "通知链接应为 http(s):// 开头的网址" in said[0].words
    assert not [r for r in store.rounds.current_rounds() if r.basis == "confirmed"]


def test_policies_and_categories_named_as_people_write_them(store: Store) -> None:
    """政策, 提醒设置 屏蔽/屏蔽类别 take a few words of a policy's name or a category's Chinese
    name; several matches list each with its id, no match says how to write it."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    talent = "talent-living-allowance-masters-doctors"
    [shown] = service.handle_text(who, "政策 千名引硕")
    assert shown.words.startswith("企业“千名引硕工程”人才生活补贴")
    [quoted] = service.handle_text(who, "政策 “千名引硕工程”")
    assert quoted.words == shown.words
    [several] = service.handle_text(who, "政策 补贴")
    assert several.words.startswith("“补贴”对应7项政策")
    assert f"企业“千名引硕工程”人才生活补贴：政策 {talent}" in several.words
    [none] = service.handle_text(who, "政策 量子纠缠")
    assert none.words.startswith("没找到名称含“量子纠缠”的政策")

    service.handle_text(who, "注册 名称=乙公司 行业=C39 人数=180 营收=12000 资质=高新技术企业")
    me = store.registry.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    [muted] = service.handle_text(who, "提醒设置 屏蔽类别=人才补贴 屏蔽=千名引硕")
    prefs = store.registry.preferences(me)
    assert prefs is not None
    assert (prefs.muted_categories, prefs.muted_policies) == (("talent",), (talent,))
    assert "已屏蔽政策：企业“千名引硕工程”人才生活补贴" in muted.words
    assert "已屏蔽类别：人才补贴" in muted.words
    [bad] = service.handle_text(who, "提醒设置 屏蔽类别=好政策")
    assert bad.words.startswith("没有“好政策”这一类别（可写：奖励、项目资金、")
    [unmuted] = service.handle_text(who, "提醒设置 恢复类别=talent")
    assert "已屏蔽类别" not in unmuted.words


def test_a_guided_registration_typed_where_there_are_no_buttons(store: Store) -> None:
    """On WeCom and WeChat 注册 asks one question at a time and takes typed answers: an
    industry word (汽车 -> C36), 1.2亿, qualifications by number, a district by name, 确认;
    an answer it cannot read is asked again and nothing is saved until 确认."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wechat", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "o6_bm", "o6_bm")

    def say(text: str) -> str:
        return "\n".join(r.words for r in service.handle_text(who, text))

    assert say("注册").endswith("第1步：请输入企业名称。")
    assert say("鄂州某汽车零部件有限公司").startswith("第2步：企业做什么？请输入")
    assert say("汽车") == "行业：C36（汽车制造业）\n第3步：从业人数是多少？"
    assert say("一百八十").startswith("请输入从业人数（整数）")
    assert say("180人").startswith("第4步：上年营业收入是多少？")
    qualifications = say("1.2亿")
    assert "1 高新技术企业\n2 科技型中小企业" in qualifications
    assert say("1，4，金牌").startswith("不认识的资质：金牌。")
    assert say("1,4").startswith("第6步：企业在哪个区？请回复序号或名称")
    assert say("武昌区").startswith("没有“武昌区”这个区。请回复序号或区名（鄂城区、")
    confirm = say("葛店经开区")
    assert "资质：省级专精特新中小企业、高新技术企业\n区域：葛店经开区" in confirm
    assert say("嗯") == "请回复 确认 完成登记，或回复 取消 放弃。"
    me = store.registry.subscriber("wechat", who.chat, display_name=None, now=NOW)
    assert store.registry.registration(me) is None
    assert say("确认").startswith("已登记：鄂州某汽车零部件有限公司")
    found = store.registry.registration(me)
    assert found is not None
    assert found.profile == {
        "name": "鄂州某汽车零部件有限公司",
        "industry": "C36",
        "employees": 180,
        "revenue_wan": 12000,
        "qualifications": ["省级专精特新中小企业", "高新技术企业"],
        "district": "葛店经开区",
    }
