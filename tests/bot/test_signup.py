"""The phone web pages: 我能申报什么, e-mail sign-up with double opt-in, one-click unsubscribe,
calendar links that work inside WeChat; through the whole app and a real local SMTP server."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from schedulers import SHANGHAI
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store
from tests.bot.local_smtp import Mailbox, smtp_server

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 23, 10, 5, tzinfo=SHANGHAI).astimezone(dt.UTC)
PUBLIC = "https://huiqi.example.cn"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800322c) NetType/WIFI"
)
CAR_PARTS = {
    "industry": "汽车",
    "employees": "180",
    "revenue": "1.2亿",
    "qualifications": ["高新技术企业", "省级专精特新中小企业"],
    "district": "葛店经开区",
}


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server."""
    with smtp_server() as served:
        yield served


def app_for(tmp_path: Path, port: int | None) -> TestClient:
    """The whole app on a fresh SQLite store, e-mail through the local server when given."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'huiqi.db'}",
        public_url=PUBLIC,
        smtp_host="127.0.0.1" if port else None,
        smtp_port=port or 587,
        smtp_tls="none",
        smtp_from="鄂州市经信局惠企政策提醒 <noreply@huiqi.example.cn>",
        wechat_qr_url="https://huiqi.example.cn/static/account-qr.png",
    )
    return TestClient(create_app(settings, WORLD, clock=lambda: NOW, channels={}))


def test_what_can_i_apply_for(tmp_path: Path) -> None:
    """The form answers with the explained match, amounts and next rounds; an industry word
    with several meanings offers them; a wrong number says how to write it."""
    with app_for(tmp_path, None) as client:
        empty = client.get("/check")
        assert empty.status_code == 200
        assert "查看可申报政策" in empty.text
        assert "项，可能符合" not in empty.text
        page = client.get("/check", params=CAR_PARTS).text
        found = re.search(r"可以申报 (\d+) 项，可能符合 (\d+) 项", page)
        assert found is not None
        assert int(found.group(1)) >= 1
        assert "✓ " in page
        assert "下一批次：" in page
        assert "支持：" in page
        assert "长按识别二维码" in page
        assert 'src="https://huiqi.example.cn/static/account-qr.png"' in page
        assert "邮件提醒" not in page  # no SMTP configured: no e-mail form
        several = client.get("/check", params={"industry": "光电子"}).text
        assert "“光电子”对应多个行业，请在下面选一个。" in several
        assert 'value="C39"' in several
        wrong = client.get("/check", params={"industry": "C36", "revenue": "很多"}).text
        assert "营业收入请写 12000（万元）、3000万 或 1.2亿。" in wrong


def test_calendar_links_where_people_are(tmp_path: Path) -> None:
    """In WeChat's browser the page says to open the system browser first; Apple gets
    webcal, Google its add-by-URL link; a category's page subscribes to that category."""
    with app_for(tmp_path, None) as client:
        inside = client.get("/", params={"category": "talent"}, headers={"User-Agent": WECHAT_UA})
        assert "您正在微信里浏览：这里无法直接订阅日历" in inside.text
        assert 'href="webcal://huiqi.example.cn/feeds/category/talent.ics"' in inside.text
        google = "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fhuiqi.example.cn"
        assert google + "%2Ffeeds%2Fcategory%2Ftalent.ics" in inside.text
        assert "Outlook 网页版：日历 → 添加日历 → 从 Internet 订阅" in inside.text
        outside = client.get("/", headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/604.1"})
        assert "无法直接订阅日历" not in outside.text


def test_email_double_opt_in_and_one_click_unsubscribe(
    smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    """Sign-up sends only a confirmation; opening its link shows a button (a scanner's GET
    confirms nothing); the press registers the enterprise, plans its weekly digest and mails
    the private feed; a one-click POST unsubscribes; each link works once."""
    box, port = smtp
    with app_for(tmp_path, port) as client:
        form = {**CAR_PARTS, "name": "鄂州某汽车零部件有限公司", "address": "hr@example.cn"}
        signed = client.post("/email/subscribe", data=form | {"weekly": "1"})
        assert signed.status_code == 200
        assert "确认邮件已发到 hr@example.cn" in signed.text
        [confirmation] = box.to("hr@example.cn")
        assert confirmation["Subject"] == "请确认订阅鄂州惠企政策申报提醒"
        assert "List-Unsubscribe" not in confirmation  # not a subscriber yet
        body = confirmation.get_body(preferencelist=("plain",))
        assert body is not None
        link = re.search(r"https://huiqi\.example\.cn(/email/confirm\?t=\S+)", body.get_content())
        assert link is not None
        store: Store = client.app.state.runtime.store  # type: ignore[attr-defined]
        shown = client.get(link.group(1))
        assert "确认订阅" in shown.text
        assert store.registry.subscriptions() == []  # opening the link is not consent
        token = link.group(1).split("t=", 1)[1]
        done = client.post("/email/confirm", data={"t": token})
        assert done.status_code == 200
        assert "已订阅：鄂州某汽车零部件有限公司" in done.text
        [subscription] = store.registry.subscriptions()
        assert (subscription.channel, subscription.weekly) == ("email", True)
        kinds = {r["kind"] for r in store.outbox.rows()}
        assert kinds
        assert all(str(k).startswith("weekly-") for k in kinds)  # a digest, not each round
        welcome = box.to("hr@example.cn")[1]
        assert welcome["Subject"] == "已订阅：鄂州某汽车零部件有限公司的政策申报提醒"
        text = welcome.get_body(preferencelist=("plain",))
        assert text is not None
        feed = re.search(r"https://huiqi\.example\.cn(/feeds/e/\S+\.ics)", text.get_content())
        assert feed is not None
        assert client.get(feed.group(1)).status_code == 200
        assert client.post("/email/confirm", data={"t": token}).status_code == 404  # used
        unsubscribe = welcome["List-Unsubscribe"].strip("<>").removeprefix(PUBLIC)
        assert client.get(unsubscribe).status_code == 200  # a page with a button
        assert store.registry.subscriptions() != []
        gone = client.post(unsubscribe, content=b"List-Unsubscribe=One-Click")
        assert "已退订" in gone.text
        assert store.registry.subscriptions() == []


def test_bad_sign_ups_are_refused_and_the_form_cannot_mail_bomb(
    smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    """A malformed address (or one with a header in it), a missing name or industry get a
    400 that says what is wrong; past three confirmation mails a day to one address, 429."""
    box, port = smtp
    with app_for(tmp_path, port) as client:
        base = {**CAR_PARTS, "name": "甲公司"}
        for address in ("not-an-address", "hr@example.cn\r\nBcc: all@example.cn"):
            refused = client.post("/email/subscribe", data=base | {"address": address})
            assert refused.status_code == 400
            assert "请填写有效的邮箱地址" in refused.text
        nameless = client.post("/email/subscribe", data=CAR_PARTS | {"address": "a@example.cn"})
        assert "请填写企业名称" in nameless.text
        statuses = [
            client.post("/email/subscribe", data=base | {"address": "b@example.cn"}).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        huge = client.post("/email/subscribe", content=b"a=" + b"x" * 20_000)
        assert huge.status_code == 413
        assert client.get("/email/confirm", params={"t": "forged"}).status_code == 404
        assert client.post("/email/unsubscribe", params={"t": "forged"}).status_code == 404
    assert len(box.messages) == 3
