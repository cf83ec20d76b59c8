"""The Excel edge of stocktakes: sheets read and workbooks written by ``importers``, in worker threads.

The domain (:mod:`inventory.stocktake`) never sees a workbook: the controllers and the CLI come here to
read an upload into a :class:`~inventory.stocktake.schemas.CountedSheet`, to write the counting sheet and
the variance report the domain returns as typed rows, and to mark up a copy of a refused upload. Every
step whose cost grows with the sheet runs in a worker thread; an upload's archive is checked
(:func:`importers.archive_guard.check_archive`) before openpyxl reads any of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from importers.count_sheet import ParsedSheet, RowError, parse_count_sheet
from importers.error_copy import marked_copy
from importers.sheet_writer import SheetHeader, SheetRow, VarianceLine, write_count_sheet, write_variance
from inventory.stocktake.schemas import (
    CountedRow,
    CountedSheet,
    CountingSheet,
    SheetHeading,
    SheetProblem,
    VarianceSheet,
)
from inventory.stocktake.uploads import keep_error_copy
from inventory.store.db import Database
from inventory.store.models import StocktakeUpload


@dataclass(frozen=True)
class UploadedSheet:
    """An uploaded sheet: its rows for the domain, the letters of its columns, and the file as it came."""

    sheet: CountedSheet
    letters: dict[str, str]  # column header (canonical, and as written where a cell was bad) → letter
    original: bytes


def parse_upload(original: bytes, *, progress: Callable[[int], None] | None = None) -> UploadedSheet:
    """Check the archive, parse the sheet and hand over its rows (blocking: call it in a worker thread).

    Raises :class:`importers.count_sheet.SheetUnreadable` (or its ``SheetTooLarge``) as the parser does.
    """
    parsed = parse_count_sheet(original, progress=progress)
    return UploadedSheet(counted_sheet(parsed), column_letters(parsed), original)


async def read_upload(original: bytes, *, progress: Callable[[int], None] | None = None) -> UploadedSheet:
    """:func:`parse_upload` in a worker thread."""
    return await asyncio.to_thread(parse_upload, original, progress=progress)


def counted_sheet(parsed: ParsedSheet) -> CountedSheet:
    """The rows of a parsed counting sheet as the domain takes them."""
    return CountedSheet(
        header_row=parsed.header_row,
        rows=[CountedRow(row=r.row, item_code=r.item_code, counted=r.counted, book_quantity=r.book_quantity,
                         lot_number=r.lot_number, production_date=r.production_date, expiry_date=r.expiry_date,
                         place=r.place, serial_number=r.serial_number, label_code=r.label_code, reason=r.reason,
                         counted_by=r.counted_by) for r in parsed.rows],
        problems=[_problem(e) for e in parsed.errors],
        book_problems=[_problem(e) for e in parsed.book_errors],
        problems_omitted=parsed.errors_omitted,
        number=parsed.stocktake_id,
        counted_by=parsed.header.get("盘点人"),
        supervised_by=parsed.header.get("监盘人"),
    )


def _problem(error: RowError) -> SheetProblem:
    return SheetProblem(row=error.row, column=error.column, value=error.value, message=error.message)


def column_letters(parsed: ParsedSheet) -> dict[str, str]:
    """Column header (canonical, and as written where the parser saw it) → letter, to mark the bad cells."""
    return {**parsed.columns, **{e.column: e.letter for e in [*parsed.errors, *parsed.book_errors] if e.letter}}


def error_cells(upload: StocktakeUpload, letters: dict[str, str]) -> list[RowError]:
    """The stored errors of a refused upload as the cells to mark in its copy."""
    return [RowError(row=int(str(e["row"])), column=str(e["column"]), value=e["value"], message=str(e["message"]),
                     letter=letters.get(str(e["column"]), "")) for e in upload.errors.get("errors", [])]


async def attach_error_copy(db: Database, upload: StocktakeUpload, sheet: UploadedSheet) -> bytes | None:
    """Mark up a copy of a refused upload in a worker thread, then keep it in a short write of its own.

    Call it after the import's transaction. Returns the copy (also set on ``upload``), or ``None`` when
    the sheet is too large for one.
    """
    listed = error_cells(upload, sheet.letters)
    omitted = int(upload.errors.get("total", len(listed))) - len(listed)
    copy = await asyncio.to_thread(marked_copy, sheet.original, listed, omitted=omitted)
    if copy is not None:
        async with db.write() as session:
            await keep_error_copy(session, upload.id, copy)
    upload.error_copy = copy
    return copy


def _header(heading: SheetHeading) -> SheetHeader:
    return SheetHeader(place=heading.place, stocktake_id=heading.number, count_date=heading.count_date,
                       counter=heading.counted_by, supervisor=heading.supervised_by)


def write_counting_sheet(sheet: CountingSheet) -> bytes:
    """The counting sheet (.xlsx) of these lines (blocking: call it in a worker thread)."""
    return write_count_sheet(_header(sheet.heading), (
        SheetRow(item_code=ln.item_code, book_quantity=ln.book_quantity, name=ln.name, spec=ln.spec, unit=ln.unit,
                 lot_number=ln.lot_number, production_date=ln.production_date, expiry_date=ln.expiry_date,
                 place=ln.place, serial_number=ln.serial_number, label_code=ln.label_code)
        for ln in sheet.lines))


def write_variance_sheet(sheet: VarianceSheet) -> bytes:
    """The variance report (.xlsx) of these lines (blocking: call it in a worker thread)."""
    return write_variance(_header(sheet.heading), (
        VarianceLine(item_code=r.item_code, book_quantity=r.book, counted=r.counted, name=r.item_name, spec=r.spec,
                     unit=r.unit, lot_number=r.lot_number or "", place=r.location_name,
                     serial_number=r.serial_number or "", reason=r.reason, needs_reason=r.needs_reason,
                     far_beyond_book=r.far_beyond_book)
        for r in sheet.lines))


async def counting_workbook(sheet: CountingSheet) -> bytes:
    """:func:`write_counting_sheet` in a worker thread."""
    return await asyncio.to_thread(write_counting_sheet, sheet)


async def variance_workbook(sheet: VarianceSheet) -> bytes:
    """:func:`write_variance_sheet` in a worker thread."""
    return await asyncio.to_thread(write_variance_sheet, sheet)
