"""One row of a counting sheet: its typed line (CountRow) or what is wrong with it (RowError).

账面数量 and 差异 are not the counter's input: the book comes from the snapshot and the difference is
computed by the importer. A cell of theirs that cannot be read (差异 showing ``#VALUE!`` because the
count was typed as text, a book quantity retyped by hand) leaves the value out and never makes the
row an error; an unreadable 账面数量 is kept apart in ``book_errors`` for the opening-balance import,
where the book is the input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

import msgspec
from openpyxl.utils import get_column_letter

from importers.cells import CellError, clean_code, clean_text, parse_date, parse_quantity
from importers.columns import Column

Quantity = int | Decimal
_SUBTOTALS = ("合计", "小计", "总计")

# Canonical column → CountRow attribute and how its cells are read.
_FIELDS: dict[str, tuple[str, str]] = {
    "序号": ("seq", "seq"),
    "物资编号": ("item_code", "code"),
    "物资名称": ("name", "text"),
    "规格型号": ("spec", "text"),
    "计量单位": ("unit", "text"),
    "批号": ("lot_number", "code"),
    "生产日期": ("production_date", "date"),
    "有效期": ("expiry_date", "date"),
    "存放位置": ("place", "text"),
    "序列号": ("serial_number", "code"),
    "标签编码": ("label_code", "code"),
    "账面数量": ("book_quantity", "quantity"),
    "实盘数量": ("counted", "quantity"),
    "差异": ("difference", "signed"),
    "差异原因": ("reason", "text"),
    "备注": ("note", "text"),
    "盘点人": ("counted_by", "text"),
}
_DERIVED = frozenset({"book_quantity", "difference"})


class CountRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One counted line of the sheet; ``counted`` is ``None`` when the count cell was left empty."""

    row: int
    seq: int | None = None
    item_code: str
    name: str | None = None
    spec: str | None = None
    unit: str | None = None
    lot_number: str | None = None
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    place: str | None = None
    book_quantity: Quantity | None = None
    counted: Quantity | None = None
    difference: Quantity | None = None
    reason: str | None = None
    note: str | None = None
    serial_number: str | None = None
    label_code: str | None = None
    counted_by: str | None = None


class RowError(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What is wrong with one cell (or with the sheet, on the header row), in Chinese."""

    row: int
    column: str
    value: object
    message: str
    letter: str = ""


class RowReader:
    """Turns one row of values into a CountRow or RowErrors, remembering keys seen for duplicates."""

    def __init__(self, columns: dict[str, Column], epoch: dt.datetime) -> None:
        readers: dict[str, Callable[[object], object]] = {
            "seq": _seq,
            "code": clean_code,
            "text": clean_text,
            "quantity": parse_quantity,
            "signed": partial(parse_quantity, allow_negative=True),
            "date": partial(parse_date, epoch=epoch),
        }
        self.plan = [
            (_FIELDS[name][0], column.index, readers[_FIELDS[name][1]], column)
            for name, column in columns.items()
        ]
        self.width = max(column.index for column in columns.values()) + 1
        self.code = columns["物资编号"]
        self.header_texts = {self.code.written, clean_code(self.code.written)}
        self.identity = [columns[name].index for name in ("物资名称", "实盘数量", "账面数量") if name in columns]
        self.seen: dict[tuple[str, str, str, str], int] = {}
        self.book_errors: list[RowError] = []

    def read(self, number: int, values: Sequence[object], rows: list[CountRow], errors: list[RowError]) -> None:
        """Append the row to ``rows``, or what is wrong with it to ``errors``; skip blank and subtotal rows."""
        if len(values) < self.width:
            values = (*values, *([None] * (self.width - len(values))))
        fields: dict[str, Any] = {}
        problems: list[RowError] = []
        for attribute, index, reader, column in self.plan:
            raw = values[index]
            if raw is None:
                continue
            try:
                value = reader(raw)
            except CellError as exc:
                if attribute not in _DERIVED:
                    problems.append(_error(number, column, raw, str(exc)))
                elif attribute == "book_quantity":
                    self.book_errors.append(_error(number, column, raw, str(exc)))
                continue
            if value is not None:
                fields[attribute] = value
        if not fields and not problems:
            return  # blank, or text only in columns this parser does not read
        code = fields.get("item_code")
        if code in self.header_texts:
            return  # the header repeated (pages pasted one under another)
        if code is None or code.startswith(_SUBTOTALS):
            if _is_subtotal(values) or all(clean_text(values[i]) is None for i in self.identity):
                return
            problems.append(_error(number, self.code, None, "物资编号为空，请填写物资编号（合计、小计行可以删除）"))
        if problems or code is None:
            errors.extend(problems)
            return
        # One lot kept in two bins is two lines: the place is part of what makes a row the same row.
        key: tuple[str, str, str, str] = (
            code, fields.get("lot_number") or "", fields.get("serial_number") or fields.get("label_code") or "",
            fields.get("place") or "",
        )
        first = self.seen.setdefault(key, number)
        if first != number:
            errors.append(_error(number, self.code, code, f"与第 {first} 行重复（{_describe(key)}）"))
            return
        rows.append(CountRow(row=number, **fields))


def _error(number: int, column: Column, raw: object, reason: str) -> RowError:
    return RowError(
        row=number,
        column=column.written,
        value=raw,
        message=f"{column.written}：{reason}",
        letter=get_column_letter(column.index + 1),
    )


def _is_subtotal(values: Sequence[object]) -> bool:
    return any(
        type(value) is str and value.lstrip()[:1] in "合小总" and "".join(value.split()).startswith(_SUBTOTALS)
        for value in values
    )


def _describe(key: tuple[str, str, str, str]) -> str:
    code, lot, identity, place = key
    parts = [f"物资编号 {code}"]
    if lot:
        parts.append(f"批号 {lot}")
    if identity:
        parts.append(f"序列号/标签 {identity}")
    if place:
        parts.append(f"存放位置 {place}")
    return "、".join(parts)


def _seq(value: object) -> int | None:
    try:
        number = parse_quantity(value)
    except CellError:
        return None
    return number if type(number) is int else None
