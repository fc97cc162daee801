"""The dispatcher under channel faults: exceptions, hangs, moved chats, lost leases."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schedulers import MIGRATE, SENT_OK, SHANGHAI, Capabilities, Channel, Reminder, SendResult
from schedulers.dispatch import LEASE, Dispatcher, TickReport
from subscriptions.store import Store

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
FAR = dt.date(2027, 12, 31)


@dataclass
class FarRound:
    """A round that closes long after the test's clock."""

    open: dt.date | None = None
    close: dt.date | None = FAR
    basis: str = "confirmed"


@dataclass
class Sink:
    """A channel on the far side: records sends, raises or hangs for chosen addresses."""

    name: str = "console"
    rate_per_second: float | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)
    raises: dict[str, Exception] = field(default_factory=dict)
    hangs: set[str] = field(default_factory=set)
    answers: dict[str, SendResult] = field(default_factory=dict)
    on_send: Callable[[str], None] | None = None
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, address: str, text: str) -> SendResult:
        if self.on_send is not None:
            self.on_send(address)
        if address in self.raises:
            raise self.raises[address]
        if address in self.hangs:
            await asyncio.Event().wait()  # a platform that never answers
        if address in self.answers:
            return self.answers[address]
        self.sent.append((address, text))
        return SENT_OK


def render(items: Any, rounds: Any, late: bool, at: dt.datetime, caps: Capabilities) -> str:
    """The ids of the rows in a message: enough to see what went out."""
    return ",".join(str(i.id) for i in items)


def dispatcher(store: Store, clock: list[dt.datetime], **sinks: Sink) -> Dispatcher:
    """A dispatcher on the store with the given sinks, a test clock and a short send timeout."""
    return Dispatcher(
        store=store.outbox,
        channels=dict[str, Channel](sinks),
        render=render,
        rounds=lambda: {"r": FarRound()},
        clock=lambda: clock[0],
        rng=random.Random(3),  # noqa: S311 - jitter in a test, not a secret
        send_timeout=0.05,
    )


def subscribers(store: Store, channel: str, *addresses: str) -> list[int]:
    """One subscriber per address, each with one reminder due now."""
    ids = [store.registry.subscriber(channel, a, display_name=None, now=NOW) for a in addresses]
    store.outbox.enqueue([Reminder(s, "r", 1, "open", NOW) for s in ids], now=NOW)
    return ids


def statuses(store: Store) -> dict[int, tuple[str, str | None]]:
    """Each outbox row's status and note, by subscriber."""
    return {r["subscriber_id"]: (r["status"], r["note"]) for r in store.outbox.rows()}


def test_a_raising_send_costs_only_its_own_row_then_ends_dead(store: Store) -> None:
    """An unexpected exception for one chat is retried for that row only, and after the last
    attempt the row is dead with its reason; the other chats are sent in the same tick."""
    clock = [NOW]
    sink = Sink(raises={"b": RuntimeError("boom")})
    d = dispatcher(store, clock, console=sink)
    _, b, _ = subscribers(store, "console", "a", "b", "c")
    report = asyncio.run(d.tick())
    assert (report.sent, report.retried) == (2, 1)
    assert sorted(addr for addr, _ in sink.sent) == ["a", "c"]
    for _ in range(d.max_attempts):
        clock[0] += dt.timedelta(days=1)
        asyncio.run(d.tick())
    status, note = statuses(store)[b]
    assert status == "dead"
    assert note == "8次尝试后放弃：意外错误：RuntimeError"
    assert (
        store.registry.subscriber_active(b) is True
    )  # the chat is still there; the message is not
    assert d.health["console"].state == "failing"


def test_a_hung_channel_stalls_only_itself(store: Store) -> None:
    """A channel that never answers gives up after the send timeout, marks the message
    uncertain (never resent), holds its other rows back, and the other channel sends all."""
    clock = [NOW]
    slow, fast = Sink(name="slow", hangs={"s1"}), Sink(name="fast")
    d = dispatcher(store, clock, slow=slow, fast=fast)
    s1, s2 = subscribers(store, "slow", "s1", "s2")
    f = subscribers(store, "fast", *(f"f{i}" for i in range(5)))
    report = asyncio.run(d.tick())
    assert len(fast.sent) == 5
    assert report.uncertain == 1
    assert statuses(store)[s1][0] == "uncertain"
    assert statuses(store)[s2][0] == "pending"  # held back, no attempt spent
    assert {r["attempts"] for r in store.outbox.rows() if r["subscriber_id"] == s2} == {0}
    assert all(statuses(store)[i][0] == "sent" for i in f)
    assert d.health["slow"].state == "down"
    assert d.health["fast"].state == "ok"
    slow.hangs.clear()
    clock[0] += d.down_for
    asyncio.run(d.tick())
    assert slow.sent == [("s2", slow.sent[0][1])]  # s2 now; s1 is not sent a second time
    assert d.health["slow"].state == "ok"


def test_a_moved_chat_is_followed_in_the_same_tick(store: Store) -> None:
    """A platform saying the chat moved makes the subscriber follow it and get the message."""
    clock = [NOW]
    sink = Sink(answers={"-100": SendResult(MIGRATE, new_address="-1009", detail="迁移")})
    d = dispatcher(store, clock, console=sink)
    (group,) = subscribers(store, "console", "-100")
    report = asyncio.run(d.tick())
    assert [addr for addr, _ in sink.sent] == ["-1009"]
    assert report.moved == 1
    assert statuses(store)[group][0] == "sent"
    assert store.registry.subscriber("console", "-1009", display_name=None, now=NOW) == group


