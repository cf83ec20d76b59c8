"""The rules of a quota with no I/O: a season's month-days, whether a season covers a day, the level of stock."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal

from inventory.errors import InvalidInput

Level = Literal["ok", "warning", "below"]
LEVELS: Final[tuple[Level, ...]] = ("below", "warning", "ok")
LEVEL_ZH: Final = {"below": "低于定额", "warning": "接近定额", "ok": "达标"}
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 02-29 is a day of the season in leap years


def check_month_day(text: str, *, field: str) -> str:
    """``text`` if it is a day of the year written ``MM-DD`` (02-29 included); InvalidInput naming ``field``."""
    match = _MONTH_DAY.fullmatch(text)
    if match is not None:
        month, day = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]:
            return text
    raise InvalidInput(f"日期「{text}」不是一年中的某一天，请写成月-日，如 04-01（{field}）", field=field)


def month_day(day: dt.date) -> str:
    """The ``MM-DD`` of a date, as seasons are written."""
    return day.strftime("%m-%d")


def season_covers(start: str, end: str, day: dt.date) -> bool:
    """True when ``day`` lies in the season from ``start`` to ``end`` (both included; it may run over new year)."""
    md = month_day(day)
    if start <= end:
        return start <= md <= end
    return md >= start or md <= end


def minimum_in_force(minimum: int, season: tuple[str, str, int] | None, day: dt.date) -> int:
    """The minimum on ``day``: the season's (start, end, minimum) while it runs, else the ordinary one."""
    if season is not None and season_covers(season[0], season[1], day):
        return season[2]
    return minimum


def level(available: int, minimum: int, margin: int) -> Level:
    """``below`` under the minimum, ``warning`` within the margin above it, else ``ok``."""
    if available < minimum:
        return "below"
    if available < minimum + margin:
        return "warning"
    return "ok"
