"""Benchmark: dispatch N reminders over HTTP to a local fake endpoint that allows R messages/s.

Usage: python scripts/bench_dispatch.py [--reminders N] [--rate R] [--processes P --url PG_URL]

With --processes (PostgreSQL), P dispatcher processes share the outbox and the channel's
limit through the store (target: together between 95% and 100% of R, no 429s).

The fake endpoint (on 127.0.0.1) answers 429 with Retry-After when more than R messages
arrive within any one second, and records every message. Reports the achieved rate (target:
at least 95% of R), 429s seen, duplicates and losses (target: none of either).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import multiprocessing
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot._clock import now as clock
from bot._webhook import WebhookChannel
from schedulers import Capabilities, Reminder
from schedulers.dispatch import Dispatcher
from subscriptions.store import SharedRate, Store


@dataclass(frozen=True)
class FarRound:
    """A round open for the whole run."""

    open: dt.date = dt.date(2000, 1, 1)
    close: dt.date = dt.date(2999, 12, 31)
    basis: str = "confirmed"


class FakeEndpoint:
    """Records messages; refuses with 429 beyond `rate` in any one-second window."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.window: collections.deque[float] = collections.deque()
        self.received: list[str] = []
        self.refused = 0

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.json()
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= self.rate:
            self.refused += 1
            return JSONResponse({"ok": False}, 429, headers={"Retry-After": "1"})
        self.window.append(now)
        self.received.append(body["to"])
        return JSONResponse({"ok": True})


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def dispatch_all(store: Store, url: str, rate: int, worker: str = "dispatcher") -> float:
    """Tick until nothing is pending; return the elapsed seconds."""
    async with httpx.AsyncClient(timeout=10) as client:
        channel = WebhookChannel(url, client, name="webhook", rate_per_second=rate)

        def render(items: Any, rounds: Any, late: bool, at: dt.datetime, caps: Capabilities) -> str:
            return "提醒 " + ",".join(str(i.id) for i in items)

        shared = None
        if store.dialect == "postgresql":  # as dispatcher_for builds it for huiqi serve
            shared = lambda name, per: SharedRate(store.limits, f"send:{name}", per)  # noqa: E731
        dispatcher = Dispatcher(
            store=store.outbox,
            channels={"webhook": channel},
            render=render,
            rounds=lambda: {"r": FarRound()},
            clock=clock,
            worker=worker,
            shared_rate=shared,
        )
        start = time.perf_counter()
        while True:
            await dispatcher.tick()
            due = store.outbox.next_due()
            if due is None:
                return time.perf_counter() - start
            await asyncio.sleep(max((due - clock()).total_seconds(), 0.01))  # a retry-after


def child(url: str, endpoint: str, rate: int, worker: str, started: Any) -> None:
    """One dispatcher process: tick until the shared outbox has nothing pending."""
    store = Store.open(url)
    started.wait()  # all processes begin together
    asyncio.run(dispatch_all(store, endpoint, rate, worker))
    store.close()


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--processes", type=int, default=1, help="dispatchers (PostgreSQL)")
    parser.add_argument("--url", help="PostgreSQL URL (several processes need one)")
    args = parser.parse_args(argv[1:])
    if args.processes > 1 and not (args.url or "").startswith("postgresql"):
        parser.error("--processes needs --url postgresql://...")
    endpoint = FakeEndpoint(args.rate)
    port = free_port()
    app = Starlette(routes=[Route("/send", endpoint.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    endpoint_url = f"http://127.0.0.1:{port}/send"
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url)
        with store.session() as s:  # a database of its own: start from nothing
            for table in ("rate_slots", "deliveries", "outbox", "subscribers"):
                s.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        now = clock()
        subscribers = [
            store.registry.subscriber("webhook", f"s{i:05d}", display_name=None, now=now)
            for i in range(args.reminders)
        ]
        store.outbox.enqueue([Reminder(s, "r", 1, "close-7", now) for s in subscribers], now=now)
        if args.processes == 1:
            elapsed = asyncio.run(dispatch_all(store, endpoint_url, args.rate))
        else:
            spawn = multiprocessing.get_context("spawn")
            started = spawn.Event()
            workers = [
                spawn.Process(target=child, args=(url, endpoint_url, args.rate, f"d{i}", started))
                for i in range(args.processes)
            ]
            for w in workers:
                w.start()
            time.sleep(3)  # let every process open its store before the start
            begin = time.perf_counter()
            started.set()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - begin
        counts = store.outbox.counts()
        store.close()
    server.should_exit = True
    thread.join(timeout=10)
    received = collections.Counter(endpoint.received)
    expected = {f"s{i:05d}" for i in range(args.reminders)}
    duplicates = sum(n - 1 for n in received.values())
    lost = len(expected - set(received))
    achieved = len(endpoint.received) / elapsed
    print(
        f"reminders: {args.reminders:,}, limit {args.rate}/s, {args.processes} dispatcher "
        f"process(es), elapsed {elapsed:.1f} s"
    )
    print(f"achieved: {achieved:.2f} messages/s ({achieved / args.rate:.1%} of the limit)")
    print(
        f"429 answers: {endpoint.refused}, duplicates: {duplicates}, lost: {lost}, outbox: {counts}"
    )
    return 0 if duplicates == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
