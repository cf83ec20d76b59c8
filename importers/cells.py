"""Cell normalisation for hand-filled sheets: text, codes, quantities and dates as people type them.

Each parser takes the raw value openpyxl gives (``str``, ``int``, ``float``, ``datetime``, ``None``…)
and either returns a clean Python value or raises :class:`CellError` whose message (Chinese)
says what is wrong with the cell; the caller adds the row and column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

# Characters people leave around values that str.strip() does not remove on its own.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_SPACES = re.compile(r"\s+")
# Thousands separators must group by three ("1,200", "12,345.5"); "1,2" is refused, not guessed.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_YMD = re.compile(
    r"(\d{4})\s*(?:[年/.\-])\s*(\d{1,2})\s*(?:[月/.\-])\s*(\d{1,2})\s*日?"
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{5}(?:\.0+)?")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})

# Excel serials accepted as dates: 1950-01-01 … 2099-12-31 (a bare 2025 is a year, not a date).
FIRST_SERIAL = 18264
LAST_SERIAL = 73050
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


class CellError(ValueError):
    """A cell value that cannot be used; ``str(error)`` is the Chinese reason."""


def shown(value: object) -> str:
    """The value as a person would see it in an error message."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def clean_text(value: object) -> str | None:
    """Text with surrounding spaces (incl. full-width) removed; empty becomes ``None``."""
    if value is None:
        return None
    if type(value) is str:
        text = value.strip()
        if text and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
            text = text.strip(_INVISIBLE).strip()
        return text or None
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return shown(value).strip() or None


def clean_code(value: object) -> str | None:
    """A code (item code, lot, serial, label): cleaned text, NFKC-normalised (ＷＺ－００１ → WZ-001)."""
    text = clean_text(value)
    if text is None or text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).strip() or None


def parse_quantity(value: object, *, allow_negative: bool = False) -> int | Decimal | None:
    """A quantity as ``int``, or ``Decimal`` when it has a fractional part; empty gives ``None``."""
    if value is None:
        return None
    number: int | Decimal | None
    if type(value) is int:
        number = value
    elif type(value) is float:
        number = _from_float(value)
    elif type(value) is str:
        number = _from_text(value)
        if number is None:
            return None
    elif isinstance(value, Decimal):
        number = _integral(value)
    else:
        raise CellError(f"「{shown(value)}」不是数字")
    if number < 0 and not allow_negative:
        raise CellError(f"「{shown(value)}」是负数，数量不能小于 0")
    return number


def _from_float(value: float) -> int | Decimal:
    if not math.isfinite(value):
        raise CellError(f"「{value}」不是有效的数字")
    if value.is_integer():
        return int(value)
    return Decimal(repr(value))


def _from_text(value: str) -> int | Decimal | None:
    text = value.strip().strip(_INVISIBLE)
    if not text:
        return None
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_MINUS)
    text = _SPACES.sub("", text)
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN.fullmatch(text):
        raise CellError(f"「{value.strip()}」不是数字")
    try:
        return _integral(Decimal(text))
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit only valid numbers
        raise CellError(f"「{value.strip()}」不是数字") from exc


def _integral(number: Decimal) -> int | Decimal:
    if number == number.to_integral_value():
        return int(number)
    return number.normalize()


def parse_date(value: object, epoch: dt.datetime = EXCEL_EPOCH) -> dt.date | None:
    """A date from a date cell, an Excel serial number or text such as 2025/3/1 or 2025年3月1日."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(value, epoch)
    if type(value) is not str:
        raise CellError(f"「{shown(value)}」不是日期")
    text = unicodedata.normalize("NFKC", value).strip().strip(_INVISIBLE).strip()
    if not text:
        return None
    if (match := _YMD.fullmatch(text)) or (match := _COMPACT.fullmatch(text)):
        year, month, day = match.groups()
    elif _SERIAL.fullmatch(text):
        return _from_serial(float(text), epoch)
    else:
        raise CellError(f"「{value.strip()}」不是可识别的日期，请写成 2025-03-01 或 2025年3月1日")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise CellError(f"「{value.strip()}」不是存在的日期") from exc


def _from_serial(serial: float, epoch: dt.datetime) -> dt.date:
    if not FIRST_SERIAL <= serial <= LAST_SERIAL:
        raise CellError(f"「{shown(serial)}」不是日期（日期序号应在 1950 年至 2099 年之间）")
    return (epoch + dt.timedelta(days=int(serial))).date()
