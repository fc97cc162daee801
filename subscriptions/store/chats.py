"""What chat callbacks and conversations need kept: replayed ids, drafts in progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from subscriptions._tables import (
    ChatDraftRow,
    SeenCallbackRow,
)
from subscriptions.store._db import ChatDraft, Repository


class Chats(Repository):
    """Replay memory of callbacks and conversations in progress."""

    def first_sighting(self, key: str, *, now: dt.datetime, window: dt.timedelta) -> bool:
        """Record a callback's id; False if it was seen within `window` (a replay).

        Ids older than the window are forgotten on the way, so the table stays small."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.session() as s:
            s.execute(delete(SeenCallbackRow).where(SeenCallbackRow.seen_at < now - window))
            stmt = (
                insert(SeenCallbackRow)
                .values(key=key[:128], seen_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(SeenCallbackRow.key)
            )
            return s.execute(stmt).first() is not None

    def draft(self, channel: str, chat: str) -> ChatDraft | None:
        """The conversation in progress in a chat, if any."""
        with self.session() as s:
            row = s.get(ChatDraftRow, (channel, chat))
            return None if row is None else ChatDraft(row.kind, dict(row.data), row.updated_at)

    def put_draft(
        self, channel: str, chat: str, kind: str, data: dict[str, Any], *, now: dt.datetime
    ) -> None:
        """Start or advance a chat's conversation (one per chat: a new one replaces it)."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        values = {"channel": channel, "chat": chat, "kind": kind, "data": data, "updated_at": now}
        stmt = insert(ChatDraftRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "chat"],
            set_={"kind": kind, "data": data, "updated_at": now},
        )
        with self.session() as s:
            s.execute(stmt)

    def take_draft(self, channel: str, chat: str, kind: str | None = None) -> ChatDraft | None:
        """End a chat's conversation (of `kind`, when given) and return it: of two messages
        ending it at once, only one gets it."""
        stmt = delete(ChatDraftRow).where(
            ChatDraftRow.channel == channel, ChatDraftRow.chat == chat
        )
        if kind is not None:
            stmt = stmt.where(ChatDraftRow.kind == kind)
        with self.session() as s:
            row = s.execute(
                stmt.returning(ChatDraftRow.kind, ChatDraftRow.data, ChatDraftRow.updated_at)
            ).first()
            return None if row is None else ChatDraft(str(row[0]), dict(row[1]), row[2])
