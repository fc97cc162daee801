"""The dispatcher on a real store: digests, outages, platform faults, deactivation."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from dataclasses import dataclass, field, replace

from bot._service import (
    MATCHES_MAX_AGE,
    World,
    add_round,
    dispatcher_for,
    replan,
    sync_rounds,
    withdraw_round,
)
from bot._simulate import SimulatedClock
from bot.chat import ChatService, Who
from schedulers import SHANGHAI, Condition, Policy, RecordingChannel, SendResult
from schedulers._catalog import Catalog
from schedulers._policy import Supersession
from schedulers.data import load_catalog
from schedulers.dispatch import Dispatcher
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store, StoredAnnouncement

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
TALENT = "talent-living-allowance-masters-doctors"
TALENT_FIRM = {
    "name": "鄂州某人才引进企业",
    "industry": "C3976",
    "district": "葛店经开区",
    "employees": 120,
    "revenue_wan": 6000,
    "qualifications": ["高新技术企业"],
}


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 30) -> dt.datetime:
    """A Shanghai wall-clock instant, in UTC."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class Setup:
    """A store with subscribers, a recording channel and a dispatcher on a test clock."""

    store: Store
    clock: SimulatedClock
    channel: RecordingChannel
    dispatcher: Dispatcher
    subscribers: list[int] = field(default_factory=list)


def setup(
    store: Store, *, at: dt.datetime, firms: int = 1, offsets: tuple[int, ...] = (14, 7, 3, 1)
) -> Setup:
    """Subscribe `firms` copies of the talent-subsidy firm at `at` and plan."""
    clock = SimulatedClock(at)
    channel = RecordingChannel(clock=clock)
    dispatcher = dispatcher_for(
        WORLD,
        store,
        {"console": channel},
        clock=clock,
        public_url="https://huiqi.example.cn",
        rng=random.Random(1),  # noqa: S311 - jitter in a test, not a secret,
    )
    result = Setup(store, clock, channel, dispatcher)
    for i in range(firms):
        enterprise = store.registry.save_enterprise(
            f"企业{i}", {**TALENT_FIRM, "name": f"企业{i}"}, now=at
        )
        sub = store.registry.subscriber("console", f"chat-{i}", display_name=None, now=at)
        store.registry.subscribe(sub, enterprise, now=at, offsets=offsets)
        result.subscribers.append(sub)
    replan(store, WORLD, now=at)
    return result


def with_policy(s: Setup, store: Store, changed: Policy) -> World:
    """The world with `changed` in place of the catalog's policy of that id, and the setup's
    dispatcher rendering from it."""
    updated = World(
        Catalog(
            tuple(changed if p.id == changed.id else p for p in WORLD.catalog.policies),
            WORLD.catalog.vocab,
        ),
        WORLD.vocab,
        WORLD.standard,
    )
    s.dispatcher = dispatcher_for(
        updated, store, {"console": s.channel}, clock=s.clock, public_url="https://huiqi.example.cn"
    )
    return updated


def confirm_talent_to_the_28th(store: Store, at: dt.datetime) -> None:
    """The bureau publishes the talent round as 1-28 Dec at `at`, and the plan follows."""
    add_round(
        store,
        WORLD.catalog,
        "talent-living-allowance-masters-doctors",
        open=dt.date(2026, 12, 1),
        close=dt.date(2026, 12, 28),
        notice_url="https://example.org/talent",
        now=at,
    )
    replan(store, WORLD, now=at)


def run_until(s: Setup, end: dt.datetime) -> None:
    """Tick at every due moment up to `end`, as the scheduler would."""
    while True:
        asyncio.run(s.dispatcher.tick())
        due = s.store.outbox.next_due()
        if due is None or due > end:
            s.clock.now = end
            return
        s.clock.now = max(due, s.clock.now)


def talent_rows(store: Store) -> list[dict[str, object]]:
    """Outbox rows of the December 2026 talent-subsidy round."""
    return [
        r
        for r in store.outbox.rows()
        if str(r["round_key"]).startswith("talent-living-allowance-masters-doctors#1@2026")
    ]


