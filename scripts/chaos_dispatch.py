"""Kill dispatchers at random moments while they send; count delivered, duplicated, lost.

Usage:
  python scripts/chaos_dispatch.py [--reminders 3000] [--kills 20] [--dispatchers 3]
      [--postgres URL] [--sqlite-only] [--seed S]

For each database (a fresh SQLite file, and PostgreSQL when --postgres or
HUIQI_TEST_POSTGRES_URL names one: its public schema is dropped and made anew) it runs twice:
once with no kill (the control: nothing may be sent twice) and once killing a random
dispatcher process with SIGKILL `--kills` times at random moments, a supervisor starting a
new one each time. The dispatchers are real `Dispatcher`s in their own processes, on the real
store, sending through a slow sink (a few milliseconds per message, one message in 50 taking
0.8 s) that appends each message's outbox ids to its own file, fsync'ed, before it answers.
The lease is shortened to 3 s so that a killed dispatcher's rows come back within the run,
and so that batches outlast a lease unless it is renewed.

Reported per run: reminders, delivered (ids the sink received at least once), duplicated
(extra receipts), lost (ids never received, or marked sent without a receipt), the outbox
counts, kills, and wall and CPU time (this process and its children). The verdict holds
when lost is 0, duplicates are at most one per kill, and the control run has none.
Exits 1 when a verdict fails.

`--no-renew` is the script's self-check: dispatchers that skip renewing their leases must
send rows twice even without a kill (the defect the renewal fixes), so the runs must fail.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from schedulers import SENT_OK, Capabilities, Reminder, SendResult
from schedulers.dispatch import Dispatcher
from subscriptions._tables import OutboxRow
from subscriptions.store import Store, make_engine

ROOT = Path(__file__).resolve().parent.parent

LEASE_SECONDS = 3.0
BATCH = 100  # rows claimed at a time: ~2.8 s of sending on average, often more than a lease
FAST, SLOW, SLOW_SHARE = 0.004, 0.8, 0.03  # seconds per message; share of slow messages


@dataclass(frozen=True)
class FarRound:
    """A round open for the whole run."""

    open: dt.date = dt.date(2000, 1, 1)
    close: dt.date = dt.date(2999, 12, 31)
    basis: str = "confirmed"


class SlowSink:
    """A platform that takes its time, then keeps each message durably before answering."""

    name = "console"
    rate_per_second: float | None = None
    capabilities = Capabilities()

    def __init__(self, path: Path, rng: random.Random) -> None:
        self.fh = path.open("a", encoding="utf-8")
        self.rng = rng

    async def send(self, address: str, text: str) -> SendResult:
        await asyncio.sleep(SLOW if self.rng.random() < SLOW_SHARE else FAST)
        self.fh.write(text + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())  # received: a kill from here on repeats this message
        return SENT_OK


def child(url: str, out: Path, seed: int, renew: bool) -> None:
    """One dispatcher process: tick until killed or told to stop."""
    import schedulers.dispatch as dispatch

    dispatch.LEASE = dt.timedelta(seconds=LEASE_SECONDS)
    store = Store.open(url)
    if not renew:  # the self-check: a dispatcher that believes it renewed but did not

        def pretend(ids: Any, **_: Any) -> list[int]:
            return list(ids)

        store.outbox.renew = pretend  # type: ignore[method-assign]

    def render(items: Any, rounds: Any, late: bool, at: dt.datetime, caps: Capabilities) -> str:
        return ",".join(str(i.id) for i in items)

    dispatcher = Dispatcher(
        store=store.outbox,
        channels={"console": SlowSink(out, random.Random(seed))},  # noqa: S311 - not a secret
        render=render,
        rounds=lambda: {"r": FarRound()},
        clock=lambda: dt.datetime.now(dt.UTC),
        worker=f"chaos-{os.getpid()}",
        batch=BATCH,
    )

    async def forever() -> None:
        while True:
            report = await dispatcher.tick()
            if not report.claimed:
                await asyncio.sleep(0.1)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(forever())


@dataclass
class Outcome:
    """What one run measured."""

    name: str
    reminders: int
    kills: int
    delivered: int
    duplicated: int
    lost: int
    counts: dict[str, int]
    wall: float
    cpu: float

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated <= self.kills
            and self.counts == {"sent": self.reminders}
        )


def fresh(url: str | None, tmp: Path, name: str) -> str:
    """A new, empty database for one run."""
    if url is None:
        return f"sqlite:///{tmp / (name + '.db')}"
    from sqlalchemy import text

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(
    name: str,
    url: str,
    tmp: Path,
    *,
    reminders: int,
    kills: int,
    dispatchers: int,
    seed: int,
    renew: bool = True,
) -> Outcome:
    """Enqueue, start the dispatchers, kill and restart them, wait for the outbox to empty."""
    rng = random.Random(seed)  # noqa: S311 - chaos timing, not a secret
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    store = Store.open(url)
    now = dt.datetime.now(dt.UTC)
    subscribers = [
        store.registry.subscriber("console", f"s{i:05d}", display_name=None, now=now)
        for i in range(reminders)
    ]
    store.outbox.enqueue([Reminder(s, "r", 1, "close-7", now) for s in subscribers], now=now)
    sinks = tmp / f"{name}-sinks"
    sinks.mkdir()
    started = 0

    def spawn() -> subprocess.Popen[bytes]:
        nonlocal started
        started += 1
        args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            url,
            str(sinks / f"{started}.txt"),
            str(seed * 1000 + started),
            "renew" if renew else "no-renew",
        ]
        return subprocess.Popen(args, cwd=ROOT)  # noqa: S603 - this script, its own arguments

    procs = [spawn() for _ in range(dispatchers)]
    done_kills = 0
    deadline = time.monotonic() + 1800
    try:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 2.0) if done_kills < kills else 0.5)
            counts = store.outbox.counts()
            if counts.get("sent", 0) >= reminders or set(counts) - {"pending", "sending", "sent"}:
                break
            if done_kills < kills and counts.get("sent", 0) < reminders:
                victim = rng.randrange(len(procs))
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                done_kills += 1
                procs[victim] = spawn()  # the supervisor starts a new one
            for i, proc in enumerate(procs):
                if proc.poll() is not None:  # died on its own: that is a finding, say so
                    print(f"  dispatcher {proc.pid} exited with {proc.returncode}; restarted")
                    procs[i] = spawn()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    counts = store.outbox.counts()
    received: Counter[int] = Counter()
    for sink in sinks.iterdir():
        for line in sink.read_text(encoding="utf-8").split():
            received.update(int(i) for i in line.split(","))
    with store.session() as s:
        ids = set(s.scalars(select(OutboxRow.id)))
        sent = set(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "sent")))
    lost = len(ids - set(received)) + len(sent - set(received))
    store.close()
    return Outcome(
        name,
        reminders,
        done_kills,
        delivered=len(set(received) & ids),
        duplicated=sum(n - 1 for n in received.values()),
        lost=lost,
        counts=counts,
        wall=time.perf_counter() - wall0,
        cpu=cpu_seconds() - cpu0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reminders", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--dispatchers", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("HUIQI_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-renew",
        action="store_true",
        help="self-check: dispatchers skip lease renewal; the no-kill runs must then FAIL",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, out, seed, renew = args.child
        child(url, Path(out), int(seed), renew == "renew")
        return 0
    databases: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.postgres and not args.sqlite_only:
        databases.append(("postgresql", args.postgres))
    else:
        print("PostgreSQL: not run (give --postgres URL or set HUIQI_TEST_POSTGRES_URL)")
    outcomes = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for db, url in databases:
            for kills in sorted({0, args.kills}):
                name = f"{db}-{kills}-kills"
                print(f"{name}: {args.reminders} reminders, {args.dispatchers} dispatchers …")
                outcome = run(
                    name,
                    fresh(url, tmp, name),
                    tmp,
                    reminders=args.reminders,
                    kills=kills,
                    dispatchers=args.dispatchers,
                    seed=args.seed,
                    renew=not args.no_renew,
                )
                outcomes.append(outcome)
                print(
                    f"  delivered {outcome.delivered}, duplicated {outcome.duplicated}, "
                    f"lost {outcome.lost}, kills {outcome.kills}, outbox {outcome.counts}, "
                    f"wall {outcome.wall:.1f} s, CPU {outcome.cpu:.1f} s: "
                    + ("ok" if outcome.ok and (kills or not outcome.duplicated) else "FAILED")
                )
    failed = [o for o in outcomes if not o.ok or (o.kills == 0 and o.duplicated)]
    print(
        f"\n{len(outcomes) - len(failed)} of {len(outcomes)} runs hold "
        "(0 lost; duplicates at most one per kill; none without a kill)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
