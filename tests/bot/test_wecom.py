"""WeCom: WXBizMsgCrypt callbacks, the chat over app messages, the sender, the group robots."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient
from wechatpy.enterprise.crypto import WeChatCrypto

from bot._app import create_app
from bot._service import World, add_round, dispatcher_for, sync_rounds
from bot._settings import Secret, Settings
from bot._wecom import (
    CallbackError,
    CallbackGuard,
    RobotChannel,
    WeComChannel,
    make_client,
    parse_robots,
    reply_text,
)
from bot.chat import ChatService, Who
from schedulers import (
    SHANGHAI,
    Action,
    RecordingChannel,
    Reminder,
    SendResult,
    split_long,
    utf8_size,
)
from schedulers.data import load_catalog
from schedulers.dispatch import Dispatcher, PerAddress
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store, StoredRound
from tests.bot.fake_wecom import FakeWeCom, serve_fake

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 5, tzinfo=SHANGHAI).astimezone(dt.UTC)
CORP, TOKEN, AES_KEY, AGENT = (
    "ww1234567890abcdef",
    "QDG6eK",
    "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "1000002",
)

REGISTER = " ".join(
    (
        "注册 名称=鄂州某光电科技有限公司 行业=C39",
        "人数=180 营收=12000 资质=高新技术企业 区域=葛店经开区",
    )
)

# WeCom's documented WXBizMsgCrypt example (URL verification).
DOC = {
    "token": "QDG6eK",
    "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "corp": "wx5823bf96d3bd56c7",
    "signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": (
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    ),
}


def guard(corp: str = CORP, key: str = AES_KEY, at: dt.datetime = NOW) -> CallbackGuard:
    """A callback guard with a fixed clock."""
    return CallbackGuard(WeChatCrypto(TOKEN, key, corp), lambda: at)


def encrypt_independently(
    xml: str, corp: str, key: str, nonce: str, timestamp: str
) -> tuple[str, str]:
    """WXBizMsgCrypt done by hand (AES-256-CBC, PKCS#7 to 32 bytes): (encrypted, signature)."""
    aes = base64.b64decode(key + "=")
    body = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + corp.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(aes), modes.CBC(aes[:16])).encryptor()
    encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    joined = "".join(sorted([TOKEN, timestamp, nonce, encrypted])).encode()
    signature = hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeCom's scheme
    return encrypted, signature


def envelope(encrypted: str) -> bytes:
    """The XML body WeCom posts."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<AgentID><![CDATA[{AGENT}]]></AgentID></xml>"
    ).encode()


def text_message(user: str, content: str, msg_id: int) -> str:
    """A member's text message as WeCom sends it, before encryption."""
    ts = int(NOW.timestamp())
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>{AGENT}</AgentID></xml>"
    )


def test_documented_url_verification_vector() -> None:
    """WeCom's own example decrypts to its echostr."""
    crypto = WeChatCrypto(DOC["token"], DOC["aes_key"], DOC["corp"])
    g = CallbackGuard(crypto, lambda: NOW)
    assert (
        g.verify_url(DOC["signature"], DOC["timestamp"], DOC["nonce"], DOC["echostr"])
        == "1616140317555161061"
    )
    with pytest.raises(CallbackError):
        g.verify_url("0" * 40, DOC["timestamp"], DOC["nonce"], DOC["echostr"])


def test_independent_encryption_round_trip() -> None:
    """A message encrypted by hand is opened; its sender and text come through."""
    ts = str(int(NOW.timestamp()))
    encrypted, signature = encrypt_independently(
        text_message("zhangsan", "可申报", 1), CORP, AES_KEY, "n1", ts
    )
    message = guard().open(envelope(encrypted), signature, ts, "n1")
    assert (message.source, message.content) == ("zhangsan", "可申报")


def test_refusals() -> None:
    """Tampered signature, wrong corp, wrong key, truncated ciphertext, replay, stale: refused."""
    ts = str(int(NOW.timestamp()))
    encrypted, signature = encrypt_independently(
        text_message("u", "帮助", 2), CORP, AES_KEY, "n2", ts
    )
    cases = {
        "tampered signature": (guard(), envelope(encrypted), "f" * 40, ts),
        "wrong corp id": (guard(corp="wwOTHERCORP"), envelope(encrypted), signature, ts),
        "wrong key": (guard(key="A" * 43), envelope(encrypted), signature, ts),
        "truncated ciphertext": (guard(), envelope(encrypted[:-20]), signature, ts),
        "malformed body": (guard(), b"<xml>not a callback", signature, ts),
        "stale": (guard(at=NOW + dt.timedelta(minutes=10)), envelope(encrypted), signature, ts),
    }
    for name, (g, body, sig, stamp) in cases.items():
        with pytest.raises(CallbackError):
            g.open(body, sig, stamp, "n2")
        assert not g.seen, name  # nothing remembered from a refused callback
    once = guard()
    once.open(envelope(encrypted), signature, ts, "n2")
    with pytest.raises(CallbackError, match="replayed"):
        once.open(envelope(encrypted), signature, ts, "n2")


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeCom, str]]:
    """The fake WeCom API."""
    with serve_fake() as served:
        yield served