def test_talent_round_reminders_arrive_on_time(store: Store) -> None:
    """Subscribed in November: open on 1 Dec, then 11, 18, 22 and 24 Dec, each at 09:30."""
    s = setup(store, at=local(2026, 11, 20, 10, 0))
    run_until(s, local(2026, 12, 31))
    talent = [m for m in s.channel.sent if "千名引硕工程" in m.text]
    assert [m.at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") for m in talent] == [
        "12-01 09:30",
        "12-11 09:30",
        "12-18 09:30",
        "12-22 09:30",
        "12-24 09:30",
    ]
    assert talent[0].text.startswith("【申报开始】企业“千名引硕工程”人才生活补贴")
    assert "【明天截止（12月25日）】" in talent[-1].text


def test_replanning_sends_nothing_twice(store: Store) -> None:
    """Planning again (every start-up does) adds no reminder already planned."""
    s = setup(store, at=local(2026, 11, 20, 10, 0))
    assert replan(s.store, WORLD, now=local(2026, 11, 20, 11, 0)) == 0
    run_until(s, local(2026, 12, 31))
    sent = [m.text for m in s.channel.sent]
    assert len(sent) == len(set(sent))


def test_three_day_outage(store: Store) -> None:
    """Down 28 Nov-1 Dec: open rounds' reminders go out marked 补发, closed rounds' are dropped."""
    s = setup(store, at=local(2026, 11, 20, 10, 0), offsets=(14, 7, 3, 1, 0))
    # The bureau confirms the 专精特新 round (estimated ones count down to nothing).
    add_round(
        store,
        WORLD.catalog,
        "provincial-specialized-sophisticated-sme",
        open=dt.date(2026, 11, 1),
        close=dt.date(2026, 11, 30),
        notice_url="https://example.org/zjtx",
        now=local(2026, 11, 20, 10, 0),
    )
    replan(store, WORLD, now=local(2026, 11, 20, 10, 0))
    run_until(s, local(2026, 11, 28, 0, 0))
    sent_before = len(s.channel.sent)
    s.clock.now = local(2026, 12, 1, 12, 0)  # back up after three days
    asyncio.run(s.dispatcher.tick())
    after = s.channel.sent[sent_before:]
    assert len(after) == 1
    assert after[0].text.startswith("【补发】系统停机期间未能按时发出以下提醒，现补发：")
    assert "【申报开始】企业“千名引硕工程”人才生活补贴" in after[0].text
    dropped = [r for r in s.store.outbox.rows() if r["status"] == "dropped"]
    # The estimated round (14 Oct-13 Nov) was over when the enterprise subscribed: no heads-up.
    assert [(r["round_key"].split("#")[0], r["kind"], r["note"][:4]) for r in dropped] == [
        ("provincial-specialized-sophisticated-sme", "close-0", "轮次已于"),
    ]
    assert dropped[0]["note"] == "轮次已于2026-11-30截止，停机期间未能按时发出，不再补发"
    late = [r for r in talent_rows(s.store) if r["kind"] == "open"]
    assert (late[0]["status"], late[0]["late"]) == ("sent", True)


class FlakyChannel(RecordingChannel):
    """A recording channel that also times out once for one chat."""

    timeouts: dict[str, int]

    async def send(self, address: str, text: str) -> SendResult:
        if self.timeouts.get(address, 0) > 0:
            self.timeouts[address] -= 1
            raise TimeoutError("read timed out")
        return await super().send(address, text)


def test_platform_faults_end_delivered_or_deactivated(store: Store) -> None:
    """Retry-after, 5xx and a timeout are retried until delivered; a blocked chat is deactivated."""
    s = setup(store, at=local(2026, 11, 20, 10, 0), firms=4)
    channel = FlakyChannel(clock=s.clock)
    channel.timeouts = {"chat-2": 1}
    channel.answers = {
        "chat-0": [SendResult("retry_after", retry_after=30, detail="429 Too Many Requests")],
        "chat-1": [
            SendResult("transient", detail="502 Bad Gateway"),
            SendResult("transient", detail="503"),
        ],
        "chat-3": [SendResult("permanent", detail="403 Forbidden: bot was blocked by the user")],
    }
    s.dispatcher.channels = {"console": channel}
    run_until(s, local(2026, 12, 31))
    delivered = {
        a: sum(1 for m in channel.sent if m.address == a)
        for a in ("chat-0", "chat-1", "chat-2", "chat-3")
    }
    expected = sum(1 for m in channel.sent if m.address == "chat-0")
    assert expected > 5
    assert delivered == {"chat-0": expected, "chat-1": expected, "chat-2": expected, "chat-3": 0}
    assert s.store.registry.subscriber_active(s.subscribers[3]) is False
    rows = [r for r in s.store.outbox.rows() if r["due_at"] <= local(2026, 12, 31)]
    assert {
        r["status"] for r in s.store.outbox.rows() if r["subscriber_id"] == s.subscribers[3]
    } == {"failed"}
    assert {r["status"] for r in rows if r["subscriber_id"] != s.subscribers[3]} == {"sent"}


