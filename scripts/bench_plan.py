"""Benchmark: plan reminders for N subscribed enterprises over the next 365 days.

Usage: python scripts/bench_plan.py [--enterprises N] [--url DATABASE_URL] [--enqueue]

Reports, on the same database: the time to read the N subscription rows, the time to plan
(read them, build the audiences from the cached matches, plan 365 days), their ratio (the
target is at most 3), the peak memory, and, apart, the one-off matching that fills the cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, text

from bot._service import (
    MATCHES_MAX_AGE,
    World,
    audiences,
    refresh_matches,
    replan,
    round_infos,
    sync_rounds,
)
from schedulers import is_workday, plan
from schedulers.data import load_catalog
from subscriptions._tables import EnterpriseRow, OutboxRow, SubscriberRow, SubscriptionRow
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store

NOW = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)


def profiles(world: World, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` varied raw profiles (the profile JSON), reproducible by seed."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    divisions = list(world.vocab.industries.divisions.values())
    quals = [q.name for q in world.vocab.qualifications]
    districts = [d.name for d in world.vocab.districts]
    out = []
    for i in range(count):
        employees = int(rng.lognormvariate(3.5, 1.5))
        out.append(
            {
                "name": f"企业{i:06d}",
                "industry": rng.choice(divisions).full_code,
                "district": rng.choice(districts),
                "employees": employees,
                "revenue_wan": round(employees * rng.uniform(5, 200), 1),
                "above_scale": rng.random() < 0.3,
                "general_taxpayer": rng.random() < 0.6,
                "qualifications": rng.sample(quals, rng.randint(0, 3)),
            }
        )
    return out


def fill(store: Store, raws: list[dict[str, Any]]) -> None:
    """Insert enterprises, one console subscriber each, and their subscriptions, in bulk."""
    with store.session() as s:
        s.execute(
            insert(EnterpriseRow),
            [
                {"id": i + 1, "name": r["name"], "profile": r, "created_at": NOW, "updated_at": NOW}
                for i, r in enumerate(raws)
            ],
        )
        s.execute(
            insert(SubscriberRow),
            [
                {
                    "id": i + 1,
                    "channel": "console",
                    "address": f"c{i}",
                    "active": True,
                    "created_at": NOW,
                }
                for i in range(len(raws))
            ],
        )
        s.execute(
            insert(SubscriptionRow),
            [
                {
                    "subscriber_id": i + 1,
                    "enterprise_id": i + 1,
                    "offsets": [14, 7, 3, 1],
                    "notify_open": True,
                    "send_time": "09:30",
                    "muted_policies": [],
                    "muted_categories": [],
                    "created_at": NOW,
                }
                for i in range(len(raws))
            ],
        )

    if store.engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
        with store.session() as s:
            for table in ("enterprises", "subscribers", "subscriptions"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--enqueue", action="store_true", help="also store the planned reminders")
    args = parser.parse_args(argv[1:])
    world = World(load_catalog(), load_vocab(), load_size_standard())
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        t = time.perf_counter()
        fill(store, profiles(world, args.enterprises, 20261122))
        print(f"enterprises: {args.enterprises:,}, filled in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        refresh_matches(store, world, on=NOW.date())
        print(f"matching (fills the cache once, renewed weekly): {time.perf_counter() - t:.1f} s")
        sync_rounds(store, world.catalog, now=NOW)
        rounds = round_infos(store, world.catalog)

        t = time.perf_counter()
        rows = store.registry.subscriptions()
        read = time.perf_counter() - t
        del rows
        before = peak_mib()
        t = time.perf_counter()
        found = audiences(store, world, on=NOW.date())
        planned = plan(
            found, rounds, now=NOW, until=NOW + dt.timedelta(days=365), is_workday=is_workday
        )
        planning = time.perf_counter() - t
        print(f"read {args.enterprises:,} subscriptions: {read:.2f} s")
        ratio = planning / read
        print(
            f"plan 365 days: {planning:.2f} s, {len(planned):,} reminders ({ratio:.2f} x the read)"
        )
        print(f"peak memory: {peak_mib():.0f} MiB (before planning {before:.0f} MiB)")
        if args.enqueue:
            wall, cpu = time.perf_counter(), time.process_time()
            stored = store.outbox.enqueue(planned, now=NOW)
            took, took_cpu = time.perf_counter() - wall, time.process_time() - cpu
            # The reference, in the same run: the same rows by a plain Core executemany.
            copies: list[dict[str, Any]] = [
                {
                    "subscriber_id": r.subscriber_id,
                    "round_key": r.round_key,
                    "round_version": r.round_version,
                    "kind": r.kind,
                    "due_at": r.due_at,
                    "next_attempt_at": r.due_at,
                    "status": "pending",
                    "attempts": 0,
                    "late": False,
                    "created_at": NOW,
                }
                for r in planned
            ]
            with store.session() as s:
                s.execute(delete(OutboxRow))
            wall = time.perf_counter()
            with store.session() as s:
                s.execute(insert(OutboxRow), copies)
            core = time.perf_counter() - wall
            with store.session() as s:
                s.execute(delete(OutboxRow))
            again = store.outbox.enqueue(planned, now=NOW)
            print(
                f"enqueue: {stored:,} rows in {took:.1f} s wall ({took_cpu:.1f} s CPU), "
                f"{stored / took:,.0f} rows/s; Core executemany of the same rows "
                f"{len(copies) / core:,.0f} rows/s; ratio {core / took:.2f}x (target >= 0.5x)"
            )
            assert again == stored
        # A week on every cached match is stale; one enterprise registers in a chat and is
        # planned at once (replan only= it): it must not rematch the city inside the request.
        week = NOW + MATCHES_MAX_AGE + dt.timedelta(days=1)
        enterprise = store.registry.save_enterprise(
            "新登记企业", profiles(world, 1, 7)[0], now=week
        )
        sub = store.registry.subscriber("console", "new", display_name=None, now=week)
        store.registry.subscribe(sub, enterprise, now=week, offsets=(14, 7, 3, 1))
        wall, cpu = time.perf_counter(), time.process_time()
        replan(store, world, now=week, only={sub})
        one_wall, one_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        again = refresh_matches(store, world, on=week.date())
        city_wall, city_cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"one registration a week on (stale city cache): {one_wall:.3f} s wall, "
            f"{one_cpu:.3f} s CPU; the hourly pass then rematches {again:,} enterprises in "
            f"{city_wall:.1f} s wall, {city_cpu:.1f} s CPU"
        )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
