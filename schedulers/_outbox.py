"""The outbox protocol's values: where a queued message stands, and a row claimed for sending.

Every message to subscribers is an outbox row; a dispatcher claims due rows under a lease,
sends them and settles each in one of the ends below. Pure: the store keeps the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class RowStatus(StrEnum):
    """Where an outbox row stands: pending -> sending -> one of the ends."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher (claimed_by), under a lease
    SENT = "sent"
    FAILED = "failed"  # the subscriber cannot be reached (blocked, left): it was deactivated
    DROPPED = "dropped"  # no longer worth sending (its round closed or is gone)
    DEAD = "dead"  # given up after the last attempt, or refused by the platform; the log says why
    UNCERTAIN = "uncertain"  # the platform may have it: the request went out, no answer came


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row claimed for sending, with its subscriber's channel and address."""

    id: int
    subscriber_id: int
    channel: str
    address: str
    round_key: str
    round_version: int
    kind: str
    due_at: dt.datetime
    attempts: int