def test_confirmed_round_change_notice_and_new_schedule(store: Store) -> None:
    """A notice moving the deadline tells those who heard of the round, then reminds anew."""
    s = setup(store, at=local(2026, 11, 20, 10, 0))
    run_until(s, local(2026, 12, 2, 12, 0))
    _, new, notices = add_round(
        s.store,
        WORLD.catalog,
        "talent-living-allowance-masters-doctors",
        open=dt.date(2026, 12, 1),
        close=dt.date(2026, 12, 28),
        notice_url="https://example.org/notice",
        now=s.clock.now,
    )
    assert (new.version, new.basis, notices) == (2, "confirmed", 1)
    replan(s.store, WORLD, now=s.clock.now)
    start = len(s.channel.sent)
    run_until(s, local(2026, 12, 31))
    talent = [m for m in s.channel.sent[start:] if "千名引硕工程" in m.text]
    assert talent[0].text.startswith(
        "【日期变更】企业“千名引硕工程”人才生活补贴\n"
        "申报时间由 2026-12-01 至 2026-12-25 改为 2026-12-01 至 2026-12-28"
    )
    assert [m.at.astimezone(SHANGHAI).strftime("%m-%d") for m in talent[1:]] == [
        "12-14",
        "12-21",
        "12-25",
    ]
    superseded = [r for r in talent_rows(s.store) if r["status"] == "dropped"]
    assert {r["kind"] for r in superseded} == {"close-14", "close-7", "close-3", "close-1"}


def test_announcement_is_its_own_message_and_outlives_no_round(store: Store) -> None:
    """An announcement due with a reminder goes out as a message of its own (not folded into a
    digest, not dropped for naming no round), once; a late one carries the day it was made."""
    s = setup(store, at=local(2026, 11, 20))
    due = store.outbox.next_due()
    assert due is not None
    s.clock.now = due
    number, by_channel = store.outbox.announce("第一条公告", author="tg:1", now=due)
    assert by_channel == {"console": 1}
    asyncio.run(s.dispatcher.tick())
    texts = [m.text for m in s.channel.sent]
    assert texts.count("【公告】第一条公告") == 1
    assert any(t != "【公告】第一条公告" for t in texts)  # the reminder due then, apart
    store.outbox.announce("停机时发的公告", author="tg:1", now=local(2026, 12, 1))
    s.clock.now = local(2026, 12, 3)  # the dispatcher was down for two days
    asyncio.run(s.dispatcher.tick())
    asyncio.run(s.dispatcher.tick())
    later = [m.text for m in s.channel.sent].count("【公告】（12月1日发布）停机时发的公告")
    assert later == 1
    assert store.outbox.announcements([number]) == {number: StoredAnnouncement("第一条公告", due)}


def test_a_date_change_gives_one_change_notice_and_no_second_opening(store: Store) -> None:
    """Subscribed while the talent round is open (told at once); the bureau moves its close:
    that subscriber gets one 【日期变更】 with the old and new dates, and no second 申报开始."""
    s = setup(store, at=local(2026, 12, 3, 14, 0))
    run_until(s, local(2026, 12, 4, 0, 0))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1
    before = len(s.channel.sent)
    at = local(2026, 12, 5, 10, 0)
    s.clock.now = at
    confirm_talent_to_the_28th(store, at)
    asyncio.run(s.dispatcher.tick())
    now_sent = [m.text for m in s.channel.sent[before:]]
    assert len(now_sent) == 1
    assert "【日期变更】企业“千名引硕工程”人才生活补贴" in now_sent[0]
    assert "2026-12-25 改为 2026-12-01 至 2026-12-28" in now_sent[0]
    run_until(s, local(2026, 12, 31))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1


