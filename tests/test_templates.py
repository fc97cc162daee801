"""Every template under templates/ has a golden render: the text a user sees, byte for byte.

Each template is rendered through the code path that uses it (the chat service, the CLI, the
dispatcher's renderer, the web app), on the fixed clock of the tests. Rewrite the files with
`pytest --update-golden` after a deliberate change, and read the diff.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bot._app import create_app
from bot._cli import cli
from bot._service import World, add_round, renderer, rounds_by_key, sync_rounds
from bot._settings import Settings
from bot._telegram import CAPABILITIES as TELEGRAM_CAPS
from bot._views import render_message, render_rounds
from bot._wecom import APP_MESSAGES, ROBOT_MESSAGES
from bot.chat import ChatService, Reply, Who
from schedulers import (
    SHANGHAI,
    Basis,
    Deadline,
    DeadlineOf,
    Digest,
    Entry,
    Kind,
    RecordingChannel,
    announce_kind,
    change_kind,
    close_kind,
)
from schedulers.data import load_catalog
from schedulers.dispatch import ConsoleChannel
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store, StoredRound
from tests.bot.local_smtp import smtp_server

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
TALENT = "talent-living-allowance-masters-doctors"
SPECIALIZED = "provincial-specialized-sophisticated-sme"  # its rounds are estimated
ONE_LINE = (
    "/register 名称=鄂州某光电科技有限公司 行业=C39 人数=180 营收=12000 "
    "资质=高新技术企业,省级专精特新中小企业 区域=葛店经开区"
)
# Which golden files show each template. A template included by others is shown by theirs.
SHOWN_BY = {
    "chat/_format.html.j2": "chat_help.html",
    "chat/_format.txt.j2": "chat_wecom.txt",
    "chat/calendar.html.j2": "chat_calendar.html",
    "chat/phrases/admin.txt.j2": "chat_phrases.txt",
    "chat/phrases/answers.txt.j2": "chat_phrases.txt",
    "chat/phrases/calendar.txt.j2": "chat_phrases.txt",
    "chat/phrases/common.txt.j2": "chat_phrases.txt",
    "chat/phrases/matching.txt.j2": "chat_phrases.txt",
    "chat/phrases/registration.txt.j2": "chat_phrases.txt",
    "chat/phrases/reminders.txt.j2": "chat_phrases.txt",
    "chat/help.html.j2": "chat_help.html",
    "chat/help_text.html.j2": "chat_help_text.html",
    "chat/match.html.j2": "chat_match.html",
    "chat/policy.html.j2": "chat_policy.html",
    "chat/registered.html.j2": "chat_registered.html",
    "chat/remind.html.j2": "chat_remind.html",
    "chat/upcoming.html.j2": "chat_upcoming.html",
    "cli/audit.txt.j2": "cli_audit.txt",
    "cli/classify.txt.j2": "cli_classify.txt",
    "cli/match.txt.j2": "match_hightech_electronics.txt",
    "cli/policies.txt.j2": "policies_2026-11-22.txt",
    "cli/policy_show.txt.j2": "policy_show_talent.txt",
    "cli/rounds.txt.j2": "cli_rounds.txt",
    "cli/simulate.txt.j2": "cli_simulate.txt",
    "cli/upcoming.txt.j2": "cli_upcoming.txt",
    "feeds/event.txt.j2": "feed.ics",
    "messages/reminder.txt.j2": "reminders.txt",
    "reasons.txt.j2": "match_hightech_electronics.txt",
    "messages/announcement.txt.j2": "announcements.txt",
    "messages/_format.txt.j2": "reminders_wecom.txt",
    "messages/_format.md.j2": "reminders_robot.md",
    "web/_round.html.j2": "web_index.html",
    "web/base.html.j2": "web_index.html",
    "web/index.html.j2": "web_index.html",
    "web/not_found.html.j2": "web_not_found.html",
    "web/policy.html.j2": "web_policy.html",
    "web/_calendar.html.j2": "web_check.html",
    "web/check.html.j2": "web_check.html",
    "web/message.html.j2": "web_signup.html",
    "web/confirm.html.j2": "web_signup.html",
    "web/subscribed.html.j2": "web_signup.html",
    "web/unsubscribe.html.j2": "web_signup.html",
    "mail/confirm.txt.j2": "mail_signup.txt",
    "mail/welcome.txt.j2": "mail_signup.txt",
    "mail/footer.txt.j2": "mail_signup.txt",
    "mail/message.html.j2": "mail_signup.txt",
    "console/_round.html.j2": "console_pages.html",
    "console/audit.html.j2": "console_pages.html",
    "console/base.html.j2": "console_pages.html",
    "console/dashboard.html.j2": "console_pages.html",
    "console/deliveries.html.j2": "console_pages.html",
    "console/enterprises.html.j2": "console_pages.html",
    "console/import.html.j2": "console_pages.html",
    "console/invite.html.j2": "console_pages.html",
    "console/login.html.j2": "console_pages.html",
    "console/message.html.j2": "console_pages.html",
    "console/policies.html.j2": "console_pages.html",
    "console/policy_new.html.j2": "console_pages.html",
    "console/publish.html.j2": "console_pages.html",
    "console/rounds.html.j2": "console_pages.html",
    "web/join.html.j2": "web_join.html",
}


def test_every_template_has_a_golden_render() -> None:
    """A new template fails here until it is rendered to a golden file below."""
    templates = {
        p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.j2")
    }
    assert templates == set(SHOWN_BY)
    missing = [f for f in set(SHOWN_BY.values()) if not (ROOT / "tests" / "golden" / f).is_file()]
    assert missing == []


@pytest.fixture
def service(tmp_path: Path) -> ChatService:
    """The chat service on a fresh SQLite store at the tests' fixed moment."""
    store = Store.open(f"sqlite:///{tmp_path / 'huiqi.db'}")
    sync_rounds(store, WORLD.catalog, now=NOW)
    return ChatService(WORLD, store, clock=lambda: NOW, public_url="https://huiqi.example.cn")


