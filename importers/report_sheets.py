"""Write the reports people print and sign as .xlsx: 收发存报表, 台账 and 库存分布 (stock by county).

The rows come in as the plain structs below (the API converts the domain's reports into them): no database
and no web framework here. Each sheet is laid out the way a bureau files it: a title row, 填报单位 / 报表期间 /
制表日期, the table with a frozen header that repeats on every printed page, a 单位 column, numbers as numbers
(negative figures — reversals — in red), a 合计 row, and lines for 制表人, 审核人 and 负责人 to sign and date.
Pages are A4 landscape, fitted to the width. Text from people is always written as text, never as a formula.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgspec
import openpyxl
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from importers.print_setup import print_on_a4
from importers.xlsx_rows import ILLEGAL_CHARACTERS

__all__ = [
    "BALANCE_HEADER_ROWS", "BalanceSheetRow", "CountySheetRow", "LedgerSheetRow", "ReportHeading",
    "write_receipts_issues", "write_stock_by_county", "write_stock_ledger",
]

TITLE_ROW, INFO_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3, 4
BALANCE_HEADER_ROWS = (HEADER_ROW, HEADER_ROW + 1)  # the 收发存 header has two rows (本期收入 / 本期发出 groups)
SIGNERS = ("制表人", "审核人", "负责人")
NUMBER_FORMAT = "#,##0;[Red]-#,##0"

_THIN = Side(style="thin")
_GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2F2F2")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)


class ReportHeading(msgspec.Struct, frozen=True, kw_only=True):
    """What is printed above the table."""

    title: str  # 南昌县综合应急物资储备库 2026年11月 物资收发存报表
    unit_name: str  # 填报单位
    period: str  # 2026年11月（2026-11-01 至 2026-11-30）
    made_on: dt.date  # 制表日期
    notes: tuple[str, ...] = ()  # 说明: how figures are counted, a row limit that was reached


class BalanceSheetRow(msgspec.Struct, frozen=True, kw_only=True):
    """One 收发存 line (or the 合计): a location × item type."""

    location: str
    item_code: str
    item_name: str
    spec: str
    unit: str
    opening: int
    receipts: int
    returns: int
    transfers_in: int
    gains: int
    issues: int
    transfers_out: int
    losses: int
    write_offs: int
    closing: int
    in_transit: int

    @property
    def total_in(self) -> int:
        """收入小计."""
        return self.receipts + self.returns + self.transfers_in + self.gains

    @property
    def total_out(self) -> int:
        """发出小计."""
        return self.issues + self.transfers_out + self.losses + self.write_offs


class LedgerSheetRow(msgspec.Struct, frozen=True, kw_only=True):
    """One 台账 line: a voucher's entry, or an item's 期初结存 / 本期合计 line (``subtotal``)."""

    item_code: str
    item_name: str
    spec: str
    unit: str
    balance: int
    date: dt.date | None = None
    number: str = ""  # 凭证号
    kind: str = ""  # 入库, 出库, 调出… or 期初结存 / 本期合计
    lot: str = ""
    quantity_in: int | None = None
    quantity_out: int | None = None
    who: str = ""
    summary: str = ""
    subtotal: bool = False


class CountySheetRow(msgspec.Struct, frozen=True, kw_only=True):
    """Stock of one category in one county (``subtotal``: a total line, printed in bold)."""

    region: str
    category: str
    unit: str
    on_hand: int
    reserved: int
    available: int
    in_transit: int
    subtotal: bool = False


@dataclass(frozen=True)
class _Column:
    name: str
    width: float
    number: bool = False
    group: str = ""  # a header spanning several columns above this one


BALANCE_COLUMNS = (
    _Column("序号", 5), _Column("地点", 20), _Column("物资编号", 14), _Column("物资名称", 18), _Column("规格型号", 14),
    _Column("单位", 6), _Column("期初结存", 9, True),
    _Column("入库", 8, True, "本期收入"), _Column("归还", 8, True, "本期收入"), _Column("调入", 8, True, "本期收入"),
    _Column("盘盈", 8, True, "本期收入"), _Column("小计", 9, True, "本期收入"),
    _Column("出库", 8, True, "本期发出"), _Column("调出", 8, True, "本期发出"), _Column("盘亏", 8, True, "本期发出"),
    _Column("报废", 8, True, "本期发出"), _Column("小计", 9, True, "本期发出"),
    _Column("期末结存", 9, True), _Column("期末在途", 9, True),
)
LEDGER_COLUMNS = (
    _Column("日期", 11), _Column("凭证号", 18), _Column("业务类型", 10), _Column("物资编号", 14),
    _Column("物资名称", 18), _Column("规格型号", 12), _Column("单位", 6), _Column("批号", 12),
    _Column("收入", 8, True), _Column("发出", 8, True), _Column("结存", 9, True), _Column("经办人", 10),
    _Column("摘要", 30),
)
COUNTY_COLUMNS = (
    _Column("序号", 5), _Column("县（市、区）", 16), _Column("物资类别", 14), _Column("单位", 8),
    _Column("在库数量", 11, True), _Column("已预留", 11, True), _Column("可用数量", 11, True),
    _Column("在途", 11, True),
)


def write_receipts_issues(heading: ReportHeading, rows: Iterable[BalanceSheetRow],
                          totals: BalanceSheetRow | None = None) -> bytes:
    """The 收发存 workbook; ``totals`` (e.g. of more lines than were listed) else the sum of the rows."""
    sheet = _Sheet("收发存", heading, BALANCE_COLUMNS)
    listed = list(rows)
    for seq, row in enumerate(listed, start=1):
        sheet.add([seq, *_balance_values(row)])
    total = totals or _sum_balance(listed)
    sheet.add(["合计", None, None, None, None, None, *_balance_values(total)[5:]], total=True)
    return sheet.finish()


def write_stock_ledger(heading: ReportHeading, rows: Iterable[LedgerSheetRow],
                       totals: tuple[int, int] | None = None) -> bytes:
    """The 台账 workbook: per item an opening line, its entries and a 本期合计 line; ``totals`` = (收入, 发出)."""
    sheet = _Sheet("台账", heading, LEDGER_COLUMNS)
    total_in = total_out = 0
    for row in rows:
        sheet.add([row.date, row.number, row.kind, row.item_code, row.item_name, row.spec, row.unit, row.lot,
                   row.quantity_in, row.quantity_out, row.balance, row.who, row.summary], total=row.subtotal)
        if not row.subtotal:
            total_in += row.quantity_in or 0
            total_out += row.quantity_out or 0
    total_in, total_out = totals or (total_in, total_out)
    sheet.add(["合计", None, None, None, None, None, None, None, total_in, total_out, None, None, None], total=True)
    return sheet.finish()


def write_stock_by_county(heading: ReportHeading, rows: Iterable[CountySheetRow],
                          region_label: str = "县（市、区）") -> bytes:
    """The 库存分布 workbook: a line per county × category; total lines (``subtotal``) in bold.

    ``region_label`` heads the region column (乡镇（街道） when the lines are a county's townships).
    """
    columns = [replace(c, name=region_label) if c.name == "县（市、区）" else c for c in COUNTY_COLUMNS]
    sheet = _Sheet("库存分布", heading, columns)
    seq = 0
    for row in rows:
        seq += not row.subtotal
        sheet.add([None if row.subtotal else seq, row.region, row.category, row.unit, row.on_hand, row.reserved,
                   row.available, row.in_transit], total=row.subtotal)
    return sheet.finish()


def _balance_values(row: BalanceSheetRow) -> list[Any]:
    return [row.location, row.item_code, row.item_name, row.spec, row.unit, row.opening, row.receipts, row.returns,
            row.transfers_in, row.gains, row.total_in, row.issues, row.transfers_out, row.losses, row.write_offs,
            row.total_out, row.closing, row.in_transit]


def _sum_balance(rows: Sequence[BalanceSheetRow]) -> BalanceSheetRow:
    names = ("opening", "receipts", "returns", "transfers_in", "gains", "issues", "transfers_out", "losses",
             "write_offs", "closing", "in_transit")
    sums = {name: sum(getattr(r, name) for r in rows) for name in names}
    return BalanceSheetRow(location="", item_code="", item_name="合计", spec="", unit="", **sums)


def _text(value: str) -> str:
    """Text that Excel can hold: control characters (a name typed with one) are dropped, not a crash."""
    return ILLEGAL_CHARACTERS.sub("", value)


class _Sheet:
    """A one-sheet workbook being written: heading, table header, rows, then 合计 and the signature lines."""

    def __init__(self, name: str, heading: ReportHeading, columns: Sequence[_Column]) -> None:
        self.workbook = openpyxl.Workbook()
        self.sheet = self.workbook.active
        self.sheet.title = name
        self.columns = columns
        self.heading = heading
        last = get_column_letter(len(columns))
        grouped = any(c.group for c in columns)
        header_rows = BALANCE_HEADER_ROWS if grouped else (HEADER_ROW,)
        self.next_row = header_rows[-1] + 1
        sheet = self.sheet
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        self._put(TITLE_ROW, 1, heading.title, font=Font(bold=True, size=16), alignment=_CENTER)
        sheet.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
        sheet.row_dimensions[TITLE_ROW].height = 32
        third = max(1, len(columns) // 3)
        for start, text in ((1, f"填报单位：{heading.unit_name}"), (third + 1, f"报表期间：{heading.period}"),
                            (2 * third + 1, f"制表日期：{heading.made_on:%Y年%m月%d日}")):
            self._put(INFO_ROW, start, text)
            end = min(start + third - 1, len(columns))
            if end > start:
                sheet.merge_cells(start_row=INFO_ROW, start_column=start, end_row=INFO_ROW, end_column=end)
        if heading.notes:
            self._put(NOTE_ROW, 1, "说明：" + " ".join(heading.notes), font=Font(size=9, color="FF5B6475"),
                      alignment=_WRAP)
            sheet.merge_cells(f"A{NOTE_ROW}:{last}{NOTE_ROW}")
            sheet.row_dimensions[NOTE_ROW].height = 15 * (1 + len(" ".join(heading.notes)) // 110)
        self._header(header_rows)
        sheet.freeze_panes = f"A{self.next_row}"
        print_on_a4(sheet, orientation="landscape", title_rows=f"{header_rows[0]}:{header_rows[-1]}",
                    top_bottom_margin=0.6)

    def _header(self, rows: tuple[int, ...]) -> None:
        sheet, top = self.sheet, rows[0]
        for index, column in enumerate(self.columns, start=1):
            for row in rows:
                self._put(row, index, None, font=_BOLD, alignment=_CENTER, fill=_HEADER_FILL)
            if len(rows) == 1:
                self.sheet.cell(top, index).value = column.name
            elif column.group:
                self.sheet.cell(top, index).value = column.group
                self.sheet.cell(rows[1], index).value = column.name
            else:
                self.sheet.cell(top, index).value = column.name
                sheet.merge_cells(start_row=top, start_column=index, end_row=rows[1], end_column=index)
        if len(rows) > 1:
            groups: dict[str, list[int]] = {}
            for index, column in enumerate(self.columns, start=1):
                if column.group:
                    groups.setdefault(column.group, []).append(index)
            for indexes in groups.values():
                sheet.merge_cells(start_row=top, start_column=indexes[0], end_row=top, end_column=indexes[-1])
        for row in rows:
            sheet.row_dimensions[row].height = 22

    def _put(self, row: int, column: int, value: Any, *, font: Font | None = None,
             alignment: Alignment | None = None, fill: PatternFill | None = None, grid: bool = False) -> Any:
        cell = self.sheet.cell(row=row, column=column)
        if value == "":
            value = None
        if isinstance(value, str):
            cell.value = _text(value)
            cell.data_type = "s"  # text from people stays text: a name such as "=1+1" is never a formula
        else:
            cell.value = value
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        if fill is not None:
            cell.fill = fill
        if fill is not None or grid:
            cell.border = _GRID
        return cell

    def add(self, values: Sequence[Any], *, total: bool = False) -> int:
        """Write one table row (bold on grey for a total line); its row number."""
        number = self.next_row
        for index, (column, value) in enumerate(zip(self.columns, values, strict=True), start=1):
            cell = self._put(number, index, value, font=_BOLD if total else None,
                             fill=_TOTAL_FILL if total else None, grid=True)
            if column.number or isinstance(value, int):
                cell.number_format = NUMBER_FORMAT
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
        self.next_row += 1
        return number

    def finish(self) -> bytes:
        """Add the signature lines and save."""
        sign_row = self.next_row + 1
        third = max(1, len(self.columns) // 3)
        for k, who in enumerate(SIGNERS):
            start = 1 + k * third
            self._put(sign_row, start, f"{who}：＿＿＿＿＿＿＿＿")
            self._put(sign_row + 1, start, "日期：＿＿＿＿年＿＿月＿＿日")
            end = min(start + third - 1, len(self.columns))
            if end > start:
                for row in (sign_row, sign_row + 1):
                    self.sheet.merge_cells(start_row=row, start_column=start, end_row=row, end_column=end)
        self.sheet.row_dimensions[sign_row].height = 28
        buffer = io.BytesIO()
        self.workbook.save(buffer)
        return buffer.getvalue()
