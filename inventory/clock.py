"""Beijing time (北京时间, UTC+8, no daylight saving): the clock people here read dates by.

The database keeps UTC; a due date, an expiry, a lease's days or an agreement's validity are days in Beijing.
"""

from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")


def beijing_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Beijing (of ``now``, an aware time, when given)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(BEIJING).date()
