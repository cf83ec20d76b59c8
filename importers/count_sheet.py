"""Parse a quarterly counting sheet (盘点表) into typed rows and row-level errors, streaming the workbook.

The sheet may come from Excel, WPS or LibreOffice and is filled by hand: the table is found by its
column names (with aliases) in the first 20 rows, the labelled values above it become the header,
blank, subtotal (合计/小计/总计) and signature rows are skipped, and every bad cell becomes a
:class:`RowError` in Chinese. A row with any error is left out of ``rows``.

Cell values are read with calamine where the file allows (:mod:`importers.calamine_read` says where, and why
not elsewhere) and with openpyxl's read-only reader otherwise; both give the same values, so the same rows and
errors. The archive guard runs first, whichever reader follows.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar
from xml.etree.ElementTree import ParseError

import msgspec
import openpyxl
from openpyxl.utils import get_column_letter

from importers.archive_guard import MAX_ROWS, NOT_XLSX, SheetTooLarge, SheetUnreadable, check_archive
from importers.calamine_read import CalamineFailed, open_book
from importers.columns import (
    COLUMN_ALIASES,
    HEADER_SEARCH_ROWS,
    HeaderMatch,
    find_header,
    read_header_block,
    sheets_in_order,
)
from importers.count_rows import CountRow, Quantity, RowError, RowReader

__all__ = [
    "MAX_ERRORS", "NOT_XLSX", "CountRow", "ParsedSheet", "Quantity", "Reader", "RowError", "SheetTooLarge",
    "SheetUnreadable", "parse_count_sheet",
]
PROGRESS_EVERY = 1000
MAX_ERRORS = 1000  # errors listed; the rest are only counted (``ParsedSheet.errors_omitted``)

OLD_OR_ENCRYPTED = (
    "文件是旧版 Excel 97-2003 (.xls) 格式或设置了打开密码，请取消密码并“另存为” .xlsx 格式后再上传"
)
EMPTY_FILE = "文件是空的"
NO_HEADER = (
    f"没有找到盘点表的表头：前 {HEADER_SEARCH_ROWS} 行中没有一行写着以下列名中的至少两个："
    + "、".join(f"「{name}」" for name in COLUMN_ALIASES)
    + "（其中「物资编号」和「实盘数量」两列必须有）"
)
DAMAGED = "文件已损坏，无法读取表格内容，请在 Excel 或 WPS 中打开后重新保存再上传"
# What openpyxl and zipfile raise on a workbook whose parts are truncated or not well-formed XML.
_DAMAGE = (zipfile.BadZipFile, ParseError, zlib.error, EOFError, IndexError, KeyError)


_T = TypeVar("_T")
# Which reader parses the cells: calamine where the file allows (the default), or one of them for tests and benchmarks
# ("calamine" raises CalamineFailed where the file does not allow it, instead of falling back to openpyxl).
Reader = Literal["auto", "calamine", "openpyxl"]


def read_uploaded_workbook(source: bytes, parse: Callable[[Any], _T]) -> _T:
    """Open an uploaded ``.xlsx`` safely and hand the workbook to ``parse`` (blocking: run it in a worker thread).

    Empty files, old ``.xls`` or password-protected files and anything not an ``.xlsx`` are
    :class:`SheetUnreadable` with a Chinese reason; the archive is checked (:func:`check_archive`) before openpyxl
    reads any of it; whatever openpyxl raises on damaged parts becomes :data:`DAMAGED`. The workbook is closed.
    This one stays openpyxl (not calamine, as :func:`parse_count_sheet`): the quota and risk-point parsers it
    serves use openpyxl's worksheet objects, and their sheets are small.
    """
    if not source:
        raise SheetUnreadable(EMPTY_FILE)
    if source.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetUnreadable(OLD_OR_ENCRYPTED)
    if not source.startswith(b"PK\x03\x04"):
        raise SheetUnreadable(NOT_XLSX)
    stream = io.BytesIO(source)
    check_archive(stream)
    stream.seek(0)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises anything from KeyError to TypeError on a foreign zip
        raise SheetUnreadable(NOT_XLSX) from exc
    try:
        return parse(workbook)
    except SheetUnreadable:
        raise
    except Exception as exc:  # truncated parts, XML that is not well-formed
        raise SheetUnreadable(DAMAGED) from exc
    finally:
        workbook.close()


class ParsedSheet(msgspec.Struct, kw_only=True):
    """A parsed counting sheet: header block, columns found (name → letter), clean rows and errors."""

    sheet_name: str
    header_row: int
    header: dict[str, str]
    columns: dict[str, str]
    rows: list[CountRow]
    errors: list[RowError]
    # 账面数量 cells that could not be read: not errors of a count (the book comes from the snapshot)
    book_errors: list[RowError] = []
    # errors found beyond the first MAX_ERRORS (listed in ``errors``), counted only
    errors_omitted: int = 0

    @property
    def stocktake_id(self) -> str | None:
        """The 盘点单号 written in the header block, if any."""
        return self.header.get("盘点单号")

    @property
    def not_counted(self) -> list[CountRow]:
        """Rows whose count cell was left empty."""
        return [row for row in self.rows if row.counted is None]


def parse_count_sheet(
    source: bytes | BinaryIO | str | Path, *, progress: Callable[[int], None] | None = None, reader: Reader = "auto",
) -> ParsedSheet:
    """Read a counting sheet; ``progress`` gets the number of sheet rows read, every 1,000 rows and at the end.

    The archive is checked first (:func:`importers.archive_guard.check_archive`): a workbook that would
    cost more than a counting sheet may is :class:`SheetTooLarge`, before calamine or openpyxl reads any of it.
    Then calamine reads the cells where the file allows (:mod:`importers.calamine_read`), openpyxl elsewhere;
    ``reader`` forces one of them (see :data:`Reader`).
    """
    stream = _checked(source)
    start = stream.tell()
    if reader != "openpyxl":
        try:
            book = open_book(stream)
        except CalamineFailed:
            if reader == "calamine":
                raise
        else:
            try:
                return _parse_workbook(book, progress)
            except CalamineFailed:  # a sheet is checked and loaded whole before its first row is handed over
                if reader == "calamine":
                    raise
            finally:
                book.close()
        stream.seek(start)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises anything from KeyError to TypeError on a foreign zip
        raise SheetUnreadable(NOT_XLSX) from exc
    try:
        return _parse_workbook(workbook, progress)
    finally:
        workbook.close()


def _parse_workbook(workbook: Any, progress: Callable[[int], None] | None) -> ParsedSheet:
    try:
        sheet, head, match, rest = _locate(workbook)
        try:
            return _parse(sheet.title, head, match, rest, workbook.epoch, progress)
        finally:
            rest.close()
    except _DAMAGE as exc:
        raise SheetUnreadable(DAMAGED) from exc


def _checked(source: bytes | BinaryIO | str | Path) -> Any:
    """The source as a seekable stream at the start of an archive that passed the archive guard."""
    if isinstance(source, bytes | bytearray | memoryview):
        stream: Any = io.BytesIO(source)
    elif isinstance(source, str | Path):
        stream = io.BytesIO(Path(source).read_bytes())
    else:
        stream = source if source.seekable() else io.BytesIO(source.read())
    start = stream.tell()
    _check_signature(stream.read(8))
    stream.seek(start)
    check_archive(stream)
    return stream


def _check_signature(head: bytes) -> None:
    if not head:
        raise SheetUnreadable(EMPTY_FILE)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetUnreadable(OLD_OR_ENCRYPTED)
    if not head.startswith(b"PK\x03\x04"):
        raise SheetUnreadable(NOT_XLSX)


def _locate(workbook: Any) -> tuple[Any, list[tuple[object, ...]], HeaderMatch, Any]:
    """The sheet holding the table (active sheet first), its first rows, its header and the rows after."""
    fallback = None
    for sheet in sheets_in_order(workbook):
        sheet.reset_dimensions()  # a wrong <dimension> in the file must not cut rows off
        rest = sheet.iter_rows(values_only=True)
        head = list(islice(rest, HEADER_SEARCH_ROWS))
        match = find_header(head)
        if match is not None and not match.missing:
            if fallback is not None:
                fallback[3].close()
            return sheet, head, match, rest
        if match is not None and fallback is None:
            fallback = (sheet, head, match, rest)
        else:
            rest.close()
    if fallback is not None:
        return fallback
    raise SheetUnreadable(NO_HEADER)


def _parse(
    title: str,
    head: list[tuple[object, ...]],
    match: HeaderMatch,
    rest: Iterator[tuple[object, ...]],
    epoch: dt.datetime,
    progress: Callable[[int], None] | None,
) -> ParsedSheet:
    header_row = match.index + 1
    parsed = ParsedSheet(
        sheet_name=title,
        header_row=header_row,
        header=read_header_block(head[: match.index]),
        columns={name: get_column_letter(column.index + 1) for name, column in match.columns.items()},
        rows=[],
        errors=[],
    )
    if match.missing:
        for name in match.missing:
            aliases = "、".join(COLUMN_ALIASES[name])
            parsed.errors.append(RowError(
                row=header_row, column=name, value=None,
                message=f"表头缺少必需的列「{name}」（也可写作：{aliases}）",
            ))
        return parsed
    reader = RowReader(match.columns, epoch)
    number = header_row
    for number, values in enumerate(chain(head[header_row:], rest), start=header_row + 1):
        if number > MAX_ROWS:  # the archive check counted the rows already; this holds whatever it missed
            raise SheetTooLarge(f"工作表「{title}」超过 {MAX_ROWS:,} 行，超过一张盘点表的上限；"
                                "请删除表格末尾多余的行后再上传", part=title, limit=MAX_ROWS)
        reader.read(number, values, parsed.rows, parsed.errors)
        if len(parsed.errors) > MAX_ERRORS:
            parsed.errors_omitted += len(parsed.errors) - MAX_ERRORS
            del parsed.errors[MAX_ERRORS:]
        if len(reader.book_errors) > MAX_ERRORS:
            del reader.book_errors[MAX_ERRORS:]
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)
    if progress is not None:
        progress(number)
    parsed.book_errors = reader.book_errors
    return parsed