def joined(replies: Sequence[Reply]) -> str:
    """The text of the replies, one after another."""
    return "\n---\n".join(r.text for r in replies) + "\n"


def test_chat_replies(service: ChatService, golden: Callable[[str, str], None]) -> None:
    """Telegram (buttons, HTML) for the registered firm; WeCom's typed help."""
    who = Who("telegram", "100", "100", "张三", buttons=True)
    golden("chat_help.html", joined(service.handle_text(who, "/help")))
    wecom = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    golden("chat_help_text.html", joined(service.handle_text(wecom, "帮助")))
    golden("chat_registered.html", joined(service.handle_text(who, ONE_LINE)))
    golden("chat_match.html", joined(service.handle_text(who, "/match")))
    golden("chat_upcoming.html", joined(service.handle_text(who, "/upcoming")))
    golden("chat_policy.html", joined(service.handle_text(who, f"/policy {TALENT}")))
    calendar = joined(service.handle_text(who, "/calendar"))
    golden("chat_calendar.html", re.sub(r"/feeds/e/[\w-]+\.ics", "/feeds/e/TOKEN.ics", calendar))
    golden("chat_remind.html", joined(service.handle_text(who, "/remind")))
    # WeCom reads the plain form of the same templates: no tags, commands as typed words.
    typed = [
        "帮助",
        ONE_LINE.replace("/register", "注册"),
        "可申报",
        "近期",
        f"政策 {TALENT}",
        "提醒设置",
    ]
    shown = [r.words for text in typed for r in service.handle_text(wecom, text)]
    golden("chat_wecom.txt", "\n---\n".join(shown) + "\n")