def app_settings(database_url: str, api: str) -> Settings:
    """Settings of a WeCom app on the fake API at `api`."""
    return Settings(
        database_url=database_url,
        public_url="https://huiqi.example.cn",
        wecom_corp_id=CORP,
        wecom_agent_id=AGENT,
        wecom_secret=Secret("app-secret"),
        wecom_token=Secret(TOKEN),
        wecom_aes_key=Secret(AES_KEY),
        wecom_api_url=api,
    )


def post(client: TestClient, user: str, content: str, msg_id: int) -> int:
    """Post a member's encrypted message to the callback; return the HTTP status."""
    ts = str(int(NOW.timestamp()))
    encrypted, signature = encrypt_independently(
        text_message(user, content, msg_id), CORP, AES_KEY, f"n{msg_id}", ts
    )
    query = {"msg_signature": signature, "timestamp": ts, "nonce": f"n{msg_id}"}
    return client.post("/wecom/callback", params=query, content=envelope(encrypted)).status_code


def in_app(client: TestClient, job: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine on the app's own event loop (where its limiters and tasks live)."""
    assert client.portal is not None, "the app is not running"
    return client.portal.call(job)


def ask(client: TestClient, fake: FakeWeCom, user: str, content: str, msg_id: int) -> str:
    """Post a member's message; return the app messages it brought, joined (each within 2,048
    bytes, WeCom's limit), once the replies handled in the background are done."""
    before = len(fake.texts(user))
    assert post(client, user, content, msg_id) == 200
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    in_app(client, runtime.wecom.drain)
    new = fake.texts(user)[before:]
    assert new, f"no answer to {content}"
    assert all(len(m.encode()) <= 2048 for m in new), [len(m.encode()) for m in new]
    return "\n".join(new)


def test_callbacks_end_to_end(fake: tuple[FakeWeCom, str], tmp_path: Path) -> None:
    """URL check; 注册, 可申报, 近期, 日历 answered as app messages; bad callbacks refused."""
    api, base = fake
    settings = app_settings(f"sqlite:///{tmp_path / 'huiqi.db'}", base)
    app = create_app(
        settings,
        WORLD,
        clock=lambda: NOW,
        channels={"console": RecordingChannel(clock=lambda: NOW)},
    )
    with TestClient(app) as client:
        ts = str(int(NOW.timestamp()))
        echo_plain = "1616140317555161061"
        crypto = WeChatCrypto(TOKEN, AES_KEY, CORP)
        echo_xml = crypto.encrypt_message(echo_plain, "e1", ts)
        echo = echo_xml.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        sig = echo_xml.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        query = {"msg_signature": sig, "timestamp": ts, "nonce": "e1", "echostr": echo}
        ok = client.get("/wecom/callback", params=query)
        assert (ok.status_code, ok.text) == (200, echo_plain)
        assert (
            client.get("/wecom/callback", params={**query, "msg_signature": "0" * 40}).status_code
            == 403
        )

        registered = ask(client, api, "zhangsan", REGISTER, 11)
        assert registered.startswith(
            "已登记：鄂州某光电科技有限公司\n行业：C39（计算机、通信和其他电子设备制造业），小型企业"
        )
        assert "发送“可申报”查看理由" in registered
        first = ask(client, api, "zhangsan", "可申报", 12)
        assert first.startswith("可申报的政策（第1/")
        assert first.rstrip().endswith("下一页：发送“可申报 2”")
        assert ask(client, api, "zhangsan", "可申报 2", 13).startswith("可申报的政策（第2/")
        upcoming = ask(client, api, "zhangsan", "近期", 14)
        assert "企业“千名引硕工程”人才生活补贴" in upcoming
        assert "/policy" not in upcoming  # WeCom members type 政策, not slash commands
        assert (
            "企业“千名引硕工程”人才生活补贴 政策 talent-living-allowance-masters-doctors"
            in upcoming
        )
        calendar = ask(client, api, "zhangsan", "日历", 15)
        link = calendar.split("https://huiqi.example.cn/feeds/e/")[1].split(".ics")[0]
        assert "链接泄露时发送“日历 更换”" in calendar
        again = ask(client, api, "zhangsan", "日历", 19)
        assert "仍然有效" in again
        assert "发送“日历 更换”获取新链接" in again
        assert client.get(f"/feeds/e/{link}.ics").status_code == 200
        rotated = ask(client, api, "zhangsan", "日历 更换", 16)
        assert rotated.startswith("已更换，旧链接已失效。")
        assert client.get(f"/feeds/e/{link}.ics").status_code == 404
        assert post(client, "zhangsan", "日历", 15) == 403  # the same MsgId again: a replay
        assert ask(client, api, "lisi", "随便说点什么", 17).startswith("惠企政策提醒：")
        assert ask(client, api, "lisi", "可申报", 18).startswith(
            "您还没有登记企业。请按这个格式发送：\n注册 行业=C39"
        )
        assert api.tokens_issued == 1  # the access token was cached across all the calls


def channel_for(base: str, clock: list[dt.datetime]) -> WeComChannel:
    """A WeCom sender on the fake API, without per-member pacing (tests do not wait)."""
    client = make_client(CORP, "app-secret", base)
    return WeComChannel(client, AGENT, lambda: clock[0], per_member=False)


def test_sender_tokens_errcodes_and_quiet_minutes(fake: tuple[FakeWeCom, str]) -> None:
    """Expired tokens refresh; errcodes on HTTP 200 are failures; :30 sharp is avoided."""
    api, base = fake
    clock = [NOW]
    channel = channel_for(base, clock)
    assert asyncio.run(channel.send("u1", "一")) == SendResult("ok")
    api.valid_token = "ROTATED"  # noqa: S105 - WeCom expired our token: 42001 on the next call
    assert asyncio.run(channel.send("u1", "二")) == SendResult("ok")
    assert api.tokens_issued == 2
    api.errors = {
        "u2": [{"errcode": 45009, "errmsg": "api freq out of limit"}],
        "u3": [{"errcode": 60111, "errmsg": "userid not found"}],
        "u4": [{"errcode": -1, "errmsg": "system busy"}],
    }
    assert asyncio.run(channel.send("u2", "三")) == SendResult(
        "retry_after", 60.0, "errcode 45009: api freq out of limit"
    )
    assert asyncio.run(channel.send("u3", "四")) == SendResult(
        "permanent", None, "errcode 60111: userid not found"
    )
    assert asyncio.run(channel.send("u4", "五")).status == "retry_after"
    clock[0] = dt.datetime(2026, 11, 23, 9, 30, 10, tzinfo=SHANGHAI)
    assert asyncio.run(channel.send("u1", "六")) == SendResult(
        "retry_after", 50.0, "avoiding :00/:30"
    )
    assert api.texts("u1") == ["一", "二"]


def test_reminder_delivered_through_the_dispatcher(
    fake: tuple[FakeWeCom, str], store: Store
) -> None:
    """A registered member's reminder goes out as an app message at 09:31, not 09:30."""
    api, base = fake
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
    clock = [at]
    sub = store.registry.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    key = next(
        r.key
        for r in _synced(store)
        if r.policy_id == "talent-living-allowance-masters-doctors"
        and r.close == dt.date(2026, 12, 25)
    )
    store.outbox.enqueue([Reminder(sub, key, 1, "open", at)], now=NOW)
    dispatcher = dispatcher_for(
        WORLD,
        store,
        {"wecom": channel_for(base, clock)},
        clock=lambda: clock[0],
        public_url="https://huiqi.example.cn",
    )

    async def two_ticks() -> tuple[Any, Any]:
        first = await dispatcher.tick()
        clock[0] = at + dt.timedelta(seconds=60)
        return first, await dispatcher.tick()

    first, second = asyncio.run(two_ticks())
    assert (first.sent, first.retried) == (0, 1)
    assert second.sent == 1
    assert api.texts("zhangsan")[0].startswith("【申报开始】企业“千名引硕工程”人才生活补贴")


def _synced(store: Store) -> list[StoredRound]:
    sync_rounds(store, WORLD.catalog, now=NOW)
    return store.rounds.current_rounds()


def test_group_robot_markdown_and_errcode(fake: tuple[FakeWeCom, str]) -> None:
    """Robots get markdown; an errcode answer on HTTP 200 is a failure, a bad key permanent."""
    import httpx

    api, base = fake
    robots = parse_robots(
        (f"{base}/cgi-bin/webhook/send?key=AAA#talent+tax",), ("talent", "tax", "award")
    )
    assert robots[0].categories == ("talent", "tax")
    assert "AAA" not in robots[0].address

    async def go() -> list[SendResult]:
        async with httpx.AsyncClient() as client:
            quick = PerAddress(lambda _: 0.001)  # not the 3 s of the platform's limit
            channel = RobotChannel({r.address: r.url for r in robots}, client, limits=quick)
            results = [await channel.send(robots[0].address, "**本周申报提示**")]
            api.robot_errors = [{"errcode": 93000, "errmsg": "invalid webhook url"}]
            results.append(await channel.send(robots[0].address, "第二条"))
            return results

    ok, bad = asyncio.run(go())
    assert ok == SendResult("ok")
    assert bad == SendResult("permanent", None, "errcode 93000: invalid webhook url")
    assert api.robot_posts == [
        {"key": "AAA", "msgtype": "markdown", "markdown": {"content": "**本周申报提示**"}}
    ]
    with pytest.raises(ValueError, match="unknown categories nope"):
        parse_robots(("https://x/send?key=B#nope",), ("talent",))


def test_robot_gets_digest_and_announcement_through_the_app(
    fake: tuple[FakeWeCom, str], tmp_path: Path
) -> None:
    """A configured robot hears Monday's digest of its categories and a confirmed round."""
    api, base = fake
    monday = dt.datetime(2026, 11, 23, 9, 31, tzinfo=SHANGHAI).astimezone(dt.UTC)
    clock = [NOW]  # robots configured on Sunday, their first digest due on Monday
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'huiqi.db'}",
        public_url="https://huiqi.example.cn",
        wecom_robot_webhooks=(
            Secret(f"{base}/cgi-bin/webhook/send?key=TALENT#talent"),
            Secret(f"{base}/cgi-bin/webhook/send?key=AWARDS#designation"),
        ),
    )
    app = create_app(settings, WORLD, clock=lambda: clock[0], channels={})
    with TestClient(app) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert api.robot_posts == []
        clock[0] = monday
        in_app(client, runtime.dispatcher.tick)
        talent = [p for p in api.robot_posts if p["key"] == "TALENT"]
        assert len(talent) == 1
        digest = talent[0]["markdown"]["content"]
        assert digest.startswith("**【本周政策申报提示】未来两周开始或截止的批次")
        assert "企业“千名引硕工程”人才生活补贴" in digest
        assert (
            "[查看详情](https://huiqi.example.cn/policies/talent-living-allowance-masters-doctors)"
            in digest
        )
        awards_before = len([p for p in api.robot_posts if p["key"] == "AWARDS"])
        clock[0] += dt.timedelta(hours=1)
        add_round(
            runtime.store,
            WORLD.catalog,
            "provincial-hidden-champion",
            open=dt.date(2027, 3, 1),
            close=dt.date(2027, 3, 31),
            notice_url=None,
            now=clock[0],
        )
        in_app(client, runtime.dispatcher.tick)
        awards = [p for p in api.robot_posts if p["key"] == "AWARDS"]
        assert len(awards) == awards_before + 1
        assert awards[-1]["markdown"]["content"].startswith(
            "**【通知已发布】产业领域隐形冠军**\n申报时间：2027-03-01 至 2027-03-31"
        )
        assert len([p for p in api.robot_posts if p["key"] == "TALENT"]) == 1  # not its category


