"""The store on SQLite and PostgreSQL: migrations, idempotent enqueue, claims, round versions."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from sqlalchemy import event

from schedulers import Basis, Reminder
from subscriptions.store import Store

NOW = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)


def reminder(subscriber: int, kind: str = "close-7", version: int = 1) -> Reminder:
    """A reminder due at NOW."""
    return Reminder(subscriber, "talent#1@2026", version, kind, NOW)


def test_enqueue_is_idempotent(store: Store) -> None:
    """The same (subscriber, round version, kind) is stored once, however often planned."""
    sub = store.registry.subscriber("console", "a", display_name=None, now=NOW)
    assert store.outbox.enqueue([reminder(sub), reminder(sub, "close-3")], now=NOW) == 2
    assert store.outbox.enqueue([reminder(sub), reminder(sub, "close-3")], now=NOW) == 0
    assert store.outbox.counts() == {"pending": 2}


def test_claim_takes_each_row_once(store: Store) -> None:
    """Two workers claiming in turn never get the same row."""
    subs = [
        store.registry.subscriber("console", str(i), display_name=None, now=NOW) for i in range(5)
    ]
    store.outbox.enqueue([reminder(s) for s in subs], now=NOW)
    first = store.outbox.claim(now=NOW, worker="a", limit=3)
    second = store.outbox.claim(now=NOW, worker="b", limit=3)
    assert len(first) == 3
    assert len(second) == 2
    assert {c.id for c in first} & {c.id for c in second} == set()
    assert store.outbox.claim(now=NOW, worker="c", limit=3) == []


def test_recover_returns_stale_sending_rows(store: Store) -> None:
    """Rows left in sending past the lease go back to pending; fresh ones stay."""
    sub = store.registry.subscriber("console", "a", display_name=None, now=NOW)
    store.outbox.enqueue([reminder(sub)], now=NOW)
    store.outbox.claim(now=NOW, worker="a", limit=10)
    assert (
        store.outbox.recover(now=NOW + dt.timedelta(minutes=1), lease=dt.timedelta(minutes=5)) == 0
    )
    assert (
        store.outbox.recover(now=NOW + dt.timedelta(minutes=6), lease=dt.timedelta(minutes=5)) == 1
    )
    assert store.outbox.counts() == {"pending": 1}


def put(
    store: Store, close: dt.date, *, basis: Basis, source: str, open: dt.date | None = None
) -> tuple:  # type: ignore[type-arg]
    """Record a version of round k of policy p."""
    return store.rounds.put_round(
        key="k",
        policy_id="p",
        open=open,
        close=close,
        basis=basis,
        label=None,
        source=source,
        now=NOW,
    )


def test_round_versions_and_admin_precedence(store: Store) -> None:
    """A changed round is a new version; a catalog round never overrides a confirmed one."""
    _, v1 = put(store, dt.date(2026, 12, 10), basis=Basis.ESTIMATED, source="catalog")
    old, v2 = put(
        store,
        dt.date(2026, 12, 20),
        open=dt.date(2026, 12, 1),
        basis=Basis.CONFIRMED,
        source="admin",
    )
    assert (old, v2.version, v2.basis) == (v1, 2, Basis.CONFIRMED)
    _, again = put(store, dt.date(2026, 12, 10), basis=Basis.ESTIMATED, source="catalog")
    assert again == v2
    assert [r.version for r in store.rounds.round_versions("k")] == [1, 2]
    assert store.rounds.current_rounds() == [v2]


def test_instants_come_back_in_utc(store: Store) -> None:
    """An instant stored in Shanghai time comes back as the same UTC instant."""
    sub = store.registry.subscriber("console", "a", display_name=None, now=NOW)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    due = dt.datetime(2026, 12, 1, 9, 30, tzinfo=shanghai)
    store.outbox.enqueue([Reminder(sub, "r", 1, "open", due)], now=NOW)
    [row] = store.outbox.rows()
    assert row["due_at"] == due
    assert row["due_at"].tzinfo == dt.UTC


def test_concurrent_claims_never_overlap(store: Store, store_url: str) -> None:
    """Four dispatchers claiming at once share the rows without overlap (SKIP LOCKED on PG)."""
    subs = [
        store.registry.subscriber("console", f"c{i}", display_name=None, now=NOW)
        for i in range(400)
    ]
    store.outbox.enqueue([reminder(s) for s in subs], now=NOW)
    stores = [Store.open(store_url) for _ in range(4)]
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in stores]

    def work(n: int) -> None:
        barrier.wait()
        while batch := stores[n].outbox.claim(now=NOW, worker=f"w{n}", limit=25):
            claimed[n].extend(c.id for c in batch)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    every = [i for ids in claimed for i in ids]
    assert len(every) == 400
    assert len(set(every)) == 400


def test_enqueue_retimes_untried_rows_when_the_plan_moves(store: Store) -> None:
    """A newer holiday calendar moves a planned reminder: the pending row follows the new
    plan, while a row already sent or tried keeps its history."""
    sub = store.registry.subscriber("console", "c1", display_name=None, now=NOW)
    first = NOW + dt.timedelta(days=70)
    moved = first - dt.timedelta(days=3)  # the day turned out to be a holiday
    store.outbox.enqueue([Reminder(sub, "r#1@2027", 1, "close-7", first)], now=NOW)
    store.outbox.enqueue([Reminder(sub, "r#1@2027", 1, "open", NOW)], now=NOW)
    (sent,) = store.outbox.claim(now=NOW, worker="w", limit=10)
    store.outbox.mark_sent([sent.id], now=NOW, late=False, worker="w")
    again = [
        Reminder(sub, "r#1@2027", 1, "close-7", moved),
        Reminder(sub, "r#1@2027", 1, "open", NOW + dt.timedelta(hours=1)),
    ]
    assert store.outbox.enqueue(again, now=NOW) == 1
    rows = {r["kind"]: r for r in store.outbox.rows()}
    assert rows["close-7"]["due_at"] == moved
    assert rows["open"]["due_at"] == NOW  # sent already: its record is not rewritten
    assert store.outbox.enqueue(again, now=NOW) == 0  # nothing moved this time


def test_one_chat_writing_at_once_makes_one_subscriber_and_one_enterprise(
    store_url: str,
) -> None:
    """Eight messages from one chat handled at the same moment (in two processes' worth of
    stores) raise nothing and leave one subscriber and one registered enterprise."""
    stores = [Store.open(store_url) for _ in range(8)]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    ids: list[int] = []
    enterprises: list[int] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            sub = stores[n].registry.subscriber("telegram", "100", display_name=None, now=NOW)
            ids.append(sub)
            profile = {"name": "鄂州某公司", "industry": "C39", "employees": n + 1}
            enterprises.append(stores[n].registry.register(sub, profile, now=NOW))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    store = Store.open(store_url)
    try:
        assert errors == []
        assert len(set(ids)) == 1
        assert len(set(enterprises)) == 1
        assert [e.name for e in store.registry.enterprises()] == ["鄂州某公司"]
        assert len(store.registry.subscriptions()) == 1
    finally:
        store.close()


def test_unregister_is_one_transaction(store: Store) -> None:
    """A failure while deleting an enterprise leaves the registration and its pending
    reminders as they were (before, the reminders were failed in a transaction of their own)."""
    sub = store.registry.subscriber("console", "a", display_name=None, now=NOW)
    store.registry.register(sub, {"name": "甲公司", "industry": "C39"}, now=NOW)
    store.outbox.enqueue([reminder(sub)], now=NOW)

    def refuse(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("DELETE FROM enterprises"):
            raise RuntimeError("disk full")

    event.listen(store.engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(RuntimeError):
            store.registry.unregister(sub, now=NOW)
    finally:
        event.remove(store.engine, "before_cursor_execute", refuse)
    assert store.registry.registration(sub) is not None
    assert store.outbox.counts() == {"pending": 1}
    assert store.registry.unregister(sub, now=NOW) is True
    assert store.registry.registration(sub) is None
    assert store.outbox.counts() == {"failed": 1}
    assert store.registry.unregister(sub, now=NOW) is False


def test_chat_drafts_are_kept_per_chat_and_taken_once(store: Store) -> None:
    """A conversation survives in the store, is replaced by the next one of the chat, and of
    two takes only the first gets it."""
    assert store.chats.draft("wecom", "u1") is None
    store.chats.put_draft("wecom", "u1", "register", {"step": "name"}, now=NOW)
    store.chats.put_draft("wecom", "u2", "announce", {"text": "公告"}, now=NOW)
    later = NOW + dt.timedelta(minutes=1)
    store.chats.put_draft("wecom", "u1", "register", {"step": "industry", "name": "甲"}, now=later)
    found = store.chats.draft("wecom", "u1")
    assert found is not None
    assert (found.kind, found.data, found.updated_at) == (
        "register",
        {"step": "industry", "name": "甲"},
        later,
    )
    assert store.chats.take_draft("wecom", "u2", "register") is None  # another kind: left alone
    taken = store.chats.take_draft("wecom", "u2", "announce")
    assert taken is not None
    assert taken.data == {"text": "公告"}
    assert store.chats.take_draft("wecom", "u2") is None
    assert store.chats.draft("telegram", "u1") is None  # chats of other channels are apart


def test_the_migrated_schema_is_the_models(store: Store) -> None:
    """After every migration, the database has exactly the tables, columns and indexes the
    models declare (so that a model change without its migration fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from subscriptions._tables import Base

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_the_claim_and_the_wake_up_use_the_claim_index(store: Store) -> None:
    """The claim's filter and order (pending, by next_attempt_at) are read from an index, not
    a scan of the outbox, on SQLite and PostgreSQL alike."""
    from sqlalchemy import text

    sub = store.registry.subscriber("console", "a", display_name=None, now=NOW)
    store.outbox.enqueue([Reminder(sub, f"r{i}", 1, "open", NOW) for i in range(50)], now=NOW)
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE status = 'pending' "
                        "AND next_attempt_at <= :now ORDER BY next_attempt_at, id LIMIT 100"
                    ),
                    {"now": NOW.isoformat()},
                )
            )
        else:
            conn.execute(text("SET enable_seqscan = off"))  # 50 rows: make the planner choose
            plan = " ".join(
                str(r[0])
                for r in conn.execute(
                    text(
                        "EXPLAIN SELECT id FROM outbox WHERE status = 'pending' "
                        "AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT 100"
                    )
                )
            )
    assert "ix_outbox_claim" in plan, plan
    assert "TEMP B-TREE" not in plan.upper(), plan  # no sort after the read