def invoke(*args: str) -> str:
    """The CLI's standard output for these arguments (exit code 0)."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_texts(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """classify, rounds list, upcoming and simulate as a user reads them."""
    golden(
        "cli_classify.txt",
        invoke("classify", "--industry", "C3976", "--employees", "180", "--revenue", "12000"),
    )
    profile = str(FIXTURES / "profiles" / "hightech-electronics.json")
    golden("cli_upcoming.txt", invoke("upcoming", profile, "--on", "2026-11-22", "--days", "60"))
    golden(
        "cli_simulate.txt",
        invoke("simulate", "--from", "2026-11-22", "--to", "2026-12-31", profile),
    )
    # `huiqi rounds list` records this year's rounds by the real clock: render its list of
    # the rounds recorded at the tests' moment instead, through the same function.
    store = Store.open(f"sqlite:///{tmp_path / 'cli.db'}")
    sync_rounds(store, WORLD.catalog, now=NOW)
    recorded = sorted(
        store.rounds.current_rounds(), key=lambda r: (r.close or r.open or NOW.date(), r.key)
    )
    golden("cli_rounds.txt", render_rounds(WORLD.catalog, recorded[:40]))
    store.close()


@dataclasses.dataclass(frozen=True)
class Item:
    """An outbox row as the dispatcher hands it to the renderer."""

    id: int
    subscriber_id: int
    round_key: str
    round_version: int
    kind: str
    due_at: dt.datetime


def test_reminder_messages(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """Opening, countdown, heads-up of a published round, date change, a weekly digest, and a
    late digest of two: the reminder template in each of its branches."""
    store = Store.open(f"sqlite:///{tmp_path / 'huiqi.db'}")
    sync_rounds(store, WORLD.catalog, now=NOW)
    today = NOW.astimezone(SHANGHAI).date()
    talent = min(  # the December round, the one the bureau's notice below confirms
        (
            r
            for r in store.rounds.current_rounds()
            if r.policy_id == TALENT and r.close is not None and r.close >= today
        ),
        key=lambda r: r.close or today,
    )
    add_round(
        store,
        WORLD.catalog,
        TALENT,
        open=dt.date(2026, 12, 1),
        close=dt.date(2026, 12, 28),
        notice_url="https://example.org/notice",
        now=NOW,
    )
    # A provincial round whose only known close is the city bureau's report to the province.
    _, forwarded = store.rounds.put_round(
        key=f"{SPECIALIZED}#3@2026",
        policy_id=SPECIALIZED,
        open=dt.date(2026, 11, 16),
        close=dt.date(2026, 12, 15),
        basis=Basis.CONFIRMED,
        label="省级申报（市州报省截止）",
        source="admin",
        now=NOW,
        deadline=Deadline(DeadlineOf.CITY, to="区、市经信局"),
    )
    rounds = rounds_by_key(store)
    changed = rounds[talent.key]
    estimated = next(
        r for r in rounds.values() if r.policy_id == SPECIALIZED and r.basis == Basis.ESTIMATED
    )
    render = renderer(WORLD, store, public_url="https://huiqi.example.cn")

    def item(kind: str, version: int = talent.version) -> Item:
        return Item(1, 1, talent.key, version, kind, NOW)

    cases = {
        "open": [item("open")],
        "close-7": [item(close_kind(7))],
        "announce": [item(announce_kind(changed.version), changed.version)],
        "change": [item(change_kind(changed.version), changed.version)],
        "weekly": [item("weekly-2026-11-23")],
        "headsup of an estimated round": [
            Item(1, 1, estimated.key, estimated.version, "headsup", NOW)
        ],
        "late digest of two": [item("open"), item(close_kind(3))],
        "countdown to a city bureau's deadline": [
            Item(1, 1, forwarded.key, forwarded.version, close_kind(7), NOW)
        ],
    }
    for channel, caps in CHANNELS.items():
        texts = []
        for name, items in cases.items():
            late = name.startswith("late")
            texts.append(f"== {name}\n{render(items, rounds, late, NOW, caps)}\n")
        golden(REMINDER_GOLDENS[channel], "\n".join(texts))
    store.close()


# Each channel's messages, from its own declaration: Telegram (/commands), WeCom app (typed
# words and a link), group robots (markdown, links), the console (a link only).
CHANNELS = {
    "telegram": TELEGRAM_CAPS,
    "wecom": APP_MESSAGES,
    "robot": ROBOT_MESSAGES,
    "console": ConsoleChannel().capabilities,
}
REMINDER_GOLDENS = {
    "telegram": "reminders.txt",
    "wecom": "reminders_wecom.txt",
    "robot": "reminders_robot.md",
    "console": "reminders_console.txt",
}


def test_announcement_messages(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """An announcement on the day it was written, and one sent a day late, on every channel."""
    store = Store.open(f"sqlite:///{tmp_path / 'huiqi.db'}")
    subscriber = store.registry.subscriber("telegram", "1", display_name="甲", now=NOW)
    number, _ = store.outbox.announce(
        "明天上午9点在市民之家召开政策宣讲会。\n欢迎参加。", author="tg:1", now=NOW
    )
    key = f"announcement:{number}"
    render = renderer(WORLD, store, public_url="https://huiqi.example.cn")
    texts = []
    for channel, caps in CHANNELS.items():
        for when in (NOW, NOW + dt.timedelta(days=1)):
            item = Item(1, subscriber, key, 0, "announcement", when)
            shown = render([item], {}, False, when, caps)
            texts.append(f"== {channel}, {when.astimezone(SHANGHAI):%m-%d}\n{shown}\n")
    golden("announcements.txt", "\n".join(texts))
    store.close()


def test_web_pages(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """The calendar page, a policy page and the page for an unknown policy."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'huiqi.db'}")
    app = create_app(
        settings, WORLD, clock=lambda: NOW, channels={"console": RecordingChannel(lambda: NOW)}
    )
    with TestClient(app, base_url="http://huiqi.test") as client:
        golden("web_index.html", client.get("/").text)
        golden("web_policy.html", client.get(f"/policies/{TALENT}").text)
        missing = client.get("/policies/no-such-policy")
        assert missing.status_code == 404
        golden("web_not_found.html", missing.text)


