"""The one place that reads the clock."""

from __future__ import annotations

import datetime as dt

from schedulers import local_date


def now() -> dt.datetime:
    """The current instant, in UTC."""
    return dt.datetime.now(tz=dt.UTC)


def today() -> dt.date:
    """Today's date in Asia/Shanghai, the date every user sees."""
    return local_date(now())