def test_a_withdrawn_round_is_told_once_and_stops(store: Store) -> None:
    """The bureau publishes the talent round, then withdraws it: who was told gets one
    【批次撤回】 with the reason, and no countdown to the withdrawn (or the catalog's) close."""
    s = setup(store, at=local(2026, 11, 20, 10, 0))
    at = local(2026, 11, 20, 11, 0)
    confirm_talent_to_the_28th(store, at)
    run_until(s, local(2026, 12, 2, 0, 0))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1
    key = next(r.key for r in store.rounds.current_rounds() if r.source == "admin")
    before = len(s.channel.sent)
    s.clock.now = local(2026, 12, 2, 10, 0)
    found = withdraw_round(store, key=key, reason="通知有误，待重新发布", now=s.clock.now)
    assert found is not None
    replan(store, WORLD, now=s.clock.now)
    run_until(s, local(2026, 12, 31))
    after = [m.text for m in s.channel.sent[before:] if "千名引硕" in m.text]
    assert len(after) == 1
    assert after[0].startswith("【批次撤回】企业“千名引硕工程”人才生活补贴")
    assert "已撤回 2026-12-01 至 2026-12-28 的申报批次：通知有误，待重新发布" in after[0]
    assert withdraw_round(store, key=key, reason="again", now=s.clock.now) is None


def test_an_enterprise_that_applied_hears_no_more_of_that_round(store: Store) -> None:
    """After the opening, the enterprise answers 已申报 千名引硕: the round's countdowns stop,
    the answer is counted for the bureau; a vague word is answered with the choices."""
    s = setup(store, at=local(2026, 11, 20, 10, 0))
    run_until(s, local(2026, 12, 2, 0, 0))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1
    service = ChatService(WORLD, store, clock=s.clock, public_url="https://huiqi.example.cn")
    who = Who("console", "chat-0", "chat-0", "企业0")
    vague = service.handle_text(who, "已申报 补贴")[0].words
    assert vague.startswith("“补贴”对应7项政策")
    said = service.handle_text(who, "已申报 千名引硕")[0].words
    assert said.startswith(
        "已记录：企业“千名引硕工程”人才生活补贴（2026-12-01 至 2026-12-25）已申报"
    )
    assert "取消了 4 条待发提醒" in said
    before = len(s.channel.sent)
    replan(store, WORLD, now=s.clock.now)  # the hourly pass plans nothing back
    run_until(s, local(2026, 12, 31))
    assert not [m for m in s.channel.sent[before:] if "千名引硕" in m.text]
    key = next(r.key for r in store.rounds.current_rounds() if r.close == dt.date(2026, 12, 25))
    assert store.outbox.answers(key) == {"applied": 1}


def test_remind_me_later_moves_the_next_reminder_three_working_days(store: Store) -> None:
    """稍后提醒 after the opening: the 11 Dec countdown moves to Wednesday 16 Dec (three working
    days on, over the weekend); the later countdowns stay; a replan does not move it back."""
    s = setup(store, at=local(2026, 11, 20, 10, 0))
    run_until(s, local(2026, 12, 2, 0, 0))
    service = ChatService(WORLD, store, clock=s.clock, public_url="https://huiqi.example.cn")
    who = Who("console", "chat-0", "chat-0", "企业0")
    said = service.handle_text(who, "稍后提醒 千名引硕")[0].words
    assert said == "好的，企业“千名引硕工程”人才生活补贴的下一条提醒改在 12月16日。"
    replan(store, WORLD, now=s.clock.now)
    before = len(s.channel.sent)
    run_until(s, local(2026, 12, 31))
    talent = [
        (m.at.astimezone(SHANGHAI).strftime("%m-%d"), m.text.split("\n")[0])
        for m in s.channel.sent[before:]
        if "千名引硕" in m.text
    ]
    assert talent == [
        ("12-16", "【稍后提醒】企业“千名引硕工程”人才生活补贴（12月25日截止）"),
        ("12-18", "【还有7天截止（12月25日）】企业“千名引硕工程”人才生活补贴"),
        ("12-22", "【还有3天截止（12月25日）】企业“千名引硕工程”人才生活补贴"),
        ("12-24", "【明天截止（12月25日）】企业“千名引硕工程”人才生活补贴"),
    ]


