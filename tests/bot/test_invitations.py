"""Invitations: an enterprise the bureau imported gets a code and a link; its contact's chat
(绑定 CODE, Telegram's /start join-CODE) or e-mail sign-up attaches to the bureau's record
instead of making a second one."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
from starlette.testclient import TestClient

from bot._app import create_app
from bot._settings import Settings
from bot.chat import ChatService, Who
from bot.console import PATHS
from subscriptions.store import Store
from tests.bot.local_smtp import smtp_server
from tests.bot.test_console import NOW, WORLD, client_for, sign_in

PROFILE = {"name": "鄂州光谷精密", "industry": "C39", "employees": 120}


def test_codes_are_made_once_renewed_and_read_loosely(store: Store) -> None:
    eid = store.registry.save_enterprise("鄂州光谷精密", PROFILE, now=NOW)
    code = store.registry.invitation(eid, now=NOW)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", code)
    assert store.registry.invitation(eid, now=NOW) == code
    found = store.registry.invited(f" {code[:4].lower()}-{code[4:]} ")
    assert found is not None
    assert found.id == eid
    assert store.registry.invited("ABC") is None
    assert store.registry.invited("") is None
    renewed = store.registry.invitation(eid, now=NOW, renew=True)
    assert renewed != code
    assert store.registry.invited(code) is None, "the old code stops working"
    assert store.registry.invitations() == {eid: renewed}


def test_joining_attaches_to_the_bureaus_record_and_leaving_keeps_it(store: Store) -> None:
    eid = store.registry.save_enterprise("鄂州光谷精密", PROFILE, now=NOW)
    store.registry.invitation(eid, now=NOW)
    chat = store.registry.subscriber("wechat", "oUser1", display_name=None, now=NOW)
    assert store.registry.join(chat, eid, now=NOW) is None
    assert store.registry.join(chat, eid, now=NOW) is None, "joining twice is joining once"
    registered = store.registry.registration(chat)
    assert registered is not None
    assert registered.id == eid
    other = store.registry.save_enterprise("另一家", {"name": "另一家", "industry": "C30"}, now=NOW)
    current = store.registry.join(chat, other, now=NOW)
    assert current is not None
    assert current.name == "鄂州光谷精密"
    assert store.registry.unregister(chat, now=NOW)
    assert [e.name for e in store.registry.enterprises()] == ["鄂州光谷精密", "另一家"]


def test_bind_in_chat_and_the_telegram_start_link(store: Store) -> None:
    eid = store.registry.save_enterprise("鄂州光谷精密", PROFILE, now=NOW)
    code = store.registry.invitation(eid, now=NOW)
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    wechat = Who("wechat", "oUser1", "oUser1", "王经理")
    wrong = service.handle_text(wechat, "绑定 ZZZZ9999")
    assert "邀请码“ZZZZ9999”无效或已更换" in wrong[0].text
    assert service.handle_text(wechat, "绑定")[0].text.startswith("请发送 绑定")
    bound = service.handle_text(wechat, f"绑定 {code.lower()}")
    assert "已关联经信局登记的“鄂州光谷精密”" in bound[0].text
    assert "鄂州光谷精密" in bound[1].text
    me = store.registry.subscriber("wechat", "oUser1", display_name=None, now=NOW)
    assert {r["subscriber_id"] for r in store.outbox.rows()} == {me}, "its reminders are planned"
    telegram = Who("telegram", "1001", "1001", "Li", buttons=True)
    started = service.handle_text(telegram, f"/start join-{code}")
    assert "已关联经信局登记的“鄂州光谷精密”" in started[0].text
    assert len(store.registry.enterprises()) == 1, "no second record"
    registered = store.registry.registration(
        store.registry.subscriber("telegram", "1001", display_name=None, now=NOW)
    )
    assert registered is not None
    assert registered.id == eid
    again = service.handle_text(
        wechat,
        "绑定 "
        + store.registry.invitation(
            store.registry.save_enterprise(
                "另一家", {"name": "另一家", "industry": "C30"}, now=NOW
            ),
            now=NOW,
        ),
    )
    assert "本聊天已关注“鄂州光谷精密”" in again[0].text


def test_the_invitation_page_and_an_email_sign_up_from_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    store = Store.open(url)
    eid = store.registry.save_enterprise("鄂州光谷精密", PROFILE, now=NOW)
    code = store.registry.invitation(eid, now=NOW)
    store.close()
    with smtp_server() as (box, port):
        settings = Settings(
            database_url=url,
            public_url="https://huiqi.example.cn",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_tls="none",
            smtp_from="鄂州市经信局惠企政策提醒 <noreply@huiqi.example.cn>",
        )
        app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
        with TestClient(app) as client:
            page = client.get(f"/join/{code}")
            assert page.status_code == 200
            assert "鄂州光谷精密：接收申报提醒" in page.text
            assert f"绑定 {code}" in page.text
            assert "<svg" in page.text
            assert client.get("/join/AAAA2222").status_code == 404
            forged = client.post(
                "/email/subscribe", data={"invite": "AAAA2222", "address": "a@b.cn"}
            )
            assert forged.status_code == 404
            asked = client.post(
                "/email/subscribe", data={"invite": code, "address": "hr@gg.example.cn"}
            )
            assert asked.status_code == 200, asked.text
            assert "请查收确认邮件" in asked.text
            body = box.messages[0].get_body(preferencelist=("plain",))
            assert body is not None
            token = body.get_content().split("/email/confirm?t=")[1].split()[0]
            done = client.post("/email/confirm", data={"t": token})
            assert done.status_code == 200, done.text
            assert "已订阅：鄂州光谷精密" in done.text
    store = Store.open(url)
    try:
        assert [e.name for e in store.registry.enterprises()] == ["鄂州光谷精密"]
        subscriber = store.registry.subscriber(
            "email", "hr@gg.example.cn", display_name=None, now=NOW
        )
        registered = store.registry.registration(subscriber)
        assert registered is not None
        assert registered.id == eid
        assert registered.profile == PROFILE, "the bureau's record is kept as it was"
    finally:
        store.close()


def test_the_console_invites_imported_enterprises(console_db: str) -> None:
    sheet = "企业名称,行业\n鄂州新材料,C30\n".encode()
    with client_for(console_db, public_url="https://huiqi.example.cn") as client:
        client.headers["origin"] = "https://huiqi.example.cn"
        csrf = sign_in(client, "bian")
        preview = client.post(
            PATHS.import_,
            data={"csrf": csrf, "step": "preview"},
            files={"file": ("a.csv", sheet, "text/csv")},
        )
        payload = re.search(r'name="payload" value="([^"]+)"', preview.text)
        assert payload is not None
        client.post(
            PATHS.import_,
            data={
                "csrf": csrf,
                "step": "confirm",
                "payload": payload.group(1),
                "filename": "a.csv",
            },
        )
        listed = client.get("/admin/enterprises").text
        found = re.search(r'href="/admin/enterprises/(\d+)/invite"', listed)
        assert found is not None
        invite = client.get(f"/admin/enterprises/{found.group(1)}/invite").text
        code = re.search(r"绑定 ([A-Z2-9]{8})", invite)
        assert code is not None
        assert f"https://huiqi.example.cn/join/{code.group(1)}" in invite
        export = client.get("/admin/enterprises.xlsx")
        rows = list(
            openpyxl.load_workbook(io.BytesIO(export.content))
            .worksheets[0]
            .iter_rows(values_only=True)
        )
        assert rows[0][-2:] == ("邀请码", "邀请链接")
        assert rows[1][-2:] == (code.group(1), f"https://huiqi.example.cn/join/{code.group(1)}")
        renewed = client.post(
            PATHS.invite, data={"csrf": csrf, "enterprise": found.group(1), "renew": "1"}
        )
        assert renewed.status_code == 303
        assert code.group(1) not in client.get(renewed.headers["location"]).text
        client.cookies.clear()
        csrf_viewer = sign_in(client, "cha")
        refused = client.post(
            PATHS.invite, data={"csrf": csrf_viewer, "enterprise": found.group(1), "renew": "1"}
        )
        assert refused.status_code == 403