def test_signup_pages_and_mails(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """我能申报什么 in WeChat's browser, the e-mail sign-up's pages and its two mails (text and
    HTML), with the random tokens masked."""
    with smtp_server() as (box, port):
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'huiqi.db'}",
            public_url="https://huiqi.example.cn",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_tls="none",
            smtp_from="鄂州市经信局惠企政策提醒 <noreply@huiqi.example.cn>",
        )
        app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
        wechat = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"}
        form = {
            "industry": "汽车",
            "employees": "180",
            "revenue": "1.2亿",
            "qualifications": "高新技术企业",
            "name": "鄂州某汽车零部件有限公司",
        }
        with TestClient(app) as client:
            golden("web_check.html", client.get("/check", params=form, headers=wechat).text)
            pages = [client.post("/email/subscribe", data=form | {"address": "bad"}).text]
            pages.append(client.post("/email/subscribe", data=form | {"address": "a@b.cn"}).text)
            body = box.messages[0].get_body(preferencelist=("plain",))
            assert body is not None
            token = body.get_content().split("/email/confirm?t=")[1].split()[0]
            pages.append(client.get("/email/confirm", params={"t": token}).text)
            pages.append(client.post("/email/confirm", data={"t": token}).text)
            unsubscribe = box.messages[1]["List-Unsubscribe"].strip("<>")
            pages.append(client.get(unsubscribe).text)
            pages.append(client.post(unsubscribe).text)
    masked = re.compile(r"(t=|/feeds/e/|%2Fe%2F|value=\")[A-Za-z0-9_-]{20,}")
    shown = masked.sub(r"\1…", "\n<!-- next page -->\n".join(pages))
    golden("web_signup.html", re.sub(r'<path[^>]*d="[^"]+"', '<path d="…"', shown))  # the QR
    mails = []
    for mail in box.messages:
        mails.append(f"Subject: {mail['Subject']}\nList-Unsubscribe: {mail['List-Unsubscribe']}")
        for kind in ("plain", "html"):
            part = mail.get_body(preferencelist=(kind,))
            assert part is not None
            mails.append(part.get_content())
    golden("mail_signup.txt", masked.sub(r"\1…", "\n==\n".join(mails)))


