"""The WeChat official account: callbacks in plain and safe mode, the chat over passive
replies and customer-service messages, reminders as template messages or 订阅通知."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.testclient import TestClient

from bot._app import create_app
from bot._service import World, dispatcher_for, sync_rounds
from bot._settings import Secret, Settings, SettingsError
from bot._wechat import TemplateSpec, WeChatChannel, make_client, reminder_values
from schedulers import SHANGHAI, RecordingChannel, Reminder, SendResult
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store
from tests.bot.fake_wechat import FakeWeChat, serve_fake
from tests.bot.fake_wecom import serve_fake as wecom_fake
from tests.bot.local_smtp import smtp_server

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 5, tzinfo=SHANGHAI).astimezone(dt.UTC)
APP_ID, TOKEN, AES_KEY = "wx0123456789abcdef", "huiqiToken1", "a" * 22 + "B" * 21
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
TALENT = "talent-living-allowance-masters-doctors"
FIELDS = (("first", "title"), ("keyword1", "policy"), ("keyword2", "time"), ("remark", "remark"))


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeChat, str]]:
    """The fake WeChat API."""
    with serve_fake() as served:
        yield served


def settings_for(database_url: str, api: str, *, safe: bool, template: bool = True) -> Settings:
    """An official account on the fake API, in safe (encrypted) or plain mode."""
    return Settings(
        database_url=database_url,
        public_url="https://huiqi.example.cn",
        wechat_app_id=APP_ID,
        wechat_app_secret=Secret("app-secret"),
        wechat_token=Secret(TOKEN),
        wechat_aes_key=Secret(AES_KEY) if safe else None,
        wechat_api_url=api,
        wechat_template_id="tmpl-policy-reminder-01" if template else None,
        wechat_template_fields=FIELDS,
    )


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted token and parts."""
    joined = "".join(sorted([TOKEN, *parts])).encode()
    return hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeChat's scheme


def encrypt(xml: str, nonce: str, timestamp: str) -> tuple[str, str]:
    """Safe mode done by hand (AES-256-CBC, PKCS#7 to 32 bytes, the AppID appended)."""
    key = base64.b64decode(AES_KEY + "=")
    body = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + APP_ID.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    return encrypted, sign(timestamp, nonce, encrypted)


