"""A dispatcher killed mid-send loses nothing, and repeats at most what was in flight."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from schedulers import Reminder
from subscriptions.store import Store

CHILD = Path(__file__).with_name("dispatch_child.py")
NOW = dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC)
COUNT = 1000


def spawn(url: str, out: Path, stop_after: int) -> subprocess.Popen[bytes]:
    """Start a dispatcher process."""
    args = [sys.executable, str(CHILD), url, str(out), str(stop_after), NOW.isoformat()]
    return subprocess.Popen(args)  # noqa: S603 - our own test script, our own arguments


def test_sigkill_mid_send_then_restart(store: Store, store_url: str, tmp_path: Path) -> None:
    """Kill -9 after 500 of 1,000 sends: the restart delivers the rest, one (in flight) twice."""
    subscribers = [
        store.registry.subscriber("console", f"s{i:04d}", display_name=None, now=NOW)
        for i in range(COUNT)
    ]
    assert (
        store.outbox.enqueue([Reminder(s, "r", 1, "close-7", NOW) for s in subscribers], now=NOW)
        == COUNT
    )
    out = tmp_path / "delivered.txt"

    first = spawn(store_url, out, stop_after=500)
    _, status = os.waitpid(first.pid, os.WUNTRACED)  # returns when the child has stopped itself
    assert os.WIFSTOPPED(status)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    assert len(out.read_text(encoding="utf-8").split()) == 500

    second = spawn(store_url, out, stop_after=0)
    assert second.wait(timeout=120) == 0

    delivered = Counter(out.read_text(encoding="utf-8").split())
    assert set(delivered) == {f"s{i:04d}" for i in range(COUNT)}
    assert sum(n - 1 for n in delivered.values()) == 1  # only the message in flight at the kill
    assert store.outbox.counts() == {"sent": COUNT}