@given(st.text(alphabet=st.sampled_from("申报截止政策ab1 \n。"), max_size=3000))
def test_split_keeps_every_part_within_the_byte_limit(text: str) -> None:
    """Every part fits WeCom's byte limit, and nothing but white space is lost between parts."""
    parts = split_long(text, 200, utf8_size)
    assert all(utf8_size(p) <= 200 for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_long_reminder_goes_out_in_parts(fake: tuple[FakeWeCom, str], store: Store) -> None:
    """A message longer than 2,048 bytes arrives whole, in parts WeCom will not cut: the
    dispatcher splits it from the channel's declared byte limit."""
    api, base = fake
    channel = channel_for(base, [NOW])
    lines = [
        f"{i}. 企业“千名引硕工程”人才生活补贴，申报时间 2026-12-01 至 2026-12-25" for i in range(60)
    ]
    store.registry.subscriber("wecom", "u9", display_name="u9", now=NOW)
    store.outbox.announce("长公告", author="wecom:admin", now=NOW)
    dispatcher = Dispatcher(
        store=store.outbox,
        channels={"wecom": channel},
        render=lambda *_: "\n".join(lines),
        rounds=dict,
        clock=lambda: NOW,
    )
    assert asyncio.run(dispatcher.tick()).sent == 1
    got = api.texts("u9")
    assert len(got) > 1
    assert all(len(m.encode()) <= 2048 for m in got)
    assert "\n".join(got).split("\n") == lines


def test_one_line_registration_takes_industry_words(store: Store) -> None:
    """行业= takes a code or a word: one industry is used, several are listed, none explained."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "wangwu", "wangwu", "wangwu")

    def say(text: str) -> str:
        return "\n".join(reply_text(r) for r in service.handle_text(who, text))

    assert say("注册 名称=甲公司 行业=汽车 人数=10 营收=100").startswith(
        "已登记：甲公司\n行业：C36（汽车制造业），微型企业"
    )
    several = say("注册 行业=纺织")
    assert several.startswith("“纺织”对应多个行业，请把 行业= 改成其中一个代码后重发：")
    assert "C17 纺织业" in several
    assert "C18 纺织服装、服饰业" in several
    assert say("注册 行业=量子点").startswith("没找到“量子点”对应的行业。")
    assert "• 人数：从业人数应为整数" in say("注册 人数=一百八十")
    assert "行业：C36（汽车制造业）" in say("我的资料")  # nothing changed by the refused ones


@pytest.mark.parametrize("echostr", ["AAAA", "not base64!", "QUJD" * 3, ""])
def test_valid_signature_over_corrupted_echostr_is_refused(echostr: str) -> None:
    """A correctly signed but undecryptable echostr is a CallbackError (403), never a crash."""
    crypto = WeChatCrypto(DOC["token"], DOC["aes_key"], DOC["corp"])
    g = CallbackGuard(crypto, lambda: NOW)
    joined = "".join(sorted([DOC["token"], DOC["timestamp"], DOC["nonce"], echostr])).encode()
    signature = hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeCom's scheme
    with pytest.raises(CallbackError):
        g.verify_url(signature, DOC["timestamp"], DOC["nonce"], echostr)


def test_reminders_are_deduplicated_by_wecom_and_replies_are_not(
    fake: tuple[FakeWeCom, str],
) -> None:
    """A reminder resent after a lost answer reaches the member once; a repeated answer twice."""
    api, base = fake
    channel = channel_for(base, [NOW])
    assert asyncio.run(channel.send("u1", "提醒")).status == "ok"
    assert asyncio.run(channel.send("u1", "提醒")).status == "ok"
    assert (api.texts("u1"), api.duplicates) == (["提醒"], 1)
    assert asyncio.run(channel.reply("u1", "答复")).status == "ok"
    assert asyncio.run(channel.reply("u1", "答复")).status == "ok"
    assert api.texts("u1") == ["提醒", "答复", "答复"]


def test_refused_tokens_cost_one_fetch_per_message(fake: tuple[FakeWeCom, str]) -> None:
    """When WeCom refuses every token, each message fetches one new token and gives up."""
    api, base = fake
    channel = channel_for(base, [NOW])
    api.refuse_tokens = True
    results = [asyncio.run(channel.send("u1", f"第{i}条")) for i in range(5)]
    assert {r.status for r in results} == {"transient"}
    assert api.tokens_issued == 1 + 5  # the first token, then one refresh per message


def test_a_hung_wecom_api_times_out() -> None:
    """An API that accepts the connection and never answers costs one timeout, not a hang."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        base = f"http://127.0.0.1:{server.getsockname()[1]}"
        client = make_client(CORP, "app-secret", base, timeout=0.2)
        channel = WeComChannel(client, AGENT, lambda: NOW, per_member=False)
        started = time.monotonic()
        result = asyncio.run(channel.send("u1", "提醒"))
    assert result.status == "transient"
    assert time.monotonic() - started < 5


def test_replay_memory_survives_a_restart(store_url: str) -> None:
    """A message handled before a restart is refused after it; once its window has passed, the
    store has forgotten it."""
    ts = str(int(NOW.timestamp()))
    encrypted, signature = encrypt_independently(
        text_message("u", "帮助", 77), CORP, AES_KEY, "n7", ts
    )
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP)
    before = Store.open(store_url)
    CallbackGuard(crypto, lambda: NOW, before.chats).open(envelope(encrypted), signature, ts, "n7")
    before.close()
    after = Store.open(store_url)  # the restarted process
    try:
        with pytest.raises(CallbackError, match="replayed message 77"):
            CallbackGuard(crypto, lambda: NOW, after.chats).open(
                envelope(encrypted), signature, ts, "n7"
            )
        later = NOW + dt.timedelta(minutes=11)
        assert after.chats.first_sighting("other", now=later, window=dt.timedelta(minutes=10))
        assert after.chats.first_sighting("wecom:77", now=later, window=dt.timedelta(minutes=10))
    finally:
        after.close()