# Arguments for every phrase of templates/chat/phrases: each is rendered for a chat with
# buttons (/commands) and one where commands are typed. A new phrase fails here until it is.
DIVISION = dataclasses.make_dataclass("Division", ["full_code", "name"])
ROUND = dataclasses.make_dataclass("Round", ["open", "close", "version"])
STATS = dataclasses.make_dataclass(
    "Stats", ["subscribers", "enterprises", "matches", "sent", "failed"]
)
PHRASE_ARGS: dict[str, dict[str, dict[str, Any]]] = {
    "common": {
        "not_registered": {},
        "private_only": {},
        "unknown_command": {},
        "stale_button": {},
        "cancelled_registration": {},
        "cancelled_announcement": {},
        "nothing_to_cancel": {},
        "which_policy": {
            "word": "补贴",
            "policies": [WORLD.catalog.get(TALENT)],
            "asked": "已申报",
        },
    },
    "registration": {
        "bind_usage": {},
        "bind_unknown": {"code": "ZZZZ9999"},
        "bind_other": {"current": "甲公司", "name": "乙公司"},
        "bound": {"name": "乙公司"},
        "unknown_keys": {"keys": ("颜色", "尺寸")},
        "guided_start": {},
        "no_industry": {"word": "量子点"},
        "several_industries": {
            "word": "纺织",
            "divisions": [DIVISION("C17", "纺织业"), DIVISION("C18", "纺织服装、服饰业")],
            "total": 14,
        },
        "invalid": {"errors": [("人数", "从业人数应为整数"), ("营收", "应为数字")]},
        "how_to_correct": {},
        "ask_name_again": {},
        "ask_industry": {},
        "ask_number_again": {"step": "employees"},
        "ask_revenue": {},
        "ask_qualifications": {
            "size": "小型",
            "group": "工业",
            "qualifications": WORLD.vocab.qualifications[:3],
        },
        "use_the_buttons": {},
        "no_industry_pick": {
            "word": "量子点",
            "sections": [("A", "农、林、牧、渔业"), ("C", "制造业")],
        },
        "pick_industry": {"divisions": [DIVISION("C36", "汽车制造业"), DIVISION("C37", "铁路")]},
        "ask_employees": {"industry": "C39", "name": "计算机、通信和其他电子设备制造业"},
        "over": {},
        "pick_division": {
            "code": "C",
            "name": "制造业",
            "divisions": [DIVISION("C13", "农副食品加工业"), DIVISION("C14", "食品制造业")],
        },
        "ask_district": {"districts": WORLD.vocab.districts[:2]},
        "unknown_district": {"word": "武昌区", "districts": WORLD.vocab.districts[:2]},
        "unknown_qualifications": {"words": ["金牌企业"]},
        "confirm_again": {},
        "chosen": {"names": ["高新技术企业"]},
        "confirm": {
            "p": {"name": "甲公司", "industry": "C39", "employees": 180, "revenue_wan": 12000}
        },
        "cancelled": {},
        "wrong_step": {},
    },
    "matching": {"policy_usage": {}},
    "calendar": {"already_given": {"name": "甲公司", "day": dt.date(2026, 11, 20)}, "rotated": {}},
    "reminders": {
        "bad_offsets": {},
        "bad_time": {},
        "no_such": {"value": "好政策", "names": "奖励、人才补贴"},
        "confirm_stop": {},
        "kept": {},
        "stopped": {"gone": True},
    },
    "answers": {
        "usage": {"choice": "applied"},
        "no_round": {"policy": WORLD.catalog.get(TALENT)},
        "noted": {
            "policy": WORLD.catalog.get(TALENT),
            "round": ROUND(dt.date(2026, 12, 1), dt.date(2026, 12, 25), 1),
            "choice": "not_interested",
            "stopped": 4,
        },
        "nothing_waiting": {"policy": WORLD.catalog.get(TALENT)},
        "cannot_later": {
            "policy": WORLD.catalog.get(TALENT),
            "round": ROUND(dt.date(2026, 12, 1), dt.date(2026, 12, 25), 1),
        },
        "later_noted": {"policy": WORLD.catalog.get(TALENT), "day": dt.date(2026, 12, 16)},
    },
    "admin": {
        "admins_only": {"what": "rounds"},
        "announce_usage": {},
        "announcement_too_long": {"limit": 1000, "length": 1200},
        "announcement_preview": {"count": 3, "body": "明天宣讲会\n欢迎参加"},
        "announcement_dropped": {"waiting": True},
        "nothing_to_confirm": {},
        "announcement_queued": {"total": 3, "parts": "Telegram 1、企业微信 2"},
        "rounds_usage": {},
        "bad_date": {},
        "close_before_open": {},
        "round_refused": {"problems": ["截止日期 2025-12-01 已过"]},
        "round_unchanged": {},
        "round_published": {
            "new": ROUND(dt.date(2026, 12, 1), dt.date(2026, 12, 28), 2),
            "notices": 5,
        },
        "stats": {"s": STATS(10, 8, 120, 30, 1)},
        "subscribe_usage": {"listing": "人才补贴（talent）、税收优惠（tax）"},
        "no_categories": {"unknown": ["天气"], "listing": "人才补贴（talent）"},
        "subscribed": {"chosen": "人才补贴"},
        "unsubscribed": {},
    },
}


