"""`huiqi simulate`: planning and dispatch on a simulated clock, with a recording channel."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot._service import World, dispatcher_for, replan
from bot._settings import DEFAULT_HOTLINE
from schedulers import SHANGHAI, Recorded, RecordingChannel
from subscriptions.store import Store, StoredRound

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo" / "enterprises.json"


def demo_profiles() -> list[dict[str, Any]]:
    """The sample enterprises of `--demo` and of `simulate` without profiles."""
    data: list[dict[str, Any]] = json.loads(DEMO.read_text(encoding="utf-8"))
    return data


@dataclass
class SimulatedClock:
    """A clock that moves only when told to."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Simulation:
    """The outcome: every message with its time, and how the outbox ended."""

    messages: list[Recorded] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)  # address -> enterprise name
    outbox: dict[str, int] = field(default_factory=dict)


def simulate(
    world: World,
    profiles: Sequence[dict[str, Any]],
    *,
    start: dt.date,
    end: dt.date,
    public_url: str,
    store_url: str | None = None,
    published: Sequence[StoredRound] = (),
    hotline: str = DEFAULT_HOTLINE,
) -> Simulation:
    """Run planning and dispatch from `start` to `end` (local days, inclusive), with the
    bureau's `published` rounds (confirmed or withdrawn) in place of the catalog's."""
    with tempfile.TemporaryDirectory(prefix="huiqi-sim-") as tmp:
        url = store_url or f"sqlite:///{Path(tmp) / 'simulate.db'}"
        store = Store.open(url)
        try:
            return asyncio.run(
                _run(
                    world,
                    store,
                    profiles,
                    start=start,
                    end=end,
                    public_url=public_url,
                    published=published,
                    hotline=hotline,
                )
            )
        finally:
            store.close()


async def _run(
    world: World,
    store: Store,
    profiles: Sequence[dict[str, Any]],
    *,
    start: dt.date,
    end: dt.date,
    public_url: str,
    published: Sequence[StoredRound] = (),
    hotline: str = DEFAULT_HOTLINE,
) -> Simulation:
    clock = SimulatedClock(
        dt.datetime.combine(start, dt.time(0, 0), tzinfo=SHANGHAI).astimezone(dt.UTC)
    )
    stop = dt.datetime.combine(
        end + dt.timedelta(days=1), dt.time(0, 0), tzinfo=SHANGHAI
    ).astimezone(dt.UTC)
    result = Simulation()
    for found in published:  # the bureau's word, as it stands in the real store
        store.rounds.put_round(
            key=found.key,
            policy_id=found.policy_id,
            open=found.open,
            close=found.close,
            basis=found.basis,
            label=found.label,
            source=found.source,
            now=clock(),
            notice_url=found.notice_url,
            deadline=found.deadline,
            terms=found.terms,
        )
    for i, profile in enumerate(profiles, start=1):
        enterprise = store.registry.save_enterprise(profile["name"], profile, now=clock())
        address = f"enterprise-{i}"
        subscriber = store.registry.subscriber(
            "console", address, display_name=profile["name"], now=clock()
        )
        store.registry.subscribe(subscriber, enterprise, now=clock())
        result.addresses[address] = profile["name"]
    channel = RecordingChannel(clock=clock)
    dispatcher = dispatcher_for(
        world,
        store,
        {"console": channel},
        clock=clock,
        public_url=public_url,
        worker="simulate",
        hotline=hotline,
    )
    planned_year = None
    while clock.now < stop:
        year = clock.now.astimezone(SHANGHAI).year
        if year != planned_year:  # each new year brings next year's rounds into view
            replan(store, world, now=clock.now)
            planned_year = year
        await dispatcher.tick()
        due = store.outbox.next_due()
        new_year = dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(dt.UTC)
        ahead = [t for t in (due, new_year, stop) if t is not None and t > clock.now]
        clock.now = min(ahead) if ahead else stop
    result.messages = list(channel.sent)
    result.outbox = store.outbox.counts()
    return result