def test_unknown_channel_rows_wait_without_spending_attempts(store: Store) -> None:
    """Rows of a channel this process does not run wait an hour and keep their attempts."""
    clock = [NOW]
    d = dispatcher(store, clock, console=Sink())
    subscribers(store, "wecom", "zhangsan")
    report = asyncio.run(d.tick())
    assert report.retried == 1
    (row,) = store.outbox.rows()
    assert (row["status"], row["attempts"], row["note"]) == ("pending", 0, "渠道 wecom 未开启")


def test_slow_sends_keep_their_lease(store: Store) -> None:
    """While one dispatcher sends a long batch slowly, another recovering and claiming every
    time takes none of its rows, and every message goes out exactly once."""
    clock = [NOW]
    other: list[Any] = []

    def slow_and_watched(_address: str) -> None:
        clock[0] += dt.timedelta(minutes=2)  # each message takes two minutes
        store.outbox.recover(now=clock[0], lease=LEASE)
        other.extend(store.outbox.claim(now=clock[0], worker="other", limit=100))

    sink = Sink(on_send=slow_and_watched)
    d = dispatcher(store, clock, console=sink)
    subscribers(store, "console", *(f"c{i}" for i in range(8)))
    report = asyncio.run(d.tick())
    assert other == []
    assert report.lost_lease == 0
    assert sorted(addr for addr, _ in sink.sent) == [f"c{i}" for i in range(8)]
    assert {r["status"] for r in store.outbox.rows()} == {"sent"}


def test_recording_a_result_checks_who_holds_the_row(store: Store) -> None:
    """A dispatcher whose lease was taken over cannot mark the row sent: the new owner decides."""
    (sub,) = subscribers(store, "console", "a")
    (mine,) = store.outbox.claim(now=NOW, worker="first", limit=10)
    later = NOW + LEASE
    assert store.outbox.recover(now=later, lease=LEASE) == 1
    (theirs,) = store.outbox.claim(now=later, worker="second", limit=10)
    assert store.outbox.mark_sent([mine.id], now=later, late=False, worker="first") == []
    assert statuses(store)[sub][0] == "sending"
    assert store.outbox.mark_sent([theirs.id], now=later, late=False, worker="second") == [
        theirs.id
    ]
    assert statuses(store)[sub][0] == "sent"


def test_batches_fit_inside_a_lease() -> None:
    """A channel limited to one message a second is never handed more than a lease can carry."""
    d = Dispatcher(
        store=None,  # type: ignore[arg-type]
        channels={},
        render=render,
        rounds=dict,
        clock=lambda: NOW,
    )
    assert d._batch_for(Sink(rate_per_second=1.0)) == 100
    assert d._batch_for(Sink(rate_per_second=None)) == 500


class _ClockedLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock the test moves (the limiters read `loop.time()`)."""

    offset = 0.0

    def time(self) -> float:
        return super().time() + self.offset


def test_per_address_limiters_are_dropped_once_idle() -> None:
    """Sending once to 5,000 chats keeps at most ~1,024 limiters; an address sent to again at
    once still waits its turn, and a pruned address gets a fresh limiter that limits as before."""
    from schedulers.dispatch import PerAddress

    loop = _ClockedLoop()
    limits = PerAddress(lambda _: 1.0)

    async def scenario() -> None:
        for i in range(2000):
            async with limits(f"chat-{i}"):
                pass
        assert len(limits) == 2000  # all sent to within the second: none may be dropped
        loop.offset += 1.5  # every bucket has drained
        for i in range(2000, 5000):
            async with limits(f"chat-{i}"):
                pass
            if i % 500 == 0:
                loop.offset += 1.5
        assert len(limits) <= 2 * 1024 + 500
        busy = limits("chat-4999")
        assert not busy.has_capacity()  # sent to just now: its limiter was kept
        assert limits("chat-0").has_capacity()  # long idle: a fresh one

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()


def test_two_ticks_of_one_dispatcher_at_once_send_each_message_once(store: Store) -> None:
    """A tick asked for while another runs (the start-up backlog and the first interval tick,
    say) waits for it: the rows one claimed are never sent by the other as well."""
    clock = [NOW]
    sink = Sink()
    d = dispatcher(store, clock, console=sink)
    subscribers(store, "console", *(f"c{i}" for i in range(40)))

    async def both() -> list[TickReport]:
        return list(await asyncio.gather(d.tick(), d.tick(), d.tick()))

    reports = asyncio.run(both())
    assert sum(r.sent for r in reports) == 40
    assert sorted(a for a, _ in sink.sent) == sorted(f"c{i}" for i in range(40))


def test_an_opening_of_an_estimated_round_is_never_sent(store: Store) -> None:
    """A 申报开始 or countdown queued for a round whose dates are only estimated (planned before
    the round lost its notice, or by an older release) is dropped with the reason; its
    heads-up goes out."""
    sub = store.registry.subscriber("console", "a", display_name=None, now=NOW)
    store.outbox.enqueue(
        [Reminder(sub, "r", 1, kind, NOW) for kind in ("open", "close-7", "headsup")], now=NOW
    )
    sink = Sink()
    d = Dispatcher(
        store=store.outbox,
        channels={"console": sink},
        render=render,
        rounds=lambda: {"r": FarRound(basis="estimated")},
        clock=lambda: NOW,
    )
    report = asyncio.run(d.tick())
    assert (report.sent, report.dropped) == (1, 2)
    rows = {r["kind"]: (r["status"], r["note"]) for r in store.outbox.rows()}
    assert rows["headsup"][0] == "sent"
    assert rows["open"] == ("dropped", "批次日期为预计，通知尚未发布：不发申报开始或截止倒计时")
    assert rows["close-7"][0] == "dropped"
