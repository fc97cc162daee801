"""The dispatcher: claims due outbox rows, renders, sends, records. One `tick` at a time.

APScheduler only calls `tick`; what is due is decided by the database. Several dispatchers
may run at once on PostgreSQL (claims use SKIP LOCKED). A crash leaves rows in `sending`;
`recover` returns them to `pending` after a lease, so at most the messages in flight at
the crash can go out twice. A dispatcher renews the lease of the rows it is still sending
and records a result only for rows it still holds, so a slow channel never lets a second
dispatcher take over rows that are being sent.

Each channel is drained by its own task: a channel that hangs or fails stalls only itself.
Every answer and every exception of a channel ends as one result for the rows of that
message: sent, retried (with a cap on attempts, then `dead`), `failed` with the subscriber
deactivated, moved to the chat's new address, or `uncertain` (never resent blindly).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from aiolimiter import AsyncLimiter

from schedulers._channels import (
    ANSWERS,
    MIGRATE,
    OK,
    PERMANENT,
    REJECTED,
    RETRY_AFTER,
    SENT_OK,
    TRANSIENT,
    UNCERTAIN,
    Action,
    ActionChannel,
    CalendarChannel,
    Capabilities,
    Channel,
    SendResult,
    part_failed,
)
from schedulers._outbox import Claimed, RowStatus
from schedulers._planner import ANNOUNCED, ANNOUNCEMENT, Kind, local_date

if TYPE_CHECKING:  # the store is an edge of its own; only its type is named here
    from subscriptions.store import Outbox

log = logging.getLogger("huiqi.dispatch")

LATE_AFTER = dt.timedelta(hours=2)
LEASE = dt.timedelta(minutes=5)


@dataclass
class ConsoleChannel:
    """Prints messages: the channel that is always on (and the demo's)."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    name: str = "console"
    rate_per_second: float | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)

    async def send(self, address: str, text: str) -> SendResult:
        print(f"── 发给 {address} ──\n{text}\n", file=self.out, flush=True)
        return SENT_OK


@dataclass
class PerAddress:
    """One limiter per address (a chat, a member, a robot), made on first use.

    A limiter whose bucket has drained limits no more than a new one would, so such limiters
    are dropped once the map holds `prune_at` of them: it keeps only addresses sent to lately.
    """

    period: Callable[[str], float]  # seconds per message to this address
    prune_at: int = 1024
    _limits: dict[str, AsyncLimiter] = field(default_factory=dict, repr=False)

    def __call__(self, address: str) -> AsyncLimiter:
        found = self._limits.get(address)
        if found is None:
            if len(self._limits) >= self.prune_at:
                self.prune()
                self.prune_at = max(self.prune_at, 2 * len(self._limits))
            found = self._limits[address] = AsyncLimiter(1, self.period(address))
        return found

    def __len__(self) -> int:
        return len(self._limits)

    def prune(self) -> int:
        """Drop the limiters of addresses that could be sent to at once; return how many."""
        idle = [a for a, lim in self._limits.items() if lim.has_capacity() and not lim._waiters]
        for address in idle:
            del self._limits[address]
        return len(idle)


ANSWERABLE = (Kind.OPEN, Kind.CLOSE, Kind.HEADSUP, Kind.SNOOZED)


def _answers_to(items: Sequence[Claimed]) -> tuple[Action, ...]:
    """The answers a message about one round offers (已申报, 不感兴趣, 稍后提醒); a digest of
    several rounds, an announcement or a notice offers none (its text says how to answer)."""
    kinds = {Kind.of(i.kind) for i in items}
    if len({i.round_key for i in items}) != 1 or not kinds <= set(ANSWERABLE):
        return ()
    heads_up = kinds == {Kind.HEADSUP}
    codes = ("not_interested",) if heads_up else ANSWERS  # nothing to apply to before a notice
    return tuple(Action(code, f"ans:{code}:{items[0].id}") for code in codes)


# The text of one message for a channel: the rows due together, the current rounds, whether
# it is late, the time, and what the channel's messages carry.
Render = Callable[[Sequence[Any], Mapping[str, Any], bool, dt.datetime, Capabilities], str]