def test_unsigned_xml_is_never_parsed() -> None:
    """A body whose signature does not match is refused as such, whatever XML it carries."""
    ts = str(int(NOW.timestamp()))
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>'
    )
    for body in (bomb, b"<xml><Encrypt><![CDATA[abc]]></Encrypt>", b"not xml at all"):
        with pytest.raises(CallbackError, match="InvalidSignatureException"):
            guard().open(body, "0" * 40, ts, "n")


def test_signed_message_with_malformed_fields_is_refused() -> None:
    """A correctly signed message whose MsgId or CreateTime is not a number is malformed:
    refused as such, never an error."""
    ts = str(int(NOW.timestamp()))
    good = text_message("zhangsan", "帮助", 5)
    for bad in (
        good.replace("<MsgId>5</MsgId>", "<MsgId>NIL</MsgId>"),
        good.replace(f"<CreateTime>{ts}</CreateTime>", "<CreateTime>昨天</CreateTime>"),
        good.replace(f"<AgentID>{AGENT}</AgentID>", "<AgentID>x</AgentID>"),
    ):
        encrypted, signature = encrypt_independently(bad, CORP, AES_KEY, "n", ts)
        with pytest.raises(CallbackError, match="malformed callback"):
            guard().open(envelope(encrypted), signature, ts, "n")


