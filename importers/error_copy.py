"""A copy of an uploaded counting sheet with the bad cells in red and a 错误说明 column saying why."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Font, PatternFill

from importers.columns import HEADER_SEARCH_ROWS, find_header, normalise_label, sheets_in_order
from importers.count_sheet import NO_HEADER, NOT_XLSX, RowError, SheetUnreadable

ERROR_COLUMN = "错误说明"
ERROR_RGB = "FFFFC7CE"
ERROR_FILL = PatternFill("solid", fgColor=ERROR_RGB)
_RED = Font(color="FF9C0006")
_WRAP = Alignment(wrap_text=True, vertical="top")


def write_error_copy(original: bytes, errors: Sequence[RowError], *, sheet_name: str | None = None) -> bytes:
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
    label = sheet.cell(header_row, column)
    label.value = ERROR_COLUMN + (f"：{'；'.join(sheet_level)}" if sheet_level else "")
    label.font = Font(bold=True, color="FF9C0006")
    if sheet_level:
        label.fill = ERROR_FILL
    for row, row_errors in by_row.items():
        note = sheet.cell(row, column)
        note.value = "；".join(error.message for error in row_errors)
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
