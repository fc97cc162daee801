"""The chat service every channel shares: what a registration plans, and for whom."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from bot._chat import ChatService, Who, strip_tags
from bot._service import World, replan
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
    other = store.subscriber("console", "imported", display_name=None, now=NOW)
    store.subscribe(other, store.save_enterprise("甲公司", PROFILE, now=NOW), now=NOW)
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    reply = service.handle_text(
        who, "注册 名称=乙公司 行业=C39 人数=180 营收=12000 资质=高新技术企业"
    )
    assert reply[0].text.startswith("<b>已登记：乙公司</b>")
    me = store.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    planned = {row["subscriber_id"] for row in store.outbox()}
    assert planned == {me}
    assert replan(store, WORLD, now=NOW) > 0  # the hourly job plans everyone else
    assert {row["subscriber_id"] for row in store.outbox()} == {me, other}


def test_changed_reminder_settings_apply_to_planned_reminders(store: Store) -> None:
    """提醒设置 reshapes reminders already queued: new offsets and time, muted policy gone."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    service.handle_text(who, "注册 名称=乙公司 行业=C39 人数=180 营收=12000 资质=高新技术企业")
    me = store.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    talent = "talent-living-allowance-masters-doctors"

    def waiting() -> list[dict[str, object]]:
        return [r for r in store.outbox() if r["subscriber_id"] == me and r["status"] == "pending"]

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
    from bot._chat import is_admin

    admins = ("tg:7001", "wecom:ZhangSan")
    assert [
        is_admin("telegram", "7001", admins),
        is_admin("telegram", "7002", admins),
        is_admin("wecom", "zhangsan", admins),
        is_admin("wecom", "ZHANGSAN", admins),
        is_admin("wecom", "7001", admins),
        is_admin("telegram", "zhangsan", admins),
    ] == [True, False, True, True, False, False]


@given(st.text())
def test_plain_text_of_an_escaped_reply_is_the_text(text: str) -> None:
    """What Jinja escaped for Telegram comes back to WeCom as written: quotes too (&#34;)."""
    assert strip_tags(f"<b>{escape(text)}</b>") == text
