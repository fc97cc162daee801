"""Benchmark: a dispatch tick with nothing due, on an outbox full of future reminders.

Usage: python scripts/bench_outbox.py [--rows N] [--url DATABASE_URL] [--ticks K]

Fills the outbox with N pending reminders (a year of them for N/36 enterprises, all due
later), then times what every dispatch tick does when nothing is due: the claim and the
next wake-up (`Outbox.claim`, `Outbox.next_due`). It runs the same ticks again with the claim
index dropped, the reference in the same run, and prints CPU and wall time per tick for both,
their ratio, and the query plans (EXPLAIN) with the index.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text

from subscriptions._tables import OutboxRow, SubscriberRow
from subscriptions.store import Store

NOW = dt.datetime(2026, 12, 4, 1, 0, tzinfo=dt.UTC)
PER_ENTERPRISE = 36  # reminders a year for one enterprise: about 9 rounds x 4


def fill(store: Store, rows: int) -> None:
    """One console subscriber per 36 rows, and the rows, due over the next year, in bulk."""
    subscribers = max(1, rows // PER_ENTERPRISE)
    with store.session() as s:
        s.execute(
            insert(SubscriberRow),
            [
                {"id": i + 1, "channel": "console", "address": f"c{i}", "active": True}
                | {"created_at": NOW}
                for i in range(subscribers)
            ],
        )
    chunk = 50_000
    for start in range(0, rows, chunk):
        batch = []
        for n in range(start, min(rows, start + chunk)):
            due = NOW + dt.timedelta(hours=1 + n % (365 * 24))
            batch.append(
                {
                    "subscriber_id": n % subscribers + 1,
                    "round_key": f"policy-{n % 97}#0@2027",
                    "round_version": 1,
                    "kind": f"close-{n // subscribers}",
                    "due_at": due,
                    "next_attempt_at": due,
                    "status": "pending",
                    "attempts": 0,
                    "late": False,
                    "created_at": NOW,
                }
            )
        with store.session() as s:
            s.execute(insert(OutboxRow), batch)


def ticks(store: Store, count: int) -> tuple[float, float]:
    """CPU and wall seconds per idle tick (a claim that finds nothing, then the wake-up)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        assert store.outbox.claim(now=NOW, worker="bench", limit=100) == []
        assert store.outbox.next_due() is not None
    return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count


def plans(store: Store) -> list[str]:
    """The claim's and the wake-up's query plans."""
    claim = (
        "SELECT outbox.id FROM outbox JOIN subscribers ON subscribers.id = outbox.subscriber_id "
        "WHERE outbox.status = 'pending' AND outbox.next_attempt_at <= :now "
        "AND subscribers.active ORDER BY outbox.next_attempt_at, outbox.id LIMIT 100"
    )
    wake = "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'"
    sqlite = store.engine.dialect.name == "sqlite"
    out = []
    with store.engine.connect() as conn:
        for name, sql in (("claim", claim), ("wake-up", wake)):
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = conn.execute(text(explain + sql), {"now": NOW.isoformat() if sqlite else NOW})
            lines = [str(r[-1] if sqlite else r[0]) for r in rows]
            out.append(f"{name}: " + " | ".join(lines))
    return out


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args(argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url)
        try:
            with store.session() as s:  # a database of its own: start from an empty outbox
                s.execute(text("DELETE FROM outbox"))
                s.execute(text("DELETE FROM subscribers"))
            started = time.perf_counter()
            fill(store, args.rows)
            with store.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            print(
                f"{store.engine.dialect.name}: {args.rows:,} pending rows, none due "
                f"(filled in {time.perf_counter() - started:.1f} s)"
            )
            ticks(store, 2)  # warm
            cpu, wall = ticks(store, args.ticks)
            for line in plans(store):
                print("  " + line)
            with store.engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_outbox_claim"))
                conn.execute(text("ANALYZE"))
            ticks(store, 1)
            ref_cpu, ref_wall = ticks(store, max(2, args.ticks // 4))
            with store.engine.begin() as conn:
                conn.execute(
                    text("CREATE INDEX ix_outbox_claim ON outbox (status, next_attempt_at, id)")
                )
            print(
                f"idle tick with the claim index: {cpu * 1000:.2f} ms CPU, "
                f"{wall * 1000:.2f} ms wall"
            )
            print(
                f"idle tick without it (reference): {ref_cpu * 1000:.2f} ms CPU, "
                f"{ref_wall * 1000:.2f} ms wall"
            )
            print(
                f"ratio: {ref_wall / wall:.0f}x faster wall, {ref_cpu / max(cpu, 1e-9):.0f}x "
                "less CPU in this process (the database server's CPU is in the wall time)"
            )
        finally:
            if args.url:
                with store.session() as s:
                    s.execute(text("DELETE FROM outbox"))
                    s.execute(text("DELETE FROM subscribers"))
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