def test_admin_announcement_from_wecom_reaches_every_channel(
    fake: tuple[FakeWeCom, str], tmp_path: Path
) -> None:
    """The WeCom admin's 公告 is previewed, confirmed with 确认公告, and sent by the dispatcher
    to every active subscriber: WeCom members and group robots alike; others are refused."""
    api, base = fake
    settings = replace(
        app_settings(f"sqlite:///{tmp_path / 'huiqi.db'}", base),
        admins=("wecom:admin",),
        wecom_robot_webhooks=(Secret(f"{base}/cgi-bin/webhook/send?key=TALENT#talent"),),
    )
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        ask(client, api, "zhangsan", REGISTER, 31)
        refused = ask(client, api, "zhangsan", "公告 假通知", 32)
        assert refused == "抱歉，只有管理员可以发布公告。"
        assert ask(client, api, "zhangsan", "确认公告", 33) == "抱歉，只有管理员可以发布公告。"
        preview = ask(client, api, "Admin", "公告 技改资金申报通知已发布\n请于12月20日前提交", 34)
        assert preview.startswith("将向全部 2 位订阅者发送以下公告：\n\n【公告】技改资金申报")
        assert "已发布\n请于12月20日前提交" in preview  # the line break kept
        assert preview.endswith("确认发送请回复：确认公告；放弃请回复：取消")
        assert "__announce__" not in preview
        queued = ask(client, api, "Admin", "确认公告", 35)  # HUIQI_ADMINS says wecom:admin
        assert queued.startswith(
            "公告已排入发送队列，共 2 位订阅者（企业微信 1、企业微信群机器人 1）"
        )
        text = "【公告】技改资金申报通知已发布\n请于12月20日前提交"
        assert text not in api.texts("zhangsan")
        in_app(client, runtime.dispatcher.tick)
        assert api.texts("zhangsan").count(text) == 1
        [robot] = [p for p in api.robot_posts if p["key"] == "TALENT"]
        assert robot["markdown"]["content"].startswith("**【公告】技改资金申报通知已发布**\n请于")
        in_app(client, runtime.dispatcher.tick)
        assert api.texts("zhangsan").count(text) == 1
        assert len([p for p in api.robot_posts if p["key"] == "TALENT"]) == 1
        assert ask(client, api, "Admin", "确认公告", 36).startswith("没有待确认的公告")


