"""msgspec structs for stocktakes (盘点): requests and answers, and the typed rows of the sheets in and out.

The domain never sees a workbook: the Excel layer reads a filled-in counting sheet into a
:class:`CountedSheet` and writes the :class:`CountingSheet` and :class:`VarianceSheet` the domain returns.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import msgspec

from inventory.schemas import Id, Strict


class StocktakeCreate(Strict):
    """Start a stocktake of a location (its bins included) for a period such as 2026Q4."""

    location_id: Id
    period: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}(Q[1-4]|-[0-9]{2}|H[12])?$")]
    counted_by: Annotated[str, msgspec.Meta(max_length=64)] = ""
    supervised_by: Annotated[str, msgspec.Meta(max_length=64)] = ""


class StocktakeRead(msgspec.Struct):
    """A stocktake and where it stands."""

    id: int
    number: str
    location_id: int
    period: str
    status: str
    counted_by: str
    supervised_by: str
    created_by: str
    created_at: dt.datetime
    lines: int
    imported_by: str | None
    imported_at: dt.datetime | None
    approved_by: str | None
    approved_at: dt.datetime | None
    adjustment_document_id: int | None


class ImportError_(msgspec.Struct):
    """One problem in an uploaded sheet: row, column header, the value, and what is wrong (Chinese)."""

    row: int
    column: str
    value: str
    message: str


class ImportResult(msgspec.Struct):
    """What an accepted upload did."""

    upload_id: int
    rows: int
    counted: int
    not_counted: int
    stocktake: StocktakeRead | None = None
    document_id: int | None = None


class VarianceRow(msgspec.Struct):
    """Book (at the snapshot and at the count), counted, difference and reason of one line.

    ``needs_reason``: a difference without a 差异原因 (approval waits for one); ``far_beyond_book``: a
    difference of more than ten times the book and more than 100 units, to be checked (it needs a reason too).
    """

    line_id: int
    location_id: int
    location_name: str
    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    lot_number: str | None
    serial_number: str | None
    book_at_snapshot: int
    book_at_count: int | None
    counted: int | None
    difference: int | None
    reason: str
    spec: str = ""
    sheet_row: int | None = None
    needs_reason: bool = False
    far_beyond_book: bool = False

    @property
    def book(self) -> int:
        """The book the report shows: at the count, or at the snapshot for a line not yet counted."""
        return self.book_at_count if self.book_at_count is not None else self.book_at_snapshot


class Variance(msgspec.Struct):
    """The variance report: every line, lines not counted listed apart, totals."""

    stocktake: StocktakeRead
    lines: list[VarianceRow]
    not_counted: list[VarianceRow]
    gain: int
    loss: int
    lines_with_difference: int
    rule: str
    missing_reasons: int = 0
    far_beyond_book: int = 0


class CountedRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One row of a filled-in counting sheet as it was read; ``row`` is its number on the sheet.

    ``counted`` is ``None`` when the count was left blank; ``book_quantity`` (账面数量) is input only
    for opening balances, and the reading keeps a number that is not whole for the domain to refuse.
    """

    row: int
    item_code: str
    counted: int | Decimal | None = None
    book_quantity: int | Decimal | None = None
    lot_number: str | None = None
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    place: str | None = None
    serial_number: str | None = None
    label_code: str | None = None
    reason: str | None = None
    counted_by: str | None = None


class SheetProblem(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A cell that could not be read (or a problem of the whole sheet, on its header row), in Chinese."""

    row: int
    column: str
    value: object
    message: str


class CountedSheet(msgspec.Struct, kw_only=True):
    """A filled-in counting sheet: its rows, the cells that could not be read, and what its header block says.

    A row with a problem is not in ``rows``. ``book_problems`` are unreadable 账面数量 cells, not problems of a
    count (the book comes from the snapshot) but of an opening balance; ``problems_omitted`` counts problems
    beyond those listed. ``number``, ``counted_by`` and ``supervised_by`` are the header's 盘点单号, 盘点人 and 监盘人.
    """

    header_row: int
    rows: list[CountedRow]
    problems: list[SheetProblem]
    book_problems: list[SheetProblem] = []
    problems_omitted: int = 0
    number: str | None = None
    counted_by: str | None = None
    supervised_by: str | None = None

    @property
    def not_counted(self) -> int:
        """How many rows have their count left blank."""
        return sum(1 for row in self.rows if row.counted is None)


class SheetHeading(msgspec.Struct, frozen=True, kw_only=True):
    """What heads a printed counting sheet or variance report."""

    place: str
    number: str
    count_date: dt.date
    counted_by: str
    supervised_by: str


class SheetLine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One line of the counting sheet to print: a lot of an item (or its lot-less stock), or one asset (book 1)."""

    item_code: str
    book_quantity: int
    name: str
    spec: str
    unit: str
    place: str
    lot_number: str = ""
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    serial_number: str = ""
    label_code: str = ""


class CountingSheet(msgspec.Struct, kw_only=True):
    """The counting sheet of a stocktake: its heading and every line of the snapshot, in the sheet's order."""

    heading: SheetHeading
    lines: list[SheetLine]


class VarianceSheet(msgspec.Struct, kw_only=True):
    """The variance report to print: its heading, the counted lines, then those not counted."""

    heading: SheetHeading
    lines: list[VarianceRow]


class LineReason(Strict):
    """The 差异原因 of one stocktake line, entered by the approver."""

    line_id: Id
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ApproveRequest(Strict):
    """Approve a counted stocktake; ``reasons`` fill in the 差异原因 the sheet left blank."""

    reasons: Annotated[list[LineReason], msgspec.Meta(max_length=100_000)] = []
