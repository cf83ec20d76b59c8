"""Report periods (报表期间): a month or a year of Beijing time, and the instants that bound it.

A movement belongs to the period that contains its document's ``occurred_at`` (when it happened, which a
phone may backdate) read in Beijing time: the month of November 2026 is [2026-11-01 00:00, 2026-12-01 00:00)
北京时间, i.e. it starts at 2026-10-31 16:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import re

import msgspec

from inventory.clock import BEIJING, beijing_today
from inventory.errors import InvalidInput

EARLIEST, LATEST = 2000, 2999
_PERIOD = re.compile(r"(\d{4})(?:\s*(?:年|-|/|\.)?\s*(\d{1,2})\s*月?)?\s*年?")


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """A calendar month (``month`` 1–12) or a whole year (``month`` None), Beijing time."""

    year: int
    month: int | None = None

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period (北京时间, timezone-aware)."""
        return dt.datetime(self.year, self.month or 1, 1, tzinfo=BEIJING)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound)."""
        if self.month is None or self.month == 12:
            return dt.datetime(self.year + 1, 1, 1, tzinfo=BEIJING)
        return dt.datetime(self.year, self.month + 1, 1, tzinfo=BEIJING)

    @property
    def first_day(self) -> dt.date:
        """The period's first calendar day."""
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        """The period's last calendar day."""
        return self.end.date() - dt.timedelta(days=1)

    @property
    def code(self) -> str:
        """``2026-11`` or ``2026``: what a link or a query parameter carries."""
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"

    @property
    def label(self) -> str:
        """``2026年11月`` or ``2026年度``: what a title says."""
        return f"{self.year}年度" if self.month is None else f"{self.year}年{self.month}月"

    @property
    def span(self) -> str:
        """``2026-11-01 至 2026-11-30``: the days the period covers."""
        return f"{self.first_day:%Y-%m-%d} 至 {self.last_day:%Y-%m-%d}"


def parse_period(text: str, *, field: str = "period") -> Period:
    """``2026-11``, ``2026/11``, ``202611``, ``2026年11月`` (a month) or ``2026``, ``2026年`` (a year)."""
    value = text.strip()
    match = _PERIOD.fullmatch(value)
    if match is None:
        raise InvalidInput(f"报表期间 {value!r} 无法识别：月报填 2026-11，年报填 2026", field=field)
    year, month = int(match.group(1)), int(match.group(2)) if match.group(2) else None
    if not EARLIEST <= year <= LATEST:
        raise InvalidInput(f"报表期间的年份应在 {EARLIEST}–{LATEST} 之间，收到 {year}", field=field)
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput(f"报表期间的月份应为 1–12，收到 {month}", field=field)
    return Period(year=year, month=month)




def current_month(now: dt.datetime | None = None) -> Period:
    """The month it is now in Beijing."""
    today = beijing_today(now)
    return Period(year=today.year, month=today.month)


def months_from(first: dt.date, count: int) -> list[tuple[int, int]]:
    """(year, month) of ``count`` consecutive months starting with the month of ``first``."""
    return [(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1) for i in range(count)]