def test_a_robot_message_cut_short_is_not_sent_again(
    fake: tuple[FakeWeCom, str], store: Store
) -> None:
    """A digest over the robot's 4,096 bytes goes out in parts (the dispatcher splits it from
    the robot's declaration); when a later part is refused, the message is uncertain (never
    retried), so the group never sees the first part twice."""
    import httpx

    api, base = fake
    [robot] = parse_robots((f"{base}/cgi-bin/webhook/send?key=AAA",), ("talent",))
    long = "\n".join(f"第{i}条 " + "申报" * 30 for i in range(40))  # about 7,500 bytes
    store.registry.subscriber("wecom-robot", robot.address, display_name="群", now=NOW)
    store.outbox.announce("长公告", author="wecom:admin", now=NOW)

    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            # A limiter as the platform's, on a short clock: the test does not wait 3 s.
            quick = PerAddress(lambda _: 0.001)
            channel = RobotChannel({robot.address: robot.url}, client, limits=quick)
            api.robot_errors = [{}, {"errcode": 45009, "errmsg": "api freq out of limit"}]
            dispatcher = Dispatcher(
                store=store.outbox,
                channels={channel.name: channel},
                render=lambda *_: long,
                rounds=dict,
                clock=lambda: NOW,
            )
            first = await dispatcher.tick()
            return first, await dispatcher.tick()

    first, second = asyncio.run(go())
    assert (first.uncertain, second.claimed) == (1, 0)
    [row] = store.outbox.rows()
    assert row["status"] == "uncertain"
    assert row["note"].endswith("第2段未发出：errcode 45009")
    assert len(api.robot_posts) == 1
    assert len(api.robot_posts[0]["markdown"]["content"].encode()) <= 4096


