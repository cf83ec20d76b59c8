"""Write the counting sheet a depot fills in, the variance workbook, and copies of uploads marked with errors."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import msgspec
import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from importers.error_copy import write_error_copy
from importers.print_setup import print_on_a4
from importers.xlsx_rows import ILLEGAL_CHARACTERS, Formula, RowStream, Value

__all__ = ["SheetHeader", "SheetRow", "VarianceLine", "write_count_sheet", "write_error_copy", "write_variance"]

Quantity = int | Decimal

# The counting sheet: (column name, width). 实盘数量 is M and 差异 is N; the table starts on row 6.
COUNT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6), ("物资编号", 16), ("物资名称", 18), ("规格型号", 14), ("计量单位", 8), ("批号", 14),
    ("生产日期", 11), ("有效期", 11), ("存放位置", 12), ("序列号", 16), ("标签编码", 14),
    ("账面数量", 9), ("实盘数量", 9), ("差异", 7), ("差异原因", 18), ("备注", 14),
)
VARIANCE_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6), ("物资编号", 16), ("物资名称", 18), ("规格型号", 14), ("计量单位", 8), ("批号", 14),
    ("存放位置", 12), ("序列号", 16), ("账面数量", 10), ("实盘数量", 10), ("差异", 9), ("差异原因", 24),
    ("核查提示", 30),
)
NEEDS_REASON = "缺差异原因：审批前须填写（在盘点表填写后重新导入，或由审批人填写）"
FAR_BEYOND_BOOK = "差异远超账面数量，请核实是否输错"
HEADER_ROW = 6
FIRST_DATA_ROW = HEADER_ROW + 1
COUNTED = "M"
BOOK = "L"
NOTE = (
    "说明：请在「实盘数量」列填写清点到的实际数量（整数），有差异时在「差异原因」列写明原因；"
    "请勿改动表头和物资编号。"
)

_BOLD = Font(bold=True)
_THIN = Side(style="thin")
_GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
_TODO_FILL = PatternFill("solid", fgColor="FFFFF2CC")


class SheetHeader(msgspec.Struct, frozen=True, kw_only=True):
    """The header block of a counting or variance sheet."""

    place: str
    stocktake_id: str = ""
    count_date: dt.date | None = None
    counter: str = ""
    supervisor: str = ""


class SheetRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line to count: a lot of an item, or one serial-numbered asset (book quantity 1)."""

    item_code: str
    book_quantity: Quantity
    name: str = ""
    spec: str = ""
    unit: str = ""
    lot_number: str = ""
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    place: str = ""
    serial_number: str = ""
    label_code: str = ""
    note: str = ""


class VarianceLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the variance report; ``counted`` is ``None`` when the line was not counted."""

    item_code: str
    book_quantity: Quantity
    counted: Quantity | None
    name: str = ""
    spec: str = ""
    unit: str = ""
    lot_number: str = ""
    place: str = ""
    serial_number: str = ""
    reason: str = ""
    needs_reason: bool = False
    far_beyond_book: bool = False

    @property
    def check(self) -> str:
        """What the approver must look at on this line (核查提示), empty when nothing."""
        return "；".join(text for flag, text in ((self.far_beyond_book, FAR_BEYOND_BOOK),
                                                 (self.needs_reason, NEEDS_REASON)) if flag)

    @property
    def difference(self) -> Quantity | None:
        """Counted minus book (盘盈 positive, 盘亏 negative), ``None`` when not counted."""
        return None if self.counted is None else self.counted - self.book_quantity


def write_count_sheet(header: SheetHeader, rows: Iterable[SheetRow]) -> bytes:
    """The counting sheet (.xlsx) for a depot: title, header block, one line per lot or asset, count blank."""
    workbook, sheet = _start("盘点表", f"{header.place}物资盘点表", header, COUNT_COLUMNS, NOTE)
    stream = RowStream(FIRST_DATA_ROW, date_style=_date_style(sheet), width=len(COUNT_COLUMNS))
    for seq, row in enumerate(rows, start=1):
        number = stream.next_row
        stream.add((
            seq, row.item_code, row.name, row.spec, row.unit, row.lot_number,
            row.production_date, row.expiry_date, row.place, row.serial_number, row.label_code,
            row.book_quantity, None, Formula(f'IF({COUNTED}{number}="","",{COUNTED}{number}-{BOOK}{number})'),
            None, row.note,
        ))
    last = max(stream.last_row, FIRST_DATA_ROW)
    counted = f"{COUNTED}{FIRST_DATA_ROW}:{COUNTED}{last}"
    validation = DataValidation(
        type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
        showErrorMessage=True, errorStyle="stop", errorTitle="实盘数量有误",
        error="实盘数量必须是不小于 0 的整数，请重新填写。",
        showInputMessage=True, promptTitle="实盘数量", prompt="填写清点到的实际数量（整数）",
    )
    validation.add(counted)
    sheet.data_validations.append(validation)
    sheet.conditional_formatting.add(counted, FormulaRule(formula=[f'{COUNTED}{FIRST_DATA_ROW}=""'], fill=_TODO_FILL))
    _mark_signs(sheet, f"N{FIRST_DATA_ROW}:N{last}")
    return stream.splice(_save(workbook))


def write_variance(header: SheetHeader, lines: Iterable[VarianceLine]) -> bytes:
    """The variance workbook: book, counted, difference and reason per line, and a 合计 row."""
    workbook, sheet = _start("差异表", f"{header.place}盘点差异表", header, VARIANCE_COLUMNS)
    stream = RowStream(FIRST_DATA_ROW, date_style=_date_style(sheet), width=len(VARIANCE_COLUMNS))
    book_total: Quantity = 0
    counted_total: Quantity = 0
    difference_total: Quantity = 0
    surplus = shortage = uncounted = missing = far = 0
    for seq, line in enumerate(lines, start=1):
        difference = line.difference
        stream.add((
            seq, line.item_code, line.name, line.spec, line.unit, line.lot_number, line.place,
            line.serial_number, line.book_quantity, line.counted, difference, line.reason, line.check,
        ))
        missing += line.needs_reason
        far += line.far_beyond_book
        book_total += line.book_quantity
        if line.counted is None or difference is None:
            uncounted += 1
            continue
        counted_total += line.counted
        difference_total += difference
        surplus += difference > 0
        shortage += difference < 0
    summary = f"盘盈 {surplus} 项，盘亏 {shortage} 项" + (f"，未盘点 {uncounted} 项" if uncounted else "")
    checks = "，".join(text for count, text in ((missing, f"缺差异原因 {missing} 项"),
                                                (far, f"差异远超账面 {far} 项")) if count)
    last = max(stream.last_row, FIRST_DATA_ROW)
    _mark_signs(sheet, f"K{FIRST_DATA_ROW}:K{last}")
    sheet.conditional_formatting.add(f"L{FIRST_DATA_ROW}:M{last}",
                                     FormulaRule(formula=[f'$M{FIRST_DATA_ROW}<>""'], fill=_TODO_FILL))
    total_row = stream.add(
        ("合计", None, None, None, None, None, None, None, book_total, counted_total, difference_total, summary,
         checks)
    )
    sheet.merged_cells.add(f"A{total_row}:H{total_row}")
    return stream.splice(_save(workbook))


def _start(
    name: str, title: str, header: SheetHeader, columns: Sequence[tuple[str, float]], note: str = ""
) -> tuple[Any, Any]:
    """A write-only workbook with the title, header block and table header written, pages set up."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(name)
    last = get_column_letter(len(columns))
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
    # sheetPr, sheetViews and cols are written with the first row: set everything before it.
    print_on_a4(sheet, orientation="landscape", title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    sheet.print_options.gridLines = True
    sheet.row_dimensions[1].height = 30
    sheet.row_dimensions[HEADER_ROW].height = 30
    sheet.append([_cell(sheet, title, Font(bold=True, size=16), Alignment(horizontal="center", vertical="center"))])
    date = _cell(sheet, header.count_date)
    date.number_format = "yyyy-mm-dd"
    date.alignment = Alignment(horizontal="left")
    sheet.append([_label(sheet, "盘点单号"), _cell(sheet, header.stocktake_id), None, None, None,
                  _label(sheet, "盘点日期"), date])
    sheet.append([
        _label(sheet, "地点"), _cell(sheet, header.place), None, None, None, _label(sheet, "盘点人"),
        _cell(sheet, header.counter), None, _label(sheet, "监盘人"), _cell(sheet, header.supervisor),
    ])
    sheet.append([note or None])
    sheet.append([])
    sheet.append([
        _cell(sheet, name, _BOLD, Alignment(horizontal="center", vertical="center", wrap_text=True), _HEADER_FILL)
        for name, _ in columns
    ])
    for merged in (f"A1:{last}1", "B2:D2", "B3:D3", f"A4:{last}4"):
        sheet.merged_cells.add(merged)
    return workbook, sheet


def _text(value: str) -> str:
    """Text that Excel can hold: control characters (a name typed with one) are dropped, not a crash."""
    return ILLEGAL_CHARACTERS.sub("", value)


def _cell(sheet: Any, value: Value, font: Font | None = None, alignment: Alignment | None = None,
          fill: PatternFill | None = None) -> Any:
    cell = WriteOnlyCell(sheet, _text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # text from people stays text: a name such as "=1+1" is never a formula
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if fill is not None:
        cell.fill = fill
        cell.border = _GRID
    return cell


def _label(sheet: Any, text: str) -> Any:
    return _cell(sheet, text, _BOLD)


def _date_style(sheet: Any) -> int:
    """The workbook's style index for a yyyy-mm-dd date cell (registered with openpyxl)."""
    cell = WriteOnlyCell(sheet)
    cell.number_format = "yyyy-mm-dd"
    return int(cell.style_id)


def _mark_signs(sheet: Any, cells: str) -> None:
    """Shortages (negative differences) in red, surpluses in blue."""
    rules = (("lessThan", "FFC00000"), ("greaterThan", "FF0070C0"))
    for operator, colour in rules:
        sheet.conditional_formatting.add(cells, CellIsRule(operator=operator, formula=["0"], font=Font(color=colour)))


def _save(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