@dataclass
class TickReport:
    """What one tick did."""

    claimed: int = 0
    sent: int = 0
    messages: int = 0
    late: int = 0
    dropped: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    uncertain: int = 0
    moved: int = 0
    lost_lease: int = 0
    deactivated: list[int] = field(default_factory=list)


@dataclass
class ChannelHealth:
    """How a channel's last sends went, for /healthz and the log."""

    state: str = "idle"  # idle (nothing sent yet) | ok | failing | down
    detail: str = ""
    failures: int = 0  # consecutive failed sends
    last_ok_at: dt.datetime | None = None
    changed_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The health as JSON-ready values."""
        return {
            "state": self.state,
            "detail": self.detail,
            "failures": self.failures,
            "last_ok_at": self.last_ok_at.isoformat() if self.last_ok_at else None,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
        }


class Acquirer(Protocol):
    """What limits a channel's sends: aiolimiter's AsyncLimiter, or a limiter shared by
    every process through the store."""

    async def acquire(self) -> None: ...


@dataclass
class Dispatcher:
    """Sends what is due, through each subscriber's channel."""

    store: Outbox  # the store's outbox repository
    channels: dict[str, Channel]  # a channel that starts late (Telegram) joins here
    render: Render
    rounds: Callable[[], Mapping[str, Any]]  # current round by key
    clock: Callable[[], dt.datetime]
    worker: str = "dispatcher"
    # The rounds of a message as an iCalendar (keys, today), for channels that attach one.
    calendar: Callable[[Sequence[str], dt.date], bytes | None] | None = None
    batch: int = 500
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    send_timeout: float = 60.0  # a send that has not returned by then is given up as uncertain
    down_for: dt.timedelta = dt.timedelta(minutes=5)  # a channel that is down is tried again
    rng: random.Random = field(default_factory=random.Random)
    health: dict[str, ChannelHealth] = field(default_factory=dict, init=False)
    waiting: set[str] = field(default_factory=set)  # configured, not started yet: rows wait
    # A limiter per channel shared with other processes (by name and rate), when the store is
    # shared (PostgreSQL); else each channel's limit is kept in this process.
    shared_rate: Callable[[str, float], Acquirer] | None = None
    _limiters: dict[str, Acquirer] = field(default_factory=dict, init=False)
    # One tick at a time: rows are claimed under this dispatcher's worker name, so two ticks
    # of one dispatcher side by side could each take the other's claim for their own.
    _ticking: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __repr__(self) -> str:
        return f"Dispatcher(worker={self.worker!r}, channels={sorted(self.channels)!r})"

    def _limiter(self, channel: Channel) -> Acquirer | None:
        if channel.rate_per_second is None:
            return None
        if channel.name not in self._limiters:
            # One message per 1/rate seconds, no bursts: a platform counting per second
            # never sees more than its limit in any window.
            if self.shared_rate is not None:
                found = self.shared_rate(channel.name, channel.rate_per_second)
            else:
                found = AsyncLimiter(1, 1.0 / channel.rate_per_second)
            self._limiters[channel.name] = found
        return self._limiters[channel.name]

    def _batch_for(self, channel: Channel) -> int:
        """As many rows as the channel can send well inside one lease."""
        if channel.rate_per_second is None:
            return self.batch
        fits = int(channel.rate_per_second * LEASE.total_seconds() / 3)
        return max(1, min(self.batch, fits))

    async def _settle(
        self, status: RowStatus, ids: Sequence[int], now: dt.datetime, detail: str, worker: str
    ) -> None:
        """End rows in `status` (the ones this dispatcher still holds), in a worker thread."""
        await self._db(self.store.settle, status, ids, now=now, detail=detail, worker=worker)

    async def _db(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store call, in a worker thread: a slow database stalls no channel or web request."""
        return await asyncio.to_thread(functools.partial(call, *args, **kwargs))

    def recover(self) -> int:
        """Return rows of a crashed sender to pending (run at start-up and every tick)."""
        found = self.store.recover(now=self.clock(), lease=LEASE)
        if found:
            log.warning("recovered %d reminders left in sending by a stopped dispatcher", found)
        return found

    async def tick(self) -> TickReport:
        """Claim everything due now, send it (digests per subscriber and moment), record it.

        Each channel is drained concurrently, so a slow or hung one delays only its own
        subscribers. A tick asked for while one runs waits for it to end."""
        async with self._ticking:
            report = TickReport()
            await asyncio.to_thread(self.recover)
            await asyncio.gather(
                *(self._drain(name, channel, report) for name, channel in self.channels.items())
            )
            await self._park_unknown(report)
            return report

    def _health(self, name: str) -> ChannelHealth:
        return self.health.setdefault(name, ChannelHealth())

    async def _park_unknown(self, report: TickReport) -> None:
        """Rows of channels this process does not run wait an hour, spending no attempt."""
        while True:
            now = self.clock()
            claimed = list(
                await self._db(
                    self.store.claim,
                    now=now,
                    worker=self.worker,
                    limit=self.batch,
                    other_than=[*self.channels, *self.waiting],
                )
            )
            if not claimed:
                return
            report.claimed += len(claimed)
            for item in claimed:
                await self._db(
                    self.store.mark_retry,
                    [item.id],
                    now=now,
                    at=now + dt.timedelta(hours=1),
                    detail=f"渠道 {item.channel} 未开启",
                    worker=self.worker,
                    count=False,
                )
            report.retried += len(claimed)

    async def _drain(self, name: str, channel: Channel, report: TickReport) -> None:
        limit = self._batch_for(channel)
        while True:
            claimed = list(
                await self._db(
                    self.store.claim,
                    now=self.clock(),
                    worker=self.worker,
                    limit=limit,
                    channels=[name],
                )
            )
            if not claimed:
                return
            report.claimed += len(claimed)
            if not await self._send_batch(channel, claimed, report):
                return  # the channel is down: its rows wait for a later tick

    async def _send_batch(
        self, channel: Channel, claimed: list[Claimed], report: TickReport
    ) -> bool:
        """Send one claimed batch; False when the channel went down (the rest is released)."""
        rounds = await asyncio.to_thread(self.rounds)  # reads the store
        groups: dict[tuple[int, dt.datetime, bool], list[Claimed]] = {}
        for item in claimed:
            # An announcement is a message of its own, never part of a reminder digest.
            key = (item.subscriber_id, item.due_at, item.kind == ANNOUNCEMENT)
            groups.setdefault(key, []).append(item)
        pending = list(groups.values())
        renewed_at = self.clock()
        while pending:
            items = pending.pop(0)
            now = self.clock()
            if now - renewed_at >= LEASE / 3:
                held = set(
                    await self._db(
                        self.store.renew,
                        [i.id for g in [items, *pending] for i in g],
                        now=now,
                        worker=self.worker,
                    )
                )
                renewed_at = now
                lost = sum(1 for g in [items, *pending] for i in g if i.id not in held)
                if lost:
                    report.lost_lease += lost
                    log.warning("%d claimed reminders were taken over by another dispatcher", lost)
                pending = [[i for i in g if i.id in held] for g in pending]
                pending = [g for g in pending if g]
                items = [i for i in items if i.id in held]
                if not items:
                    continue
            subscriber_id = items[0].subscriber_id
            if subscriber_id in report.deactivated:
                await self._settle(
                    RowStatus.FAILED, [i.id for i in items], now, "订阅者已停用", self.worker
                )
                report.failed += len(items)
                continue
            if not await self._send_group(channel, items, rounds, report):
                rest = [i.id for g in pending for i in g]
                again = now + self.down_for
                await self._db(
                    self.store.mark_retry,
                    rest,
                    now=now,
                    at=again,
                    detail=f"渠道 {channel.name} 暂不可用",
                    worker=self.worker,
                    count=False,
                )
                report.retried += len(rest)
                return False
        return True

    async def _send_group(
        self, channel: Channel, items: list[Claimed], rounds: Mapping[str, Any], report: TickReport
    ) -> bool:
        """Send one subscriber's digest; False when the channel is down."""
        now = self.clock()
        today = local_date(now)
        live = []
        for item in items:
            if item.kind == ANNOUNCEMENT:
                live.append(item)
                continue
            rnd = rounds.get(item.round_key)
            closed = (
                rnd is not None
                and (rnd.close or rnd.open) is not None
                and (rnd.close or rnd.open) < today
            )
            # An opening or a countdown of a round nobody announced (its dates are estimated,
            # or it was planned before the round lost its notice) is not true: never sent.
            unannounced = (
                rnd is not None
                and Kind.of(item.kind) in (Kind.OPEN, Kind.CLOSE)
                and rnd.basis not in ANNOUNCED
            )
            if rnd is None or closed or unannounced:
                if rnd is None:
                    reason = "轮次已不存在"
                elif unannounced:
                    reason = "批次日期为预计，通知尚未发布：不发申报开始或截止倒计时"
                else:
                    ended = (rnd.close or rnd.open).isoformat()
                    reason = f"轮次已于{ended}截止，停机期间未能按时发出，不再补发"
                await self._settle(RowStatus.DROPPED, [item.id], now, reason, self.worker)
                log.info("dropped reminder %d (%s): %s", item.id, item.round_key, reason)
                report.dropped += 1
            else:
                live.append(item)
        if not live:
            return True
        late = now - min(i.due_at for i in live) > LATE_AFTER
        caps = channel.capabilities
        try:
            text = await asyncio.to_thread(self.render, live, rounds, late, now, caps)
        except Exception as exc:  # a rendering bug: retry (a fixed release sends it), log it
            log.exception("rendering reminders %s failed", [i.id for i in live])
            result = SendResult(TRANSIENT, detail=f"渲染失败：{type(exc).__name__}")
        else:
            attached = await self._calendar_for(channel, live, today)
            if attached is not None:
                result = await self._send(channel, live[0].address, text, calendar=attached)
            else:
                actions = _answers_to(live) if caps.buttons else ()
                parts = caps.split(text)
                result = await self._send_parts(channel, live[0].address, parts, actions)
        return await self._record(channel, live, result, late, report)

    async def _calendar_for(
        self, channel: Channel, items: Sequence[Claimed], today: dt.date
    ) -> bytes | None:
        """The message's rounds as an iCalendar, for a channel that attaches one."""
        keys = [i.round_key for i in items if i.kind != ANNOUNCEMENT]
        if self.calendar is None or not keys or not isinstance(channel, CalendarChannel):
            return None
        try:
            return await asyncio.to_thread(self.calendar, keys, today)
        except Exception:  # a calendar bug costs the attachment, not the message
            log.exception("calendar of reminders %s failed", [i.id for i in items])
            return None

    async def _send_parts(
        self, channel: Channel, address: str, parts: list[str], actions: Sequence[Action] = ()
    ) -> SendResult:
        """A message in the parts its channel carries, in order, the actions under the last;
        the first failure ends it (uncertain when parts already went out: sending again
        would repeat them)."""
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            result = await self._send(channel, address, part, actions if last else ())
            if result.status != OK:
                return part_failed(number, result)
        return SENT_OK

    async def _send(
        self,
        channel: Channel,
        address: str,
        text: str,
        actions: Sequence[Action] = (),
        calendar: bytes | None = None,
    ) -> SendResult:
        """One send, whatever the channel does: an answer, an exception or no answer."""
        limiter = self._limiter(channel)
        deadline = asyncio.timeout(None)
        try:
            if limiter is not None:
                await limiter.acquire()
            async with deadline:
                deadline.reschedule(asyncio.get_running_loop().time() + self.send_timeout)
                if calendar is not None and isinstance(channel, CalendarChannel):
                    return await channel.send_calendar(address, text, calendar)
                if actions and isinstance(channel, ActionChannel):
                    return await channel.send_actions(address, text, actions)
                return await channel.send(address, text)
        except TimeoutError as exc:
            if deadline.expired():
                # The request may have reached the platform: sending again could say it twice.
                return SendResult(
                    UNCERTAIN, detail=f"{self.send_timeout:g} 秒内无应答", channel_down=True
                )
            return SendResult(TRANSIENT, detail=type(exc).__name__)  # the channel's own timeout
        except OSError as exc:
            return SendResult(TRANSIENT, detail=type(exc).__name__)
        except Exception as exc:  # a channel's bug must cost this message, never the tick
            log.exception("channel %s raised while sending", channel.name)
            return SendResult(TRANSIENT, detail=f"意外错误：{type(exc).__name__}")

    def _note(self, channel: Channel, result: SendResult, now: dt.datetime) -> None:
        health = self._health(channel.name)
        if result.status == OK:
            state, health.failures, health.last_ok_at, detail = "ok", 0, now, ""
        elif result.channel_down:
            state, detail = "down", result.detail
            health.failures += 1
        elif result.status in (TRANSIENT, UNCERTAIN):
            state, detail = "failing", result.detail
            health.failures += 1
        else:  # a verdict on one message or subscriber: the channel itself works
            state, health.failures, detail = "ok", 0, health.detail
        if state != health.state:
            health.changed_at = now
            if state in ("down", "failing"):
                log.warning("channel %s is %s: %s", channel.name, state, result.detail)
            elif health.state in ("down", "failing"):
                log.info("channel %s works again", channel.name)
        health.state, health.detail = state, detail

    async def _record(
        self,
        channel: Channel,
        items: list[Claimed],
        result: SendResult,
        late: bool,
        report: TickReport,
    ) -> bool:
        """Record one message's result on its rows; False when the channel is down."""
        now = self.clock()
        self._note(channel, result, now)
        ids = [i.id for i in items]
        worker = self.worker
        subscriber_id = items[0].subscriber_id
        if result.status == OK:
            done = await self._db(self.store.mark_sent, ids, now=now, late=late, worker=worker)
            if len(done) < len(ids):
                report.lost_lease += len(ids) - len(done)
                log.warning("reminders %s were sent after their lease ran out", ids)
            report.sent += len(ids)
            report.messages += 1
            report.late += len(ids) if late else 0
            return True
        if result.status == UNCERTAIN:
            detail = f"不确定是否送达（不重发）：{result.detail}"
            await self._settle(RowStatus.UNCERTAIN, ids, now, detail, worker)
            report.uncertain += len(ids)
            log.warning("reminders %s may or may not have arrived: %s", ids, result.detail)
            return not result.channel_down
        if result.channel_down:
            wait = result.retry_after or self.down_for.total_seconds()
            await self._db(
                self.store.mark_retry,
                ids,
                now=now,
                at=now + dt.timedelta(seconds=wait),
                detail=result.detail,
                worker=worker,
                count=False,
            )
            report.retried += len(ids)
            return False
        if result.status == MIGRATE and result.new_address:
            moved_to = await self._db(self.store.move_subscriber, subscriber_id, result.new_address)
            detail = f"会话已迁移，改发到新的会话：{result.detail}"
            if moved_to == subscriber_id:
                await self._db(
                    self.store.mark_retry,
                    ids,
                    now=now,
                    at=now,
                    detail=detail,
                    worker=worker,
                    count=False,
                )
                report.moved += len(ids)
            else:  # the new chat is subscribed already and gets its own reminders
                await self._settle(RowStatus.FAILED, ids, now, detail, worker)
                await self._db(self.store.fail_pending_of, subscriber_id, now=now, detail=detail)
                report.failed += len(ids)
            log.info("subscriber %d moved to a new chat", subscriber_id)
            return True
        if result.status == PERMANENT:
            detail = result.detail or "永久失败"
            await self._settle(RowStatus.FAILED, ids, now, detail, worker)
            await self._db(self.store.deactivate, subscriber_id, detail)
            await self._db(
                self.store.fail_pending_of, subscriber_id, now=now, detail=f"订阅者已停用：{detail}"
            )
            report.failed += len(ids)
            report.deactivated.append(subscriber_id)
            log.warning("subscriber %d deactivated: %s", subscriber_id, detail)
            return True
        if result.status == REJECTED:
            detail = f"平台拒收：{result.detail}"
            await self._settle(RowStatus.DEAD, ids, now, detail, worker)
            report.dead += len(ids)
            log.warning("reminders %s refused by %s: %s", ids, channel.name, result.detail)
            return True
        attempts = max(i.attempts for i in items) + 1
        if attempts >= self.max_attempts:
            detail = f"{attempts}次尝试后放弃：{result.detail}"
            await self._settle(RowStatus.DEAD, ids, now, detail, worker)
            report.dead += len(ids)
            log.warning("reminders %s dead: %s", ids, detail)
            return True
        if result.status == RETRY_AFTER and result.retry_after is not None:
            delay = result.retry_after
        else:
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))
            delay *= 0.5 + self.rng.random()  # jitter, so retries do not arrive together
        await self._db(
            self.store.mark_retry,
            ids,
            now=now,
            at=now + dt.timedelta(seconds=delay),
            detail=result.detail or result.status,
            worker=worker,
        )
        report.retried += len(ids)
        return True
