"""The one place that reads the clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """The current instant, in UTC."""
    return dt.datetime.now(tz=dt.UTC)


def today() -> dt.date:
    """Today's date in Asia/Shanghai, the date every user sees."""
    return now().astimezone(SHANGHAI).date()
