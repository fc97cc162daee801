"""The chat service every channel shares: what a registration plans, and for whom."""

from __future__ import annotations

import datetime as dt

from bot._chat import ChatService, Who
from bot._service import World, replan
from schedulers import SHANGHAI, load_catalog
from subscriptions import Store, load_size_standard, load_vocab

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