def decrypt(encrypted: str) -> str:
    """A safe-mode reply opened by hand."""
    key = base64.b64decode(AES_KEY + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    length = struct.unpack(">I", plain[16:20])[0]
    assert plain[20 + length :] == APP_ID.encode()
    return plain[20 : 20 + length].decode()


def message(content: str, msg_id: int, *, user: str = OPENID, at: dt.datetime = NOW) -> str:
    """A follower's text message as WeChat posts it."""
    return (
        f"<xml><ToUserName><![CDATA[gh_huiqi]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event(name: str, *, user: str = OPENID, key: str = "", at: dt.datetime = NOW) -> str:
    """A follow, unfollow or menu event as WeChat posts it."""
    return (
        f"<xml><ToUserName><![CDATA[gh_huiqi]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{name}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def post(client: TestClient, xml: str, nonce: str, *, safe: bool) -> tuple[int, str]:
    """Post a callback as WeChat does in either mode: (status, the reply's Content or body)."""
    ts = str(int(NOW.timestamp()))
    query = {"signature": sign(ts, nonce), "timestamp": ts, "nonce": nonce, "openid": OPENID}
    body = xml
    if safe:
        encrypted, msg_signature = encrypt(xml, nonce, ts)
        query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
        body = (
            "<xml><ToUserName><![CDATA[gh_huiqi]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
    response = client.post("/wechat/callback", params=query, content=body.encode())
    if response.status_code != 200 or not response.text.startswith("<xml>"):
        return response.status_code, response.text
    reply = ET.fromstring(response.text)  # noqa: S314 - our own app's reply
    if safe:
        encrypted = reply.findtext("Encrypt") or ""
        signature = reply.findtext("MsgSignature") or ""
        stamp, nonce_back = reply.findtext("TimeStamp") or "", reply.findtext("Nonce") or ""
        assert signature == sign(stamp, nonce_back, encrypted)
        reply = ET.fromstring(decrypt(encrypted))  # noqa: S314
    assert reply.findtext("ToUserName") == OPENID
    assert reply.findtext("MsgType") == "text"
    return 200, reply.findtext("Content") or ""


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
def test_the_chat_through_the_callback(
    fake: tuple[FakeWeChat, str], tmp_path: Path, safe: bool
) -> None:
    """Server check, follow, the guided registration typed, 可申报, 政策 by name, 日历 and
    unfollow, in plain and safe mode, each answered by a passive reply within WeChat's 5 s."""
    api, base = fake
    settings = settings_for(f"sqlite:///{tmp_path / 'huiqi.db'}", base, safe=safe)
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        ts = str(int(NOW.timestamp()))
        check = {"signature": sign(ts, "n0"), "timestamp": ts, "nonce": "n0", "echostr": "e42"}
        assert client.get("/wechat/callback", params=check).text == "e42"
        forged = check | {"signature": "0" * 40}
        assert client.get("/wechat/callback", params=forged).status_code == 403

        status, welcome = post(client, event("subscribe"), "n1", safe=safe)
        assert (status, welcome.split("\n")[0]) == (
            200,
            "惠企政策提醒：登记企业情况后，我会告诉您能申报哪些政策、为什么，并在每个批次开始和截止前提醒您。",
        )
        answers = {}
        for number, said in enumerate(
            ["注册", "鄂州某汽车零部件有限公司", "汽车", "180", "1.2亿", "1,4", "4", "确认"], 2
        ):
            answers[said] = post(client, message(said, 100 + number), f"n{number}", safe=safe)[1]
        assert answers["汽车"] == "行业：C36（汽车制造业）\n第3步：从业人数是多少？"
        assert answers["确认"].startswith("已登记：鄂州某汽车零部件有限公司\n行业：C36")
        _, found = post(client, message("可申报", 201), "m1", safe=safe)
        assert found.startswith("可申报的政策（第1/")
        assert len(found.encode()) <= 2048
        _, policy = post(client, message("政策 千名引硕", 202), "m2", safe=safe)
        assert policy.startswith("企业“千名引硕工程”人才生活补贴")
        assert "政策详情与原文：https://huiqi.example.cn/policies/" + TALENT in policy
        _, calendar = post(client, message("日历", 203), "m3", safe=safe)
        assert "https://huiqi.example.cn/feeds/e/" in calendar
        # WeChat retries a message it got no answer to: the retry is not answered again.
        assert post(client, message("日历", 203), "m3", safe=safe) == (200, "success")
        store: Store = client.app.state.runtime.store  # type: ignore[attr-defined]
        subscriber = store.registry.subscriber("wechat", OPENID, display_name=None, now=NOW)
        assert store.registry.subscriber_active(subscriber)
        assert post(client, event("unsubscribe", at=NOW), "u1", safe=safe) == (200, "success")
        assert not store.registry.subscriber_active(subscriber)
        # What did not fit in one passive reply (2,048 bytes) followed as a message.
        [rest] = api.texts(OPENID)
        assert rest.endswith("下一页：发送“可申报 2”")
        assert len(rest.encode()) <= 2048


def test_refused_callbacks(fake: tuple[FakeWeChat, str], tmp_path: Path) -> None:
    """A bad signature, a stale timestamp, malformed XML, and (in safe mode) a plain message
    or a ciphertext signed with another token are refused with 403; nothing is answered."""
    api, base = fake
    settings = settings_for(f"sqlite:///{tmp_path / 'huiqi.db'}", base, safe=True)
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        ts = str(int(NOW.timestamp()))
        old = str(int((NOW - dt.timedelta(minutes=6)).timestamp()))
        good = {"signature": sign(ts, "x"), "timestamp": ts, "nonce": "x"}
        body = message("帮助", 1).encode()

        def status(query: dict[str, str], content: bytes) -> int:
            return client.post("/wechat/callback", params=query, content=content).status_code

        assert status(good | {"signature": "f" * 40}, body) == 403
        assert status({"signature": sign(old, "x"), "timestamp": old, "nonce": "x"}, body) == 403
        assert status(good, body) == 403  # plain while safe mode is on
        encrypted, msg_signature = encrypt(message("帮助", 2), "x", ts)
        wrapped = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        aes = good | {"encrypt_type": "aes"}
        assert status(aes | {"msg_signature": "0" * 40}, wrapped) == 403
        assert status(aes | {"msg_signature": msg_signature}, b"<xml><Encrypt>") == 403
        assert status(aes | {"msg_signature": msg_signature}, wrapped) == 200
        assert client.post("/wechat/callback", content=b"x" * 70_000).status_code == 413
    assert api.custom == []


def test_plain_mode_refuses_entities_and_reused_queries(
    fake: tuple[FakeWeChat, str], tmp_path: Path
) -> None:
    """In plain mode (the signature covers only the query) a body with XML entities is
    refused unparsed, and a captured signed query carrying another message is refused; a
    retry of the same message is answered `success` once more, not handled again."""
    api, base = fake
    settings = settings_for(f"sqlite:///{tmp_path / 'huiqi.db'}", base, safe=False)
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        ts = str(int(NOW.timestamp()))
        query = {"signature": sign(ts, "q1"), "timestamp": ts, "nonce": "q1"}
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            + message("&b;", 1).replace("<![CDATA[&b;]]>", "&b;")
        )
        assert (
            client.post("/wechat/callback", params=query, content=bomb.encode()).status_code == 403
        )

        def send(xml: str) -> tuple[int, str]:
            answer = client.post("/wechat/callback", params=query, content=xml.encode())
            return answer.status_code, answer.text

        status, first = send(message("帮助", 7))
        assert status == 200
        assert "惠企政策提醒" in first
        assert send(message("帮助", 7)) == (200, "success")  # WeChat's retry
        assert send(message("退订", 8))[0] == 403  # the same signed query, another message
    assert api.custom == []


def test_a_slow_answer_goes_out_as_a_customer_service_message(
    fake: tuple[FakeWeChat, str], tmp_path: Path
) -> None:
    """When the work outlasts WeChat's 5 seconds, the callback answers `success` at once and
    the reply follows through the customer-service API (token fetched once)."""
    api, base = fake
    settings = settings_for(f"sqlite:///{tmp_path / 'huiqi.db'}", base, safe=False)
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        runtime.wechat.passive_seconds = 0.0  # every answer is "too slow"
        assert post(client, message("帮助", 1), "s1", safe=False) == (200, "success")
        assert client.portal is not None
        client.portal.call(runtime.wechat.drain)
    [text] = api.texts(OPENID)
    assert text.startswith("惠企政策提醒：")
    assert api.tokens_issued == 1


def test_reminders_as_template_messages(fake: tuple[FakeWeChat, str], store: Store) -> None:
    """A reminder goes out as one template message: the configured fields filled from it and
    cut to WeChat's lengths, the policy page as its link."""
    api, base = fake
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
    spec = TemplateSpec("tmpl-1", (*FIELDS, ("thing5", "title")))
    channel = WeChatChannel(make_client(APP_ID, "app-secret", base), spec, lambda: at)
    sub = store.registry.subscriber("wechat", OPENID, display_name=None, now=NOW)
    sync_rounds(store, WORLD.catalog, now=NOW)
    key = next(
        r.key
        for r in store.rounds.current_rounds()
        if r.policy_id == TALENT and r.close == dt.date(2026, 12, 25)
    )
    store.outbox.enqueue([Reminder(sub, key, 1, "open", at)], now=NOW)
    dispatcher = dispatcher_for(
        WORLD, store, {"wechat": channel}, clock=lambda: at, public_url="https://huiqi.example.cn"
    )
    assert asyncio.run(dispatcher.tick()).sent == 1
    [sent] = api.templates
    assert sent["touser"] == OPENID
    assert sent["template_id"] == "tmpl-1"
    assert sent["url"] == f"https://huiqi.example.cn/policies/{TALENT}"
    data = {name: value["value"] for name, value in sent["data"].items()}
    assert data["first"] == "【申报开始】企业“千名引硕工程”人才生活补贴"
    assert data["keyword1"] == "企业“千名引硕工程”人才生活补贴"
    assert data["keyword2"].startswith("2026-12-01 至 2026-12-25")
    assert data["thing5"] == "【申报开始】企业“千名引硕工程”人才生…"  # 20 characters at most
    assert data["remark"].startswith("点击查看政策详情")


def test_template_errcodes_tokens_and_the_daily_quota(fake: tuple[FakeWeChat, str]) -> None:
    """43004 (unfollowed) is permanent, 45009 waits, 40001 refreshes the token once, a bad
    template id stops the channel; past the daily quota sends wait for tomorrow."""
    api, base = fake
    clock = [dt.datetime(2026, 12, 1, 23, 0, tzinfo=SHANGHAI)]
    spec = TemplateSpec("tmpl-1", FIELDS)
    channel = WeChatChannel(make_client(APP_ID, "app-secret", base), spec, lambda: clock[0])
    text = "【申报开始】某政策\n申报时间：2026-12-01 至 2026-12-25（已确认）"
    assert asyncio.run(channel.send("o1", text)).status == "ok"
    api.valid_token = "EXPIRED"  # noqa: S105 - WeChat answers 40001 to the cached token
    assert asyncio.run(channel.send("o1", text)).status == "ok"
    assert api.tokens_issued == 2
    api.errors = {
        "o2": [{"errcode": 43004, "errmsg": "require subscribe"}],
        "o3": [{"errcode": 45009, "errmsg": "reach max api daily quota limit"}],
        "o4": [{"errcode": 40037, "errmsg": "invalid template_id"}],
        "o5": [{"errcode": 47003, "errmsg": "argument invalid! data.thing1.value"}],
    }
    assert asyncio.run(channel.send("o2", text)) == SendResult(
        "permanent", None, "errcode 43004: require subscribe"
    )
    assert asyncio.run(channel.send("o3", text)).status == "retry_after"
    refused = asyncio.run(channel.send("o4", text))
    assert (refused.status, refused.channel_down) == ("transient", True)
    assert asyncio.run(channel.send("o5", text)).status == "rejected"
    assert len(api.templates) == 2
    capped = WeChatChannel(channel.client, spec, lambda: clock[0], daily_quota=2)
    assert [asyncio.run(capped.send("o1", text)).status for _ in range(2)] == ["ok", "ok"]
    waiting = asyncio.run(capped.send("o1", text))
    assert (waiting.status, waiting.retry_after) == ("retry_after", 3900.0)  # until 00:05
    clock[0] = dt.datetime(2026, 12, 2, 0, 5, tzinfo=SHANGHAI)
    assert asyncio.run(capped.send("o1", text)).status == "ok"  # a new day, a new quota
    assert len(api.templates) == 5


def test_subscribe_notices_and_text_without_a_template(fake: tuple[FakeWeChat, str]) -> None:
    """In 订阅通知 mode a reminder goes to subscribe/bizsend with the page link; without a
    template id it goes as customer-service text in parts within 2,048 bytes."""
    api, base = fake
    client = make_client(APP_ID, "app-secret", base)
    notice = WeChatChannel(client, TemplateSpec("sub-1", FIELDS, "subscribe"), lambda: NOW)
    text = f"【申报开始】某政策\n政策详情与原文：https://huiqi.example.cn/policies/{TALENT}"
    assert asyncio.run(notice.send("o1", text)).status == "ok"
    [sent] = api.bizsends
    assert (sent["template_id"], sent["page"]) == (
        "sub-1",
        f"https://huiqi.example.cn/policies/{TALENT}",
    )
    plain = WeChatChannel(client, None, lambda: NOW)
    assert plain.capabilities.limit == 2048
    assert asyncio.run(plain.reply("o1", "长" * 1500)).status == "ok"
    assert [len(t.encode()) <= 2048 for t in api.texts("o1")] == [True, True, True]
    api.errors = {"o9": [{"errcode": 45015, "errmsg": "response out of time limit"}]}
    assert asyncio.run(plain.reply("o9", "迟到的回复")).status == "rejected"


def test_values_read_from_a_reminder_with_several_entries() -> None:
    """A message of several reminders names how many in its title and the first policy."""
    values = reminder_values(
        "您有 2 条政策申报提醒：\n\n1. 【申报开始】甲政策\n申报时间：2026-12-01 至 "
        "2026-12-25（已确认）\n\n2. 【明天截止（12月3日）】乙政策\n承办：市经信局 027-1"
    )
    assert values["title"] == "您有 2 条政策申报提醒："
    assert (values["kind"], values["policy"]) == ("申报开始", "甲政策")
    assert values["deadline"] == "2026-12-25"
    assert values["contact"] == "市经信局 027-1"


def test_settings_of_the_official_account() -> None:
    """The account is on with its three keys; half of them, or values in the wrong shape,
    stop start-up naming the key; secrets never show."""
    keys = {
        "HUIQI_WECHAT_APP_ID": APP_ID,
        "HUIQI_WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
        "HUIQI_WECHAT_TOKEN": TOKEN,
    }
    on = Settings.from_env(keys | {"HUIQI_WECHAT_TEMPLATE_FIELDS": "thing1=policy,time2=deadline"})
    assert "wechat" in on.channels
    assert on.wechat_template_fields == (("thing1", "policy"), ("time2", "deadline"))
    assert "0123456789abcdef0123456789abcdef" not in repr(on)
    assert "0123456789abcdef0123456789abcdef" in on.secret_values()
    cases = {
        "HUIQI_WECHAT_APP_ID": ({"HUIQI_WECHAT_APP_ID": APP_ID}, "WeChat is half configured"),
        "id": (keys | {"HUIQI_WECHAT_APP_ID": "wxNOPE"}, "HUIQI_WECHAT_APP_ID='wxNOPE'"),
        "aes": (keys | {"HUIQI_WECHAT_AES_KEY": "short"}, "43-letter EncodingAESKey"),
        "fields": (keys | {"HUIQI_WECHAT_TEMPLATE_FIELDS": "k1=weather"}, "'k1=weather'"),
        "mode": (keys | {"HUIQI_WECHAT_SEND_MODE": "sms"}, "template (模板消息) or subscribe"),
        "quota": (keys | {"HUIQI_WECHAT_DAILY_QUOTA": "lots"}, "HUIQI_WECHAT_DAILY_QUOTA='lots'"),
    }
    for name, (env, said) in cases.items():
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(env)
        assert said in str(refused.value), name
    admin = Settings.from_env({"HUIQI_ADMINS": f"wechat:{OPENID}"})
    assert admin.admins == (f"wechat:{OPENID}",)


def test_every_channel_runs_at_once(fake: tuple[FakeWeChat, str], tmp_path: Path) -> None:
    """The official account, the WeCom app, e-mail and the console in one app: /healthz
    lists each and the dispatcher sends on each."""
    _, base = fake
    with wecom_fake() as (_, wecom_base), smtp_server() as (_, smtp_port):
        settings = replace(
            settings_for(f"sqlite:///{tmp_path / 'huiqi.db'}", base, safe=True),
            wecom_corp_id="ww1234567890abcdef",
            wecom_agent_id="1000002",
            wecom_secret=Secret("wecom-secret"),
            wecom_token=Secret("QDG6eK"),
            wecom_aes_key=Secret("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"),
            wecom_api_url=wecom_base,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_tls="none",
            smtp_from="noreply@huiqi.example.cn",
        )
        assert settings.channels == ("console", "wecom", "wechat", "email")
        console = RecordingChannel(clock=lambda: NOW)
        app = create_app(settings, WORLD, clock=lambda: NOW, channels={"console": console})
        with TestClient(app) as client:
            runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
            assert set(runtime.dispatcher.channels) == {"console", "wecom", "wechat", "email"}
            assert set(client.get("/healthz").json()["channels"]) >= {"wecom", "wechat", "email"}
