"""Send slots shared by every dispatcher process: one rate per credential, in the database."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from subscriptions.store._db import Repository

# The next slot, in one statement that PostgreSQL runs atomically per row: a first send takes
# now; each later one the later of the last reservation and now, plus one interval. Its
# delay (how long the sender waits) is measured on the database's clock, the same for every
# process.
_RESERVE = text(
    """
    INSERT INTO rate_slots (name, next_at) VALUES (:name, now() + make_interval(secs => :step))
    ON CONFLICT (name) DO UPDATE
      SET next_at = greatest(rate_slots.next_at, now()) + make_interval(secs => :step)
    RETURNING extract(epoch FROM (next_at - now())) - :step
    """
)


# Slots are this much wider than 1/rate: network jitter between the reservation and the
# request reaching the platform must never put one message too many into its counting window.
MARGIN = 1.02


class Limits(Repository):
    """Rate slots by credential name (PostgreSQL only: one SQLite file is one process)."""

    def reserve(self, name: str, *, per_second: float) -> float:
        """Reserve the next send slot of `name` at `per_second`; return the seconds to wait
        for it (0 when it is free now)."""
        if self.dialect != "postgresql":
            raise RuntimeError("shared rate slots need PostgreSQL")
        with self.session() as s:
            step = MARGIN / per_second
            delay: Any = s.execute(_RESERVE, {"name": name, "step": step}).scalar_one()
        return max(float(delay), 0.0)


class SharedRate:
    """An async limiter (like aiolimiter's) whose slots are shared by every process through
    the database: together they send at most `per_second`, one message per interval."""

    def __init__(self, limits: Limits, name: str, per_second: float) -> None:
        self.limits = limits
        self.name = name
        self.per_second = per_second

    def __repr__(self) -> str:
        return f"SharedRate({self.name!r}, {self.per_second:g}/s)"

    async def acquire(self) -> None:
        """Wait for this process's next slot (the store is read in a worker thread)."""
        delay = await asyncio.to_thread(self.limits.reserve, self.name, per_second=self.per_second)
        if delay > 0:
            await asyncio.sleep(delay)
