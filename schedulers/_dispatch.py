"""The dispatcher: claims due outbox rows, renders, sends, records. One `tick` at a time.

APScheduler only calls `tick`; what is due is decided by the database. Several dispatchers
may run at once on PostgreSQL (claims use SKIP LOCKED). A crash leaves rows in `sending`;
`recover` returns them to `pending` after a lease, so at most the messages in flight at
the crash can go out twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiolimiter import AsyncLimiter

from schedulers._channels import OK, PERMANENT, RETRY_AFTER, Channel, SendResult
from schedulers._planner import local_date

log = logging.getLogger("huiqi.dispatch")

LATE_AFTER = dt.timedelta(hours=2)
LEASE = dt.timedelta(minutes=5)


class Item(Protocol):
    """A claimed outbox row."""

    id: int
    subscriber_id: int
    channel: str
    address: str
    round_key: str
    round_version: int
    kind: str
    due_at: dt.datetime
    attempts: int


class RoundLike(Protocol):
    """What the dispatcher needs to know of a round."""

    open: dt.date | None
    close: dt.date | None


class OutboxStore(Protocol):
    """The store operations the dispatcher uses."""

    def recover(self, *, now: dt.datetime, lease: dt.timedelta) -> int: ...
    def claim(self, *, now: dt.datetime, worker: str, limit: int) -> Sequence[Any]: ...
    def mark_sent(self, ids: Sequence[int], *, now: dt.datetime, late: bool) -> None: ...
    def mark_retry(
        self, ids: Sequence[int], *, now: dt.datetime, at: dt.datetime, detail: str
    ) -> None: ...
    def mark_failed(self, ids: Sequence[int], *, now: dt.datetime, detail: str) -> None: ...
    def mark_dropped(self, ids: Sequence[int], *, now: dt.datetime, detail: str) -> None: ...
    def deactivate(self, subscriber_id: int, reason: str) -> None: ...
    def fail_pending_of(self, subscriber_id: int, *, now: dt.datetime, detail: str) -> int: ...


Render = Callable[[Sequence[Any], Mapping[str, Any], bool, dt.datetime], str]


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
    deactivated: list[int] = field(default_factory=list)


@dataclass
class Dispatcher:
    """Sends what is due, through each subscriber's channel."""

    store: OutboxStore
    channels: Mapping[str, Channel]
    render: Render
    rounds: Callable[[], Mapping[str, Any]]  # current round by key
    clock: Callable[[], dt.datetime]
    worker: str = "dispatcher"
    batch: int = 500
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)
    _limiters: dict[str, AsyncLimiter] = field(default_factory=dict, init=False)

    def _limiter(self, channel: Channel) -> AsyncLimiter | None:
        if channel.rate_per_second is None:
            return None
        if channel.name not in self._limiters:
            # One message per 1/rate seconds, no bursts: a platform counting per second
            # never sees more than its limit in any window.
            self._limiters[channel.name] = AsyncLimiter(1, 1.0 / channel.rate_per_second)
        return self._limiters[channel.name]

    def recover(self) -> int:
        """Return rows of a crashed sender to pending (run at start-up and every tick)."""
        found = self.store.recover(now=self.clock(), lease=LEASE)
        if found:
            log.warning("recovered %d reminders left in sending by a stopped dispatcher", found)
        return found

    async def tick(self) -> TickReport:
        """Claim everything due now, send it (digests per subscriber and moment), record it."""
        report = TickReport()
        self.recover()
        while True:
            now = self.clock()
            claimed = list(self.store.claim(now=now, worker=self.worker, limit=self.batch))
            if not claimed:
                return report
            report.claimed += len(claimed)
            await self._send_all(claimed, report)

    async def _send_all(self, claimed: list[Any], report: TickReport) -> None:
        rounds = self.rounds()
        groups: dict[tuple[int, dt.datetime], list[Any]] = {}
        for item in claimed:
            groups.setdefault((item.subscriber_id, item.due_at), []).append(item)
        for (subscriber_id, _), items in groups.items():
            if subscriber_id in report.deactivated:
                self.store.mark_failed(
                    [i.id for i in items], now=self.clock(), detail="订阅者已停用"
                )
                report.failed += len(items)
                continue
            await self._send_group(items, rounds, report)

    async def _send_group(
        self, items: list[Any], rounds: Mapping[str, Any], report: TickReport
    ) -> None:
        now = self.clock()
        today = local_date(now)
        live = []
        for item in items:
            rnd = rounds.get(item.round_key)
            closed = (
                rnd is not None
                and (rnd.close or rnd.open) is not None
                and (rnd.close or rnd.open) < today
            )
            if rnd is None or closed:
                if rnd is None:
                    reason = "轮次已不存在"
                else:
                    ended = (rnd.close or rnd.open).isoformat()
                    reason = f"轮次已于{ended}截止，停机期间未能按时发出，不再补发"
                self.store.mark_dropped([item.id], now=now, detail=reason)
                log.info("dropped reminder %d (%s): %s", item.id, item.round_key, reason)
                report.dropped += 1
            else:
                live.append(item)
        if not live:
            return
        first = live[0]
        channel = self.channels.get(first.channel)
        ids = [i.id for i in live]
        if channel is None:
            self.store.mark_retry(
                ids, now=now, at=now + dt.timedelta(hours=1), detail=f"渠道 {first.channel} 未开启"
            )
            report.retried += len(ids)
            return
        late = now - min(i.due_at for i in live) > LATE_AFTER
        text = self.render(live, rounds, late, now)
        limiter = self._limiter(channel)
        try:
            if limiter is not None:
                async with limiter:
                    result = await channel.send(first.address, text)
            else:
                result = await channel.send(first.address, text)
        except (TimeoutError, OSError) as exc:
            result = SendResult("transient", detail=f"{type(exc).__name__}: {exc}")
        self._record(live, result, late, report)

    def _record(self, items: list[Any], result: SendResult, late: bool, report: TickReport) -> None:
        now = self.clock()
        ids = [i.id for i in items]
        if result.status == OK:
            self.store.mark_sent(ids, now=now, late=late)
            report.sent += len(ids)
            report.messages += 1
            report.late += len(ids) if late else 0
            return
        if result.status == PERMANENT:
            subscriber_id = items[0].subscriber_id
            detail = result.detail or "永久失败"
            self.store.mark_failed(ids, now=now, detail=detail)
            self.store.deactivate(subscriber_id, detail)
            self.store.fail_pending_of(subscriber_id, now=now, detail=f"订阅者已停用：{detail}")
            report.failed += len(ids)
            report.deactivated.append(subscriber_id)
            log.warning("subscriber %d deactivated: %s", subscriber_id, detail)
            return
        attempts = max(i.attempts for i in items) + 1
        if attempts >= self.max_attempts:
            self.store.mark_failed(ids, now=now, detail=f"{attempts}次尝试后放弃：{result.detail}")
            report.failed += len(ids)
            return
        if result.status == RETRY_AFTER and result.retry_after is not None:
            delay = result.retry_after
        else:
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))
            delay *= 0.5 + self.rng.random()  # jitter, so retries do not arrive together
        self.store.mark_retry(
            ids,
            now=now,
            at=now + dt.timedelta(seconds=delay),
            detail=result.detail or result.status,
        )
        report.retried += len(ids)
