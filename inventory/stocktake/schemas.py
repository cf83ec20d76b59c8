"""msgspec structs for stocktakes (盘点)."""

from __future__ import annotations

import datetime as dt
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


class LineReason(Strict):
    """The 差异原因 of one stocktake line, entered by the approver."""

    line_id: Id
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ApproveRequest(Strict):
    """Approve a counted stocktake; ``reasons`` fill in the 差异原因 the sheet left blank."""

    reasons: Annotated[list[LineReason], msgspec.Meta(max_length=100_000)] = []