def test_a_change_of_terms_gives_one_notice_of_what_changed(store: Store) -> None:
    """A catalog update raises the talent subsidy, adds a condition and a material and drops
    another: who was told of the open round gets one 【内容变更】 saying old -> new, and no
    second opening; syncing again tells nobody twice."""
    s = setup(store, at=local(2026, 12, 3, 14, 0))
    run_until(s, local(2026, 12, 4, 0, 0))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1
    talent = WORLD.catalog.get(TALENT)
    assert talent is not None
    doctors = replace(talent.benefits[0], text="博士生三年内每人可享受4000元的生活补贴", yuan=4000)
    check = Condition("check", text="硕博研究生与企业签订3年以上劳动合同")
    changed = replace(
        talent,
        benefits=(doctors, *talent.benefits[1:]),
        eligibility=replace(talent.eligibility, conditions=(*talent.eligibility.conditions, check)),
        materials=(*talent.materials[1:], "社保缴纳证明"),
    )
    updated = with_policy(s, store, changed)
    before = len(s.channel.sent)
    s.clock.now = local(2026, 12, 5, 10, 0)
    assert sync_rounds(store, updated.catalog, now=s.clock.now) == 8  # 4 windows a year, 2026-27
    assert sync_rounds(store, updated.catalog, now=s.clock.now) == 0
    asyncio.run(s.dispatcher.tick())
    told = s.channel.sent[before:]
    assert [m.address for m in told] == ["chat-0"]
    [notice] = [m.text for m in told]
    assert notice.startswith("【内容变更】企业“千名引硕工程”人才生活补贴\n")
    assert "申报时间由" not in notice  # the dates did not change
    assert (
        "支持由“博士生三年内每人可享受3000元的生活补贴”改为“博士生三年内每人可享受4000元的生活补贴”"
        in notice
    )
    assert "申报条件调整：新增 硕博研究生与企业签订3年以上劳动合同\n" in notice
    assert (
        "申报材料调整：新增 社保缴纳证明；不再需要 《鄂州市企业硕博研究生申请生活补贴呈报表》"
        in notice
    )
    assert "支持：4000元" in notice
    replan(store, updated, now=s.clock.now)
    run_until(s, local(2026, 12, 31))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1
    assert sum("【内容变更】" in m.text for m in s.channel.sent) == 1


def test_rounds_the_catalog_no_longer_gives_are_withdrawn(store: Store) -> None:
    """The catalog now records the talent subsidy as superseded: its stored rounds of this
    year and next lose their dates (tbd) with the reason, their pending reminders are dropped,
    who heard of the open round is told once that it is withdrawn, and nothing else is sent."""
    s = setup(store, at=local(2026, 12, 3, 14, 0))
    run_until(s, local(2026, 12, 4, 0, 0))
    assert sum("【申报开始】企业“千名引硕工程”" in m.text for m in s.channel.sent) == 1
    talent = WORLD.catalog.get(TALENT)
    assert talent is not None
    successor = "municipal-manufacturing-high-quality-development-fund"
    gone = replace(talent, superseded_by=Supersession(successor, evidence=()))
    updated = with_policy(s, store, gone)
    before = len(s.channel.sent)
    s.clock.now = local(2026, 12, 5, 10, 0)
    assert sync_rounds(store, updated.catalog, now=s.clock.now) == 8  # 4 windows, 2026-27
    assert sync_rounds(store, updated.catalog, now=s.clock.now) == 0
    current = [r for r in store.rounds.current_rounds() if r.policy_id == TALENT]
    dated = [r for r in current if r.open or r.close]
    assert [r.key for r in dated] == [r.key for r in current if r.key.endswith("@2025")]
    retired = [r for r in current if r.withdrawn]
    assert len(retired) == 8
    assert all("市级制造业高质量发展专项资金" in (r.withdrawn or "") for r in retired)
    replan(store, updated, now=s.clock.now)
    run_until(s, local(2026, 12, 31))
    told = [m.text for m in s.channel.sent[before:] if "千名引硕" in m.text]
    assert len(told) == 1
    assert told[0].startswith("【批次撤回】企业“千名引硕工程”人才生活补贴")
    assert "本政策已被“市级制造业高质量发展专项资金项目申报”取代" in told[0]
    pending = [
        r for r in talent_rows(store) if r["status"] == "pending" and r["kind"] != "withdraw-2"
    ]
    assert pending == []