def test_profile_on_wecom_names_its_typed_commands(store: Store) -> None:
    """我的资料 on WeCom names the words it takes (可申报, 注册 …), never a Telegram /command."""
    service = ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")
    who = Who("wecom", "zhaoliu", "zhaoliu", "zhaoliu")
    service.handle_text(who, "注册 名称=丙公司 行业=C39 人数=50 营收=3000")
    shown = "\n".join(reply_text(r) for r in service.handle_text(who, "我的资料"))
    assert "发送“可申报”查看理由" in shown
    assert "如 注册 人数=200" in shown
    assert "/" not in shown.replace("https://", "")


def card_event(user: str, key: str, code: str, task: str) -> str:
    """A press of a card's button as WeCom sends it (模板卡片事件推送), before encryption."""
    ts = int(NOW.timestamp())
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[{task}]]></TaskId>"
        f"<CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>{AGENT}</AgentID></xml>"
    )


def press(client: TestClient, xml: str, nonce: str) -> int:
    """Post an encrypted event to the callback and wait for its handling; the HTTP status."""
    ts = str(int(NOW.timestamp()))
    encrypted, signature = encrypt_independently(xml, CORP, AES_KEY, nonce, ts)
    query = {"msg_signature": signature, "timestamp": ts, "nonce": nonce}
    status = client.post("/wecom/callback", params=query, content=envelope(encrypted))
    in_app(client, client.app.state.runtime.wecom.drain)  # type: ignore[attr-defined]
    return status.status_code


