"""E-mail: reminders as text and HTML with the round attached and one-click unsubscribe,
delivered to a real SMTP server on 127.0.0.1; refusals and an unreachable server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import icalendar
import pytest

from bot._email import EmailChannel, MailServer, valid_address
from bot._service import World, dispatcher_for, sync_rounds
from bot._settings import Secret, Settings, SettingsError
from schedulers import SHANGHAI, Reminder, uid_of
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store
from tests.bot.local_server import free_port
from tests.bot.local_smtp import PASSWORD, USER, Mailbox, smtp_server

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 5, tzinfo=SHANGHAI).astimezone(dt.UTC)
TALENT = "talent-living-allowance-masters-doctors"
SENDER = "鄂州市经信局惠企政策提醒 <noreply@huiqi.example.cn>"
PUBLIC = "https://huiqi.example.cn"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server."""
    with smtp_server() as served:
        yield served


def channel_for(port: int, store: Store, at: dt.datetime, **server: object) -> EmailChannel:
    """The e-mail sender on the local server (plain SMTP: it is 127.0.0.1)."""
    mail = MailServer("127.0.0.1", port, SENDER, tls="none", **server)  # type: ignore[arg-type]
    return EmailChannel(mail, store, PUBLIC, lambda: at)


def test_a_reminder_by_email_with_its_round_and_unsubscribe_link(
    smtp: tuple[Mailbox, int], store: Store
) -> None:
    """The talent round's opening reaches an e-mail subscriber as text and HTML, with the
    round as an .ics (METHOD:PUBLISH, the feed's UID) and List-Unsubscribe (one click)."""
    box, port = smtp
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
    sub = store.registry.subscriber("email", "hr@example.cn", display_name="乙公司", now=NOW)
    sync_rounds(store, WORLD.catalog, now=NOW)
    key = next(
        r.key
        for r in store.rounds.current_rounds()
        if r.policy_id == TALENT and r.close == dt.date(2026, 12, 25)
    )
    store.outbox.enqueue([Reminder(sub, key, 1, "open", at)], now=NOW)
    dispatcher = dispatcher_for(
        WORLD, store, {"email": channel_for(port, store, at)}, clock=lambda: at, public_url=PUBLIC
    )
    assert asyncio.run(dispatcher.tick()).sent == 1
    [mail] = box.to("hr@example.cn")
    assert mail["Subject"] == "【申报开始】企业“千名引硕工程”人才生活补贴"
    assert mail["From"] == SENDER
    token = store.mail.unsubscribe_token(sub, now=NOW)
    assert mail["List-Unsubscribe"] == f"<{PUBLIC}/email/unsubscribe?t={token}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(preferencelist=("plain",))
    page = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert page is not None
    plain = text.get_content()
    assert "申报时间：2026-12-01 至 2026-12-25" in plain
    assert f"不想再收到：{PUBLIC}/email/unsubscribe?t={token}" in plain
    html = page.get_content()
    assert f'<a href="{PUBLIC}/policies/{TALENT}"' in html
    assert "一键退订" in html
    [attached] = list(mail.iter_attachments())
    assert attached.get_content_type() == "text/calendar"
    assert attached.get_param("method") == "PUBLISH"
    calendar = icalendar.Calendar.from_ical(attached.get_content())
    [event] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == uid_of(key)
    assert event.decoded("DTSTART") == dt.date(2026, 12, 1)
    assert event.decoded("DTEND") == dt.date(2026, 12, 26)  # the close day is included


def test_smtp_answers_as_results(smtp: tuple[Mailbox, int], store: Store) -> None:
    """550 for the mailbox is permanent, 451 waits, a server nobody answers on marks the
    channel down; nothing is half sent."""
    box, port = smtp
    box.refuse = {"gone@example.cn": "550 5.1.1 no such user", "busy@example.cn": "451 4.3.0 later"}
    channel = channel_for(port, store, NOW)
    text = "【申报开始】某政策\n申报时间：2026-12-01 至 2026-12-25"
    assert asyncio.run(channel.send("gone@example.cn", text)).status == "permanent"
    waiting = asyncio.run(channel.send("busy@example.cn", text))
    assert (waiting.status, waiting.retry_after) == ("retry_after", 600.0)
    nobody = channel_for(free_port(), store, NOW)
    down = asyncio.run(nobody.send("hr@example.cn", text))
    assert (down.status, down.channel_down) == ("transient", True)
    assert box.messages == []


def test_smtp_login_and_a_refused_password(store: Store) -> None:
    """With HUIQI_SMTP_USER the sender logs in; a wrong password stops the channel, and the
    password shows in no result or repr."""
    with smtp_server(login=True) as (box, port):
        good = channel_for(port, store, NOW, user=USER, password=Secret(PASSWORD))
        sent = asyncio.run(good.send("hr@example.cn", "标题\n正文"))
        assert sent.status == "ok", sent.detail
        assert box.logins == [USER]
        bad = channel_for(port, store, NOW, user=USER, password=Secret("wrong-pass-9"))
        refused = asyncio.run(bad.send("hr@example.cn", "标题\n正文"))
        assert (refused.status, refused.channel_down) == ("transient", True)
        assert "wrong-pass-9" not in repr(bad) + refused.detail
    assert len(box.messages) == 1


def test_addresses_and_settings() -> None:
    """Only plain addresses are accepted (no names, no line breaks); SMTP settings come in
    pairs and shapes, the password hidden."""
    assert valid_address(" hr@example.cn ") == "hr@example.cn"
    assert valid_address("hr@example.cn\r\nBcc: all@example.cn") is None
    assert valid_address("张三 <hr@example.cn>") is None
    assert valid_address("hr@localhost") is None
    on = Settings.from_env(
        {
            "HUIQI_SMTP_HOST": "smtp.example.cn",
            "HUIQI_SMTP_FROM": SENDER,
            "HUIQI_SMTP_TLS": "tls",
            "HUIQI_SMTP_USER": "huiqi",
            "HUIQI_SMTP_PASSWORD": "s3cret-smtp",
        }
    )
    assert ("email" in on.channels, on.smtp_port) == (True, 465)
    assert "s3cret-smtp" not in repr(on)
    assert "s3cret-smtp" in on.secret_values()
    for env, said in (
        (
            {"HUIQI_SMTP_HOST": "smtp.example.cn"},
            "E-mail is half configured: missing HUIQI_SMTP_FROM",
        ),
        (
            {"HUIQI_SMTP_HOST": "h", "HUIQI_SMTP_FROM": SENDER, "HUIQI_SMTP_USER": "u"},
            "the SMTP login is half configured: missing HUIQI_SMTP_PASSWORD",
        ),
        ({"HUIQI_SMTP_TLS": "ssl3"}, "HUIQI_SMTP_TLS='ssl3'"),
        ({"HUIQI_SMTP_HOST": "h", "HUIQI_SMTP_FROM": "noreply"}, "HUIQI_SMTP_FROM='noreply'"),
    ):
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(env)
        assert said in str(refused.value)