def test_one_registration_rematches_its_own_enterprise_not_the_city(store: Store) -> None:
    """A week after the city was matched (its cache stale), one enterprise registers: planning
    for it rematches that enterprise only; the hourly pass then rematches the rest."""
    at = local(2026, 11, 20, 10, 0)
    setup(store, at=at, firms=5)
    later = local(2026, 12, 1, 10, 0)  # past MATCHES_MAX_AGE: every cache is stale
    stale = dict(
        store.registry.unmatched(
            on=dt.date(2026, 12, 1), catalog=WORLD.catalog.digest, max_age=MATCHES_MAX_AGE
        )
    )
    assert len(stale) == 5
    enterprise = store.registry.save_enterprise("新登记企业", TALENT_FIRM, now=later)
    sub = store.registry.subscriber("console", "chat-new", display_name=None, now=later)
    store.registry.subscribe(sub, enterprise, now=later, offsets=(7, 1))
    replan(store, WORLD, now=later, only={sub})
    left = store.registry.unmatched(
        on=dt.date(2026, 12, 1), catalog=WORLD.catalog.digest, max_age=MATCHES_MAX_AGE
    )
    assert sorted(e for e, _ in left) == sorted(stale)  # the city still waits for the pass
    replan(store, WORLD, now=later)
    assert (
        store.registry.unmatched(
            on=dt.date(2026, 12, 1), catalog=WORLD.catalog.digest, max_age=MATCHES_MAX_AGE
        )
        == []
    )


def test_the_quarterly_renewals_reach_only_those_already_paid(store: Store) -> None:
    """The talent allowance's first- and third-quarter windows are for those already
    receiving it: an enterprise that said 已申报 to the December round is reminded of the
    25 March renewal; one that never answered is not."""
    s = setup(store, at=local(2026, 12, 3, 14, 0), firms=2)
    paid, never = s.subscribers
    store.outbox.answer(paid, f"{TALENT}#1@2026", "applied", now=local(2026, 12, 10, 10, 0))
    replan(store, WORLD, now=local(2026, 12, 10, 11, 0))
    march = [r for r in store.outbox.rows() if r["round_key"] == f"{TALENT}#2@2027"]
    assert {r["subscriber_id"] for r in march} == {paid}
    assert sorted(r["kind"] for r in march) == ["close-1", "close-14", "close-3", "close-7"]
    june = {r["subscriber_id"] for r in store.outbox.rows() if r["round_key"] == f"{TALENT}#0@2027"}
    assert june == {paid, never}  # new hires apply in June: everyone matching hears of it


def test_a_withdrawn_round_that_is_over_is_not_announced(store: Store) -> None:
    """Told of the June and the December rounds, an enterprise hears of the December one's
    withdrawal only: the June round is over, nobody can still apply to it."""
    s = setup(store, at=local(2026, 6, 10, 10, 0))
    run_until(s, local(2026, 12, 4, 0, 0))
    sent = [m.text for m in s.channel.sent if "千名引硕" in m.text]
    assert any("6月25日" in t for t in sent)
    assert any("12月25日" in t for t in sent)
    talent = WORLD.catalog.get(TALENT)
    assert talent is not None
    gone = replace(talent, superseded_by=Supersession("national-little-giant", evidence=()))
    catalog = with_policy(s, store, gone).catalog
    before = len(s.channel.sent)
    s.clock.now = local(2026, 12, 5, 10, 0)
    sync_rounds(store, catalog, now=s.clock.now)
    asyncio.run(s.dispatcher.tick())
    told = [m.text for m in s.channel.sent[before:]]
    assert len(told) == 1
    assert told[0].startswith("【批次撤回】")
    assert "2026-12-01 至 2026-12-25" in told[0]
