"""A dispatcher process for the crash test: sends every due reminder through a file channel.

Usage: python dispatch_child.py DATABASE_URL OUTPUT_FILE STOP_AFTER NOW_ISO
After STOP_AFTER messages (0: never) it stops itself (SIGSTOP) between writing a message and
recording it as sent, so the parent can kill it with exactly one message in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

from schedulers import SENT_OK, Capabilities, SendResult
from schedulers.dispatch import Dispatcher
from subscriptions.store import Store


@dataclass(frozen=True)
class FarRound:
    """A round open for the whole test."""

    open: dt.date = dt.date(2000, 1, 1)
    close: dt.date = dt.date(2999, 12, 31)
    basis: str = "confirmed"


class FileChannel:
    """Appends each message's address to a file, durably, before answering ok."""

    name: str = "console"
    rate_per_second: float | None = None
    capabilities = Capabilities()

    def __init__(self, path: str, stop_after: int) -> None:
        self.path, self.stop_after, self.count = path, stop_after, 0

    async def send(self, address: str, text: str) -> SendResult:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(address + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.count += 1
        if self.count == self.stop_after:
            os.kill(os.getpid(), signal.SIGSTOP)
        return SENT_OK


def main(url: str, out: str, stop_after: int, now_iso: str) -> None:
    """Recover what a killed predecessor left, then send everything due."""
    now = dt.datetime.fromisoformat(now_iso)
    store = Store.open(url)

    def render(items: Any, rounds: Any, late: bool, at: dt.datetime, caps: Capabilities) -> str:
        return ",".join(str(i.id) for i in items)

    dispatcher = Dispatcher(
        store=store.outbox,
        channels={"console": FileChannel(out, stop_after)},
        render=render,
        rounds=lambda: {"r": FarRound()},
        clock=lambda: now,
        worker=f"child-{os.getpid()}",
        batch=50,
    )
    store.outbox.recover(
        now=now, lease=dt.timedelta(0)
    )  # the only dispatcher: take back everything
    asyncio.run(dispatcher.tick())
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
