"""A copy of an uploaded counting sheet with the bad cells in red and a 错误说明 column saying why.

openpyxl loads the whole workbook to keep its formatting (about ten times its XML in memory), so
:func:`marked_copy` makes a copy only of an upload of at most ``COPY_MAX_SOURCE`` bytes of XML and
keeps it only when it is at most ``COPY_MAX_STORED`` bytes; larger refused sheets have their errors
listed without a copy. Call it off the event loop.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.styles import Alignment, Font, PatternFill

from importers.archive_guard import uncompressed_size
from importers.columns import HEADER_SEARCH_ROWS, find_header, normalise_label, sheets_in_order
from importers.count_sheet import NO_HEADER, NOT_XLSX, RowError, SheetUnreadable

COPY_MAX_SOURCE = 8 * 1024 * 1024  # uncompressed bytes of an upload loaded in full for a copy (~10,000 rows)
COPY_MAX_STORED = 2 * 1024 * 1024  # bytes of a copy kept with a refused upload
ERROR_COLUMN = "错误说明"
ERROR_RGB = "FFFFC7CE"
ERROR_FILL = PatternFill("solid", fgColor=ERROR_RGB)
_RED = Font(color="FF9C0006")
_WRAP = Alignment(wrap_text=True, vertical="top")


def marked_copy(original: bytes, errors: Sequence[RowError], *, omitted: int = 0) -> bytes | None:
    """The marked-up copy of a refused upload, or ``None`` when the upload or its copy is too large to keep.

    ``omitted`` errors beyond those given are mentioned in the 错误说明 header. An upload that cannot
    be read has no copy either.
    """
    try:
        if uncompressed_size(original) > COPY_MAX_SOURCE:
            return None
        copy = write_error_copy(original, errors, omitted=omitted)
    except Exception:  # an unreadable upload has nothing to mark up; its errors are listed all the same
        return None
    return copy if len(copy) <= COPY_MAX_STORED else None


def write_error_copy(original: bytes, errors: Sequence[RowError], *, sheet_name: str | None = None,
                     omitted: int = 0) -> bytes:
    """The uploaded workbook with a 错误说明 column filled for bad rows and the bad cells filled red."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(original), keep_links=False)
    except Exception as exc:  # the same refusal the parser gives, whatever openpyxl raised
        raise SheetUnreadable(NOT_XLSX) from exc
    sheet, header_row = _table(workbook, sheet_name)
    column = _error_column(sheet, header_row)
    by_row: defaultdict[int, list[RowError]] = defaultdict(list)
    for error in errors:
        by_row[error.row].append(error)
    sheet_level = [error.message for error in by_row.pop(header_row, [])]
    if omitted:
        sheet_level.append(f"另有 {omitted:,} 处错误未标出（只标出前 {len(errors):,} 处）")
    label = sheet.cell(header_row, column)
    _set_text(label, ERROR_COLUMN + (f"：{'；'.join(sheet_level)}" if sheet_level else ""))
    label.font = Font(bold=True, color="FF9C0006")
    if sheet_level:
        label.fill = ERROR_FILL
    for row, row_errors in by_row.items():
        note = sheet.cell(row, column)
        _set_text(note, "；".join(error.message for error in row_errors))
        note.font = _RED
        note.alignment = _WRAP
        for error in row_errors:
            cell = sheet[f"{error.letter}{row}"] if error.letter else None
            if cell is not None and not isinstance(cell, MergedCell):
                cell.fill = ERROR_FILL
    sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].width = 48
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _set_text(cell: Any, text: str) -> None:
    """Text that stays text: a message quoting a value such as ``=1+1`` is never a formula."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"


def _table(workbook: Any, sheet_name: str | None) -> tuple[Any, int]:
    """The sheet holding the table and its header row number, found as the parser finds them."""
    sheets = [workbook[sheet_name]] if sheet_name is not None else sheets_in_order(workbook)
    partial: tuple[Any, int] | None = None
    for sheet in sheets:
        match = find_header(list(sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)))
        if match is not None and not match.missing:
            return sheet, match.index + 1
        if match is not None and partial is None:
            partial = (sheet, match.index + 1)
    if partial is None:
        raise SheetUnreadable(NO_HEADER)
    return partial


def _error_column(sheet: Any, header_row: int) -> int:
    """The 错误说明 column: the one a previous copy added (cleared, with its red cells), or a new last column."""
    for cell in sheet[header_row]:
        if isinstance(cell.value, str) and normalise_label(cell.value).startswith(ERROR_COLUMN):
            _clear(sheet, header_row, cell.column)
            return int(cell.column)
    return int(sheet.max_column) + 1


def _clear(sheet: Any, header_row: int, column: int) -> None:
    for (note,) in sheet.iter_rows(min_row=header_row + 1, min_col=column, max_col=column):
        if note.value is None:
            continue
        note.value = None
        for cell in sheet[note.row]:
            if cell.fill is not None and cell.fill.fgColor.rgb == ERROR_RGB:
                cell.fill = PatternFill()
