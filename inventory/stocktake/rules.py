"""Rules of a stocktake with no I/O: how large a count may be, which differences need a reason or a second look."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from inventory.stock.documents import CHINA
from inventory.stock.schemas import MAX_QUANTITY

# A difference larger than FAR_FACTOR times the book and than FAR_UNITS units is most likely a typing slip
# (a count typed twice over, digits repeated): the variance flags it for the approver.
FAR_FACTOR = 10
FAR_UNITS = 100
TOO_LARGE = f"实盘数量超过上限 {MAX_QUANTITY:,}（与出入库数量的上限相同），请核对是否多输了数字"


def count_too_large(counted: int) -> bool:
    """A count no movement could post: bounded like a movement's quantity."""
    return counted > MAX_QUANTITY


def whole_number(value: int | Decimal | None) -> int | None:
    """A count as a whole number; ``None`` for a blank, and for a number that is not whole."""
    if value is None or isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else None


def far_beyond_book(book: int | None, difference: int | None) -> bool:
    """The difference is more than ten times the book and more than 100 units."""
    if book is None or difference is None:
        return False
    return abs(difference) > FAR_FACTOR * book and abs(difference) > FAR_UNITS


def needs_reason(difference: int | None, reason: str) -> bool:
    """A line with a difference and no 差异原因: approval waits for one."""
    return bool(difference) and not reason.strip()


def beijing_date(moment: dt.datetime) -> dt.date:
    """The calendar date in 北京时间 (as voucher numbers carry it), of an aware moment."""
    return moment.astimezone(CHINA).date()