def test_chat_phrases(service: ChatService, golden: Callable[[str, str], None]) -> None:
    """Every short reply of the chat features, as Telegram and WeCom show it."""
    texts = []
    for name, phrases in PHRASE_ARGS.items():
        source = (ROOT / "templates" / "chat" / "phrases" / f"{name}.txt.j2").read_text("utf-8")
        assert set(re.findall(r"{% macro (\w+)\(", source)) == set(phrases), name
        for phrase, args in phrases.items():
            service.phrases = name
            for who in (
                Who("telegram", "1", "1", "甲", buttons=True),
                Who("wecom", "u", "u", "乙"),
            ):
                [reply] = service.tell(who, phrase, **args)
                shown = reply.text if who.buttons else reply.words
                texts.append(f"== {name}.{phrase} ({who.channel})\n{shown}\n")
    golden("chat_phrases.txt", "\n".join(texts))


def test_a_year_of_reminders_is_true(golden: Callable[[str, str], None]) -> None:
    """`huiqi simulate` over a year for the test profiles: no 【申报开始】 and no countdown for
    an estimated round, a link in every message, the amount wherever the policy states one."""
    profiles = sorted(str(p) for p in (FIXTURES / "profiles").glob("*.json"))
    shown = invoke("simulate", "--from", "2026-12-02", "--to", "2027-12-01", *profiles)
    golden("simulate_year.txt", shown)
    messages = re.split(r"\n(?=\[\d{4}-\d\d-\d\d \d\d:\d\d \w+\] → )", shown)[1:]
    assert len(messages) > 100
    for message in messages:
        assert re.search(r"https?://\S+/policies/", message), message
        for entry in re.split(r"\n\n(?=\d+\. )", message):
            found = re.search(r"/policies/([\w-]+)", entry)
            if found is None:
                continue
            policy = WORLD.catalog.get(found[1])
            assert policy is not None
            if "（预计" in entry:
                assert "【申报开始】" not in entry, entry
                assert not re.search(r"【(还有\d+天|明天|今天)截止", entry), entry
            if policy.largest_benefit is not None:
                assert "支持：" in entry, entry
            # whom to call, with the number: the policy's contact, else the hotline
            asked = [line for line in entry.splitlines() if line.startswith(("承办：", "咨询："))]
            assert any(re.search(r"\d{3,4}-\d{7,8}|1\d{10}", line) for line in asked), entry


def test_a_reminder_of_a_policy_without_a_number_names_the_hotline(tmp_path: Path) -> None:
    """The documents give no phone for the high-tech tax rate: its reminder says whom to call
    (HUIQI_HOTLINE), on every channel."""
    policy = WORLD.catalog.get("high-tech-enterprise-income-tax-15-percent")
    assert policy is not None
    assert not any(c.phone for c in policy.contacts)
    rnd = StoredRound(
        "k#0@2026",
        1,
        policy.id,
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 25),
        Basis.CONFIRMED,
        None,
        None,
        "admin",
        NOW,
    )
    message = Digest((Entry(Kind.OPEN, rnd, policy),), NOW.date())
    for caps in CHANNELS.values():
        text = render_message(
            message, caps, public_url="https://h.example", hotline="葛店经发局 027-12345678"
        )
        assert "咨询：葛店经发局 027-12345678" in text, text
    talent = WORLD.catalog.get(TALENT)
    assert talent is not None
    with_phone = Digest(
        (Entry(Kind.OPEN, dataclasses.replace(rnd, policy_id=TALENT), talent),), NOW.date()
    )
    assert "咨询：" not in render_message(
        with_phone, CHANNELS["wecom"], public_url="https://h.example"
    )


