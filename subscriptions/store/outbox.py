"""The outbox: queued messages, claims under a lease, results and the delivery log; and what a
send learns of its subscriber (moved, gone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy import insert as sqlalchemy_insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from schedulers import ANNOUNCEMENT, Claimed, Kind, Reminder
from subscriptions._tables import (
    AnnouncementRow,
    AnswerRow,
    DeliveryRow,
    OutboxRow,
    SubscriberRow,
)
from subscriptions.store._db import (
    DROPPED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Repository,
    Status,
    StoredAnnouncement,
)


class Outbox(Repository):
    """Queued messages, claims under a lease, results, the delivery log, announcements."""

    def forget_planned(self, subscriber_id: int, *, after: dt.datetime) -> int:
        """Delete a subscriber's planned reminders (open, close-N) still waiting past `after`,
        so that planning anew follows changed preferences; return how many."""
        with self.session() as s:
            stmt = delete(OutboxRow).where(
                OutboxRow.subscriber_id == subscriber_id,
                OutboxRow.status == PENDING,
                OutboxRow.due_at > after,
                (OutboxRow.kind == Kind.OPEN) | OutboxRow.kind.like(f"{Kind.CLOSE}-%"),
            )
            return max(cast(CursorResult[Any], s.execute(stmt)).rowcount, 0)

    def enqueue(self, reminders: Iterable[Reminder], *, now: dt.datetime) -> int:
        """Insert reminders; one already there (same subscriber, round version, kind) and not
        yet tried is re-timed when the plan moved it (a newer holiday calendar, say), and
        left alone otherwise. Return how many rows were inserted or re-timed."""
        values = [
            {
                "subscriber_id": r.subscriber_id,
                "round_key": r.round_key,
                "round_version": r.round_version,
                "kind": r.kind,
                "due_at": r.due_at,
                "next_attempt_at": r.due_at,
                "status": PENDING,
                "attempts": 0,
                "late": False,
                "created_at": now,
            }
            for r in reminders
        ]
        if not values:
            return 0
        if self.dialect == "postgresql":
            return self._copy_in(values, now=now)
        rows = sqlite.insert(OutboxRow)
        # One statement, compiled once, for every row: SQLAlchemy sends the rows in batches
        # of multi-row VALUES ("insertmanyvalues"), RETURNING the ids of those inserted or
        # re-timed.
        stmt = rows.on_conflict_do_update(
            index_elements=["subscriber_id", "round_key", "round_version", "kind"],
            set_={
                "due_at": rows.excluded.due_at,
                "next_attempt_at": rows.excluded.next_attempt_at,
            },
            where=(OutboxRow.status == PENDING)
            & (OutboxRow.attempts == 0)
            & (OutboxRow.due_at != rows.excluded.due_at),
        ).returning(OutboxRow.id)
        with self.session() as s:
            return len(s.connection().execute(stmt, values).all())

    def _copy_in(self, values: list[dict[str, Any]], *, now: dt.datetime) -> int:
        """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... SELECT with
        the same conflict rule as SQLite's path; the count of rows inserted or re-timed."""
        with self.session() as s:
            raw = cast(Any, s.connection().connection.driver_connection)  # psycopg's
            with raw.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE outbox_in (subscriber_id integer, round_key text, "
                    "round_version integer, kind text, due_at timestamptz) ON COMMIT DROP"
                )
                with cur.copy(
                    "COPY outbox_in (subscriber_id, round_key, round_version, kind, due_at) "
                    "FROM STDIN"
                ) as copy:
                    for v in values:
                        copy.write_row(
                            (
                                v["subscriber_id"],
                                v["round_key"],
                                v["round_version"],
                                v["kind"],
                                v["due_at"],
                            )
                        )
                cur.execute(
                    "INSERT INTO outbox (subscriber_id, round_key, round_version, kind, due_at, "
                    "next_attempt_at, status, attempts, late, created_at) "
                    "SELECT subscriber_id, round_key, round_version, kind, due_at, due_at, "
                    "%(pending)s, 0, false, %(now)s FROM outbox_in "
                    "ON CONFLICT (subscriber_id, round_key, round_version, kind) DO UPDATE "
                    "SET due_at = EXCLUDED.due_at, next_attempt_at = EXCLUDED.next_attempt_at "
                    "WHERE outbox.status = %(pending)s AND outbox.attempts = 0 "
                    "AND outbox.due_at <> EXCLUDED.due_at",
                    {"pending": PENDING, "now": now},
                )
                count: int = cur.rowcount
                return max(count, 0)

    def recover(self, *, now: dt.datetime, lease: dt.timedelta) -> int:
        """Return rows left in `sending` longer than `lease` (a crashed sender) to `pending`."""
        with self.session() as s:
            stmt = (
                update(OutboxRow)
                .where(OutboxRow.status == SENDING, OutboxRow.claimed_at <= now - lease)
                .values(status=PENDING, claimed_by=None, next_attempt_at=now)
            )
            result = cast(CursorResult[Any], s.execute(stmt))
            return max(result.rowcount, 0)

    def claim(
        self,
        *,
        now: dt.datetime,
        worker: str,
        limit: int,
        channels: Collection[str] | None = None,
        other_than: Collection[str] | None = None,
    ) -> list[Claimed]:
        """Claim up to `limit` due rows of active subscribers for `worker`, oldest first:
        of the subscribers on `channels` only, or on none of `other_than`, when given."""
        with self.session() as s:
            due = (
                select(OutboxRow.id)
                .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
                .where(
                    OutboxRow.status == PENDING,
                    OutboxRow.next_attempt_at <= now,
                    SubscriberRow.active.is_(True),
                )
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
            )
            if channels is not None:
                due = due.where(SubscriberRow.channel.in_(list(channels)))
            if other_than:
                due = due.where(SubscriberRow.channel.not_in(list(other_than)))
            if self.dialect == "postgresql":
                due = due.with_for_update(skip_locked=True, of=OutboxRow)
            ids = list(s.scalars(due))
            if not ids:
                return []
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == PENDING)
                .values(status=SENDING, claimed_by=worker, claimed_at=now)
            )
            rows = s.execute(
                select(OutboxRow, SubscriberRow.channel, SubscriberRow.address)
                .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
                .where(
                    OutboxRow.id.in_(ids),
                    OutboxRow.claimed_by == worker,
                    OutboxRow.status == SENDING,
                )
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            )
            return [
                Claimed(
                    o.id,
                    o.subscriber_id,
                    channel,
                    address,
                    o.round_key,
                    o.round_version,
                    o.kind,
                    o.due_at,
                    o.attempts,
                )
                for o, channel, address in rows
            ]

    def _finish(self, ids: Sequence[int], **how: Any) -> list[int]:
        """`_finish_in` in a transaction of its own."""
        if not ids:
            return []
        with self.session() as s:
            return self._finish_in(s, ids, **how)

    @staticmethod
    def _finish_in(
        s: Session,
        ids: Sequence[int],
        *,
        now: dt.datetime,
        result: str,
        detail: str | None,
        worker: str | None = None,
        **values: Any,
    ) -> list[int]:
        """Set `values` on the rows and log `result`, in the caller's transaction; with
        `worker`, only on the rows that worker still holds in `sending` (a row whose lease
        another dispatcher took over is left to that dispatcher). Return the ids changed."""
        stmt = update(OutboxRow).where(OutboxRow.id.in_(list(ids)))
        if worker is not None:
            stmt = stmt.where(OutboxRow.status == SENDING, OutboxRow.claimed_by == worker)
        changed = list(s.scalars(stmt.values(**values).returning(OutboxRow.id)))
        s.add_all(DeliveryRow(outbox_id=i, at=now, result=result, detail=detail) for i in changed)
        return changed

    def settle(
        self,
        status: Status,
        ids: Sequence[int],
        *,
        now: dt.datetime,
        detail: str,
        worker: str | None = None,
    ) -> list[int]:
        """End rows in `status` (failed, dropped, dead or uncertain), with `detail` as their
        note and in the delivery log; with `worker`, only the rows that worker still holds."""
        return self._finish(
            ids,
            now=now,
            result=str(status),
            detail=detail,
            worker=worker,
            status=status,
            note=detail,
        )

    def mark_sent(
        self, ids: Sequence[int], *, now: dt.datetime, late: bool, worker: str | None = None
    ) -> list[int]:
        """The message went out; return the ids recorded (with `worker`: those it held)."""
        return self._finish(
            ids,
            now=now,
            result="sent",
            detail="补发" if late else None,
            worker=worker,
            status=SENT,
            sent_at=now,
            late=late,
        )

    def mark_retry(
        self,
        ids: Sequence[int],
        *,
        now: dt.datetime,
        at: dt.datetime,
        detail: str,
        worker: str | None = None,
        count: bool = True,
    ) -> list[int]:
        """Try again at `at` (after a retry-after or a transient error); `count=False` when
        the row was not at fault (its channel was down), so it spends no attempt."""
        return self._finish(
            ids,
            now=now,
            result="retry",
            detail=detail,
            worker=worker,
            status=PENDING,
            next_attempt_at=at,
            attempts=OutboxRow.attempts + (1 if count else 0),
            claimed_by=None,
            note=detail,
        )

    def renew(self, ids: Sequence[int], *, now: dt.datetime, worker: str) -> list[int]:
        """Extend the lease of rows `worker` is still sending; return those it still holds."""
        if not ids:
            return []
        with self.session() as s:
            stmt = (
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(list(ids)),
                    OutboxRow.status == SENDING,
                    OutboxRow.claimed_by == worker,
                )
                .values(claimed_at=now)
                .returning(OutboxRow.id)
            )
            return list(s.scalars(stmt))

    def move_subscriber(self, subscriber_id: int, address: str) -> int:
        """The chat at a subscriber's address moved to `address` (a Telegram group became a
        supergroup): follow it. Return the subscriber id that now holds the new address."""
        with self.session() as s:
            row = s.get(SubscriberRow, subscriber_id)
            if row is None:
                return subscriber_id
            there = s.scalar(
                select(SubscriberRow).where(
                    SubscriberRow.channel == row.channel, SubscriberRow.address == address
                )
            )
            if there is None:
                row.address = address
                return subscriber_id
            # The new chat subscribed itself already: the old address is gone for good.
            row.active, row.deactivated_reason = False, f"群已迁移到 {address}"
            return there.id

    def deactivate(self, subscriber_id: int, reason: str) -> None:
        """Stop sending to a subscriber (it blocked the bot, or its chat is gone)."""
        with self.session() as s:
            s.execute(
                update(SubscriberRow)
                .where(SubscriberRow.id == subscriber_id)
                .values(active=False, deactivated_reason=reason)
            )

    def fail_pending_of(self, subscriber_id: int, *, now: dt.datetime, detail: str) -> int:
        """Give up every pending row of a subscriber that can no longer be reached."""
        with self.session() as s:
            ids = list(
                s.scalars(
                    select(OutboxRow.id).where(
                        OutboxRow.subscriber_id == subscriber_id, OutboxRow.status == PENDING
                    )
                )
            )
        if ids:
            self.settle(FAILED, ids, now=now, detail=detail)
        return len(ids)

    def supersede(self, round_key: str, version: int, *, now: dt.datetime) -> int:
        """Drop pending reminders of older versions of a round (its dates changed)."""
        with self.session() as s:
            ids = list(
                s.scalars(
                    select(OutboxRow.id).where(
                        OutboxRow.round_key == round_key,
                        OutboxRow.round_version < version,
                        OutboxRow.status == PENDING,
                    )
                )
            )
        if ids:
            self.settle(DROPPED, ids, now=now, detail=f"轮次日期已更新为第{version}版")
        return len(ids)

    def next_due(self) -> dt.datetime | None:
        """When the earliest pending row becomes due, if any."""
        with self.session() as s:
            return s.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(OutboxRow.status == PENDING)
            )

    def rows(self) -> list[dict[str, Any]]:
        """Every outbox row (for the command line and tests), by id."""
        with self.session() as s:
            rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id))
            return [
                {
                    "id": o.id,
                    "subscriber_id": o.subscriber_id,
                    "round_key": o.round_key,
                    "round_version": o.round_version,
                    "kind": o.kind,
                    "due_at": o.due_at,
                    "status": o.status,
                    "attempts": o.attempts,
                    "late": o.late,
                    "note": o.note,
                    "sent_at": o.sent_at,
                }
                for o in rows
            ]

    def announce(self, text: str, *, author: str, now: dt.datetime) -> tuple[int, dict[str, int]]:
        """Queue an announcement to every active subscriber, in one transaction; return its id
        and how many subscribers of each channel it goes to. The dispatcher sends it."""
        with self.session() as s:
            subscribers = s.execute(
                select(SubscriberRow.id, SubscriberRow.channel)
                .where(SubscriberRow.active.is_(True))
                .order_by(SubscriberRow.id)
            ).all()
            row = AnnouncementRow(
                text=text, author=author, recipients=len(subscribers), created_at=now
            )
            s.add(row)
            s.flush()
            key = f"{ANNOUNCEMENT}:{row.id}"
            if subscribers:
                s.execute(
                    sqlalchemy_insert(OutboxRow),
                    [
                        {
                            "subscriber_id": sid,
                            "round_key": key,
                            "round_version": 1,
                            "kind": ANNOUNCEMENT,
                            "due_at": now,
                            "next_attempt_at": now,
                            "status": PENDING,
                            "attempts": 0,
                            "late": False,
                            "created_at": now,
                        }
                        for sid, _ in subscribers
                    ],
                )
            by_channel: dict[str, int] = {}
            for _, channel in subscribers:
                by_channel[channel] = by_channel.get(channel, 0) + 1
            return row.id, by_channel

    def announcements(self, ids: Collection[int]) -> dict[int, StoredAnnouncement]:
        """Announcements as written, by id."""
        with self.session() as s:
            rows = s.execute(
                select(AnnouncementRow.id, AnnouncementRow.text, AnnouncementRow.created_at).where(
                    AnnouncementRow.id.in_(list(ids))
                )
            )
            return {int(i): StoredAnnouncement(str(t), at) for i, t, at in rows}

    def told_about(self, round_key: str) -> list[int]:
        """Subscribers who were sent anything about a round."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(OutboxRow.subscriber_id)
                    .where(OutboxRow.round_key == round_key, OutboxRow.status == SENT)
                    .distinct()
                    .order_by(OutboxRow.subscriber_id)
                )
            )

    def answer(self, subscriber_id: int, round_key: str, choice: str, *, now: dt.datetime) -> int:
        """Record an enterprise's answer to a round (applied, not_interested) and drop its
        reminders of that round still waiting, in one transaction; return how many."""
        note = {"applied": "企业已申报", "not_interested": "企业不感兴趣"}[choice]
        with self.session() as s:
            s.add(
                AnswerRow(subscriber_id=subscriber_id, round_key=round_key, choice=choice, at=now)
            )
            waiting = s.scalars(
                select(OutboxRow.id).where(
                    OutboxRow.subscriber_id == subscriber_id,
                    OutboxRow.round_key == round_key,
                    OutboxRow.status == PENDING,
                )
            ).all()
            dropped = self._finish_in(
                s, waiting, now=now, result=str(DROPPED), detail=note, status=DROPPED, note=note
            )
            return len(dropped)

    def applied(self, subscribers: Collection[int] | None = None) -> dict[int, frozenset[str]]:
        """The policies each subscriber (of `subscribers`, or every one) said it applied to
        (已申报), from its answers to their rounds."""
        query = select(AnswerRow.subscriber_id, AnswerRow.round_key).where(
            AnswerRow.choice == "applied"
        )
        if subscribers is not None:
            query = query.where(AnswerRow.subscriber_id.in_(list(subscribers)))
        found: dict[int, set[str]] = {}
        with self.session() as s:
            for subscriber_id, key in s.execute(query):
                found.setdefault(subscriber_id, set()).add(key.partition("#")[0])
        return {k: frozenset(v) for k, v in found.items()}

    def row_of(self, row_id: int) -> Claimed | None:
        """One outbox row, whatever its status (an answer button names the message's row)."""
        with self.session() as s:
            row = s.get(OutboxRow, row_id)
            return None if row is None else _claimed(row)

    def next_waiting(self, subscriber_id: int, round_key: str) -> Claimed | None:
        """The subscriber's next reminder of a round still waiting, if any."""
        with self.session() as s:
            row = s.scalar(
                select(OutboxRow)
                .where(
                    OutboxRow.subscriber_id == subscriber_id,
                    OutboxRow.round_key == round_key,
                    OutboxRow.status == PENDING,
                )
                .order_by(OutboxRow.due_at)
                .limit(1)
            )
            return None if row is None else _claimed(row)

    def snooze(
        self, row_id: int, subscriber_id: int, *, day: dt.date, until: dt.datetime, now: dt.datetime
    ) -> bool:
        """稍后提醒: the waiting reminder `row_id` is dropped and one 'snoozed' reminder of the
        same round is queued at `until`, with the answer recorded, in one transaction. False
        when the row is no longer waiting (sent meanwhile)."""
        with self.session() as s:
            row = s.get(OutboxRow, row_id)
            if row is None or row.status != PENDING or row.subscriber_id != subscriber_id:
                return False
            self._finish_in(
                s,
                [row_id],
                now=now,
                result=str(DROPPED),
                detail="稍后提醒",
                status=DROPPED,
                note="稍后提醒",
            )
            kind = f"{Kind.SNOOZED}-{day.isoformat()}"
            s.add(
                OutboxRow(
                    subscriber_id=subscriber_id,
                    round_key=row.round_key,
                    round_version=row.round_version,
                    kind=kind,
                    due_at=until,
                    next_attempt_at=until,
                    status=PENDING,
                    attempts=0,
                    created_at=now,
                )
            )
            s.add(
                AnswerRow(
                    subscriber_id=subscriber_id, round_key=row.round_key, choice="later", at=now
                )
            )
            return True

    def answers(self, round_key: str) -> dict[str, int]:
        """How many subscribers gave each answer to a round."""
        with self.session() as s:
            rows = s.execute(
                select(AnswerRow.choice, func.count(func.distinct(AnswerRow.subscriber_id)))
                .where(AnswerRow.round_key == round_key)
                .group_by(AnswerRow.choice)
            )
            return {str(c): int(n) for c, n in rows}

    def counts(self) -> dict[str, int]:
        """Outbox rows per status."""
        with self.session() as s:
            query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
            return {str(status): int(n) for status, n in s.execute(query)}


def _claimed(row: OutboxRow) -> Claimed:
    """An outbox row as the core's value (without the subscriber's channel and address)."""
    return Claimed(
        row.id,
        row.subscriber_id,
        "",
        "",
        row.round_key,
        row.round_version,
        row.kind,
        row.due_at,
        row.attempts,
    )