def test_a_large_enqueue_counts_every_row_once(store: Store) -> None:
    """2,500 reminders (several of the writer's batches): all inserted, none again, and only
    the 10 whose time moved are re-timed, on SQLite (executemany) and PostgreSQL (COPY)."""
    subs = [
        store.registry.subscriber("console", f"c{i}", display_name=None, now=NOW) for i in range(50)
    ]
    due = dt.datetime(2026, 12, 10, 1, 30, tzinfo=dt.UTC)
    planned = [Reminder(subs[i % 50], f"p{i // 50}#0@2027", 1, "open", due) for i in range(2500)]
    assert store.outbox.enqueue(planned, now=NOW) == 2500
    assert store.outbox.enqueue(planned, now=NOW) == 0
    moved = [
        Reminder(r.subscriber_id, r.round_key, 1, "open", due + dt.timedelta(days=1))
        for r in planned[:10]
    ]
    assert store.outbox.enqueue(moved, now=NOW) == 10
    rows = store.outbox.rows()
    assert len(rows) == 2500
    assert sum(r["due_at"] != due for r in rows) == 10
    assert {r["due_at"] for r in rows if r["due_at"] != due} == {due + dt.timedelta(days=1)}
    claimed = store.outbox.claim(now=due, worker="w", limit=5000)
    assert len(claimed) == 2490  # the moved ten are not due yet: next_attempt_at moved too


def test_send_slots_are_shared_by_every_process(store: Store, store_url: str) -> None:
    """Two dispatcher processes (two stores on one PostgreSQL database) reserving a 10/s
    credential alternately get consecutive slots a tenth of a second (and 2%) apart, whoever asks;
    another credential has slots of its own. On SQLite (one process) it is refused."""
    if store.dialect != "postgresql":
        with pytest.raises(RuntimeError, match="PostgreSQL"):
            store.limits.reserve("send:x", per_second=10)
        return
    other = Store.open(store_url)
    try:
        delays = [
            (store if i % 2 == 0 else other).limits.reserve("send:wecom", per_second=10)
            for i in range(10)
        ]
        assert delays[0] < 0.05
        steps = [b - a for a, b in itertools.pairwise(delays)]
        assert all(0.05 < step <= 0.102 + 1e-6 for step in steps), delays  # 2% margin
        assert store.limits.reserve("send:telegram", per_second=10) < 0.05
    finally:
        other.close()