def test_answers_as_card_buttons_through_the_encrypted_callback(
    fake: tuple[FakeWeCom, str], tmp_path: Path
) -> None:
    """A reminder about one round is followed by a card with 已申报 / 不感兴趣 / 稍后提醒; a
    press comes back through the encrypted callback and is applied (已申报 and 不感兴趣 stop
    the round's remaining reminders, 稍后提醒 moves the next one three working days), the card
    updated to show the choice and the answer in text; the same button pressed by another
    member, or the same event again, changes nothing."""
    api, base = fake
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    settings = app_settings(url, base)
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    with TestClient(app) as client:
        store = Store.open(url)
        try:
            [talent] = [
                r
                for r in _synced(store)
                if r.policy_id == "talent-living-allowance-masters-doctors"
                and r.close == dt.date(2026, 12, 25)
            ]
            me = store.registry.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
            other = store.registry.subscriber("wecom", "lisi", display_name=None, now=NOW)
            third = store.registry.subscriber("wecom", "wangwu", display_name=None, now=NOW)
            week_before = dt.datetime(2026, 12, 18, 9, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
            store.outbox.enqueue(
                [
                    Reminder(me, talent.key, talent.version, "close-14", NOW),
                    Reminder(me, talent.key, talent.version, "close-7", NOW + dt.timedelta(days=9)),
                    Reminder(other, talent.key, talent.version, "close-14", NOW),
                    Reminder(third, talent.key, talent.version, "close-14", NOW),
                    Reminder(third, talent.key, talent.version, "close-7", week_before),
                ],
                now=NOW,
            )
            dispatcher = dispatcher_for(
                WORLD,
                store,
                {"wecom": channel_for(base, [NOW])},
                clock=lambda: NOW,
                public_url="https://huiqi.example.cn",
            )
            assert asyncio.run(dispatcher.tick()).sent == 3
            [text] = api.texts("zhangsan")
            assert text.startswith("【还有33天截止（12月25日）】企业“千名引硕工程”人才生活补贴")
            [card] = api.cards("zhangsan")
            assert card["card_type"] == "button_interaction"
            assert card["main_title"]["title"].startswith("【还有33天截止（12月25日）】")
            assert len(card["main_title"]["title"]) <= 36
            keys = {b["text"]: b["key"] for b in card["button_list"]}
            assert list(keys) == ["已申报", "不感兴趣", "稍后提醒"]
            [theirs] = api.cards("lisi")
            assert theirs["task_id"] != card["task_id"]

            # lisi presses zhangsan's button (a forged key): nothing is taken, no card changes
            assert (
                press(client, card_event("lisi", keys["已申报"], "RC0", card["task_id"]), "p0")
                == 200
            )
            assert api.texts("lisi")[-1] == "这个按钮已失效，请重新发送命令。"
            assert api.card_updates == []

            assert (
                press(client, card_event("zhangsan", keys["已申报"], "RC1", card["task_id"]), "p1")
                == 200
            )
            assert api.card_updates == [
                {
                    "userids": ["zhangsan"],
                    "agentid": int(AGENT),
                    "response_code": "RC1",
                    "button": {"replace_name": "✓ 已申报"},
                }
            ]
            said = api.texts("zhangsan")[-1]
            assert said.startswith(
                "已记录：企业“千名引硕工程”人才生活补贴（2026-12-01 至 2026-12-25）"
            )
            assert "本批次不再提醒（取消了 1 条待发提醒）" in said
            assert store.outbox.answers(talent.key) == {"applied": 1}
            assert store.outbox.counts() == {"sent": 3, "dropped": 1, "pending": 1}

            # lisi: 不感兴趣 on their own card
            [lisi] = api.cards("lisi")
            lisi_keys = {b["text"]: b["key"] for b in lisi["button_list"]}
            event = card_event("lisi", lisi_keys["不感兴趣"], "RC2", lisi["task_id"])
            assert press(client, event, "p2") == 200
            assert api.card_updates[-1]["button"] == {"replace_name": "✓ 不感兴趣"}
            assert "不感兴趣。本批次不再提醒" in api.texts("lisi")[-1]
            # wangwu: 稍后提醒 moves the 18 Dec countdown three working days on, to the 23rd
            [wangwu] = api.cards("wangwu")
            later = next(b["key"] for b in wangwu["button_list"] if b["text"] == "稍后提醒")
            assert press(client, card_event("wangwu", later, "RC3", wangwu["task_id"]), "p3") == 200
            assert api.card_updates[-1]["button"] == {"replace_name": "✓ 12月23日再提醒"}
            assert api.texts("wangwu")[-1].endswith("的下一条提醒改在 12月23日。")
            waiting = store.outbox.next_waiting(third, talent.key)
            assert waiting is not None
            assert waiting.due_at.astimezone(SHANGHAI).date() == dt.date(2026, 12, 23)
            assert store.outbox.answers(talent.key) == {
                "applied": 1,
                "not_interested": 1,
                "later": 1,
            }

            # the same event again (WeCom retries when no answer came in time): a replay
            updated = len(api.card_updates)
            assert (
                press(client, card_event("zhangsan", keys["已申报"], "RC1", card["task_id"]), "p1")
                == 403
            )
            assert len(api.card_updates) == updated
        finally:
            store.close()


def test_a_card_that_does_not_go_out_costs_only_the_buttons(
    fake: tuple[FakeWeCom, str], store: Store
) -> None:
    """WeCom refuses the card (here: its task id seen before): the reminder text is delivered
    and counted as sent, the refusal noted, and nothing is sent twice."""
    api, base = fake
    [talent] = [
        r
        for r in _synced(store)
        if r.policy_id == "talent-living-allowance-masters-doctors"
        and r.close == dt.date(2026, 12, 25)
    ]
    me = store.registry.subscriber("wecom", "zhangsan", display_name=None, now=NOW)
    store.outbox.enqueue([Reminder(me, talent.key, talent.version, "close-14", NOW)], now=NOW)
    channel = channel_for(base, [NOW])
    text = "【还有33天截止（12月25日）】企业“千名引硕工程”人才生活补贴"
    [row] = store.outbox.rows()
    actions = (Action("applied", f"ans:applied:{row['id']}"),)
    assert asyncio.run(channel.send_actions("zhangsan", text, actions)) == SendResult("ok")
    again = asyncio.run(channel.send_actions("zhangsan", text, actions))
    assert again.status == "ok"
    assert again.detail.startswith("按钮卡片未发出：errcode 40105")
    assert len(api.cards("zhangsan")) == 1
    assert api.texts("zhangsan") == [text]  # the repeat was dropped by WeCom's duplicate check
    assert api.duplicates == 1


def test_the_app_daily_cap_holds_sends_until_tomorrow(fake: tuple[FakeWeCom, str]) -> None:
    """Past the app's daily cap a reminder waits until 00:05; the next day it goes out."""
    api, base = fake
    clock = [dt.datetime(2026, 11, 23, 21, 1, tzinfo=SHANGHAI)]
    channel = replace(channel_for(base, clock), daily_cap=1)
    assert asyncio.run(channel.send("u1", "一")).status == "ok"
    waiting = asyncio.run(channel.send("u1", "二"))
    assert (waiting.status, waiting.retry_after) == ("retry_after", 11040.0)  # 21:01 -> 00:05
    clock[0] = dt.datetime(2026, 11, 24, 0, 5, tzinfo=SHANGHAI)
    assert asyncio.run(channel.send("u1", "二")).status == "ok"
    assert api.texts("u1") == ["一", "二"]