def test_console_pages(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """The console's pages in the order an officer meets them (tokens masked), and the public
    page of an invitation."""
    from bot.console._auth import hash_password
    from tests.bot.test_console import NOTICE, PASSWORD

    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    store = Store.open(url)
    store.console.add_user("guan", "admin", hash_password(PASSWORD), now=NOW)
    store.console.add_user("cha", "viewer", hash_password(PASSWORD), now=NOW)
    store.close()
    settings = Settings(database_url=url, public_url="https://huiqi.example.cn")
    app = create_app(settings, WORLD, clock=lambda: NOW, channels={})
    pages: list[str] = []
    token = re.compile(r'name="csrf" value="[0-9a-f]{64}"')

    def csrf(text: str) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]{64})"', text)
        assert found is not None
        return found.group(1)

    with TestClient(app, base_url="https://huiqi.example.cn", follow_redirects=True) as client:
        login = client.get("/admin/login")
        pages.append(
            client.post(
                "/admin/login",
                data={"name": "guan", "password": "wrong-password", "csrf": csrf(login.text)},
            ).text
        )
        signed = client.post(
            "/admin/login", data={"name": "guan", "password": PASSWORD, "csrf": csrf(login.text)}
        )
        pages.append(signed.text)  # the dashboard
        form = csrf(signed.text)
        pages.append(client.get("/admin/publish").text)
        pages.append(
            client.post("/admin/publish", data={"csrf": form, "step": "read", "text": NOTICE}).text
        )
        pages.append(
            client.post(
                "/admin/publish",
                data={
                    "csrf": form,
                    "step": "confirm",
                    "text": NOTICE,
                    "policy": TALENT,
                    "open": "2026-12-07",
                    "close": "2026-12-28",
                },
            ).text
        )  # the rounds, with what was published
        sheet = "企业名称,行业,从业人数\n鄂州新材料,C30,85\n错误的行,C30,很多\n".encode()
        pages.append(client.get("/admin/enterprises/import").text)
        preview = client.post(
            "/admin/enterprises/import",
            data={"csrf": form, "step": "preview"},
            files={"file": ("名单.csv", sheet, "text/csv")},
        ).text
        pages.append(preview)
        payload = re.search(r'name="payload" value="([^"]+)"', preview)
        assert payload is not None
        listed = client.post(
            "/admin/enterprises/import",
            data={
                "csrf": form,
                "step": "confirm",
                "payload": payload.group(1),
                "filename": "名单.csv",
            },
        ).text
        pages.append(listed)
        eid = re.search(r"/admin/enterprises/(\d+)/invite", listed)
        assert eid is not None
        invite = client.get(f"/admin/enterprises/{eid.group(1)}/invite").text
        pages.append(invite)
        code = re.search(r"绑定 ([A-Z2-9]{8})", invite)
        assert code is not None
        pages.append(client.get("/admin/deliveries").text)
        pages.append(client.get("/admin/policies", params={"status": "open"}).text)
        pages.append(client.get("/admin/policies/new").text)
        pages.append(client.get("/admin/audit").text)
        join = client.get(f"/join/{code.group(1)}").text
        client.post("/admin/logout", data={"csrf": form})
        viewer = client.get("/admin/login")
        client.post(
            "/admin/login", data={"name": "cha", "password": PASSWORD, "csrf": csrf(viewer.text)}
        )
        pages.append(
            client.post(
                "/admin/enterprises/invite",
                data={"csrf": csrf(client.get("/admin").text), "enterprise": eid.group(1)},
            ).text
        )  # a viewer refused
    shown = token.sub('name="csrf" value="…"', "\n<!-- next page -->\n".join(pages))
    shown = re.sub(r'name="payload" value="[^"]+"', 'name="payload" value="…"', shown)
    shown = shown.replace(code.group(1), "CODE").replace(code.group(1).lower(), "code")
    shown = re.sub(r'<path[^>]*d="[^"]+"', '<path d="…"', shown)
    golden("console_pages.html", shown)
    golden(
        "web_join.html",
        re.sub(r'<path[^>]*d="[^"]+"', '<path d="…"', join.replace(code.group(1), "CODE")),
    )
