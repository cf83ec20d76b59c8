"""Write the 救灾物资发放登记表 of one village and round: the sheet a household signs when it receives relief.

Rows come in as the plain structs below (the API converts the domain's register into them): no database and no
web framework here. One table row per item handed out; a household's cells (序号, 户主姓名, 身份证号（后四位）,
家庭人口, 发放时间, 发放人, 签领人签字, 备注) span its items, so each distribution has one tall, empty box to sign
in. The ID number appears only as its last four characters. Under the table: 合计 (households, people, and each
item's total), then lines for the distributing officer and the village cadre to sign. A4 portrait, fitted to the
width, the header repeated on every printed page. Text from people is always written as text, never a formula.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import msgspec
import openpyxl
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from importers.print_setup import print_on_a4
from importers.xlsx_rows import ILLEGAL_CHARACTERS

__all__ = ["COLUMNS", "HEADER_ROW", "TITLE", "RegisterHeading", "RegisterHousehold", "RegisterLine",
           "write_relief_register"]

TITLE = "救灾物资发放登记表"
COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 5), ("户主姓名", 11), ("身份证号（后四位）", 10), ("家庭人口", 6), ("物资", 20), ("数量", 7),
    ("发放时间", 16), ("发放人", 10), ("签领人签字", 20), ("备注", 14),
)
TITLE_ROW, INFO_ROWS, HEADER_ROW = 1, (2, 3), 4
SIGN_HEIGHT = 36  # points: room for a signature (or a thumbprint) in a household's box
LINE_HEIGHT = 20  # points: each further item line of the same household
NUMBER_FORMAT = "#,##0"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
NOTE = "说明：身份证号仅登记后四位；领取人核对物资和数量无误后在“签领人签字”栏签字或按手印。"
SPANNED = (1, 2, 3, 4, 7, 8, 9, 10)  # columns a household's box spans over its item lines

_THIN = Side(style="thin")
_GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2F2F2")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_MIDDLE = Alignment(vertical="center", wrap_text=True)


class RegisterHeading(msgspec.Struct, frozen=True, kw_only=True):
    """What is printed above the table."""

    incident: str  # 事件
    village: str  # 村（社区）
    round: int  # 发放轮次
    place: str = ""  # 发放地点
    made_on: dt.date | None = None  # 制表日期


class RegisterLine(msgspec.Struct, frozen=True, kw_only=True):
    """One item handed to a household."""

    item: str
    unit: str
    quantity: int


class RegisterHousehold(msgspec.Struct, frozen=True, kw_only=True):
    """One distribution: the household, when (local time, no zone), by whom, and its items."""

    head_name: str
    id_last4: str
    size: int
    given_at: dt.datetime
    given_by: str
    lines: Sequence[RegisterLine]
    note: str = ""


def _text(value: str) -> str:
    """Text that Excel can hold: control characters (a name typed with one) are dropped, not a crash."""
    return ILLEGAL_CHARACTERS.sub("", value)


def _put(sheet: Any, row: int, column: int, value: Any, *, font: Font | None = None,
         alignment: Alignment | None = _MIDDLE, fill: PatternFill | None = None, grid: bool = True) -> Any:
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _text(value) or None
        if cell.value is not None:
            cell.data_type = "s"  # a name such as "=1+1" stays text, never a formula
    else:
        cell.value = value
    if isinstance(value, int) and not isinstance(value, bool):
        cell.number_format = NUMBER_FORMAT
    elif isinstance(value, dt.datetime):
        cell.number_format = TIME_FORMAT
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if fill is not None:
        cell.fill = fill
    if grid:
        cell.border = _GRID
    return cell


def _heading(sheet: Any, heading: RegisterHeading) -> None:
    last = get_column_letter(len(COLUMNS))
    _put(sheet, TITLE_ROW, 1, TITLE, font=Font(bold=True, size=16), alignment=_CENTER, grid=False)
    sheet.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    sheet.row_dimensions[TITLE_ROW].height = 32
    made_on = heading.made_on or dt.date.today()
    infos = ((f"事件：{heading.incident}", f"村（社区）：{heading.village}", f"发放轮次：第 {heading.round} 轮"),
             (f"发放地点：{heading.place}", "", f"制表日期：{made_on:%Y年%m月%d日}"))
    spans = ((1, 4), (5, 7), (8, len(COLUMNS)))
    for row, texts in zip(INFO_ROWS, infos, strict=True):
        for (start, end), text in zip(spans, texts, strict=True):
            _put(sheet, row, start, text, grid=False)
            sheet.merge_cells(start_row=row, start_column=start, end_row=row, end_column=end)
        sheet.row_dimensions[row].height = 20
    for index, (name, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
        _put(sheet, HEADER_ROW, index, name, font=_BOLD, alignment=_CENTER, fill=_HEADER_FILL)
    sheet.row_dimensions[HEADER_ROW].height = 30


def _household(sheet: Any, row: int, seq: int, h: RegisterHousehold) -> int:
    """Write one household's box from ``row``; the next free row."""
    lines = list(h.lines) or [RegisterLine(item="", unit="", quantity=0)]
    box = {1: seq, 2: h.head_name, 3: h.id_last4, 4: h.size, 7: h.given_at, 8: h.given_by, 9: "", 10: h.note}
    for k, line in enumerate(lines):
        r = row + k
        for column in SPANNED:
            _put(sheet, r, column, box[column] if k == 0 else None,
                 alignment=_CENTER if column in (1, 3, 4) else _MIDDLE)
        _put(sheet, r, 5, f"{line.item}（{line.unit}）" if line.unit else line.item)
        _put(sheet, r, 6, line.quantity if line.item else None)
        sheet.row_dimensions[r].height = LINE_HEIGHT
    if len(lines) > 1:
        for column in SPANNED:
            sheet.merge_cells(start_row=row, start_column=column, end_row=row + len(lines) - 1, end_column=column)
    # The box is tall enough to sign in, however many item lines it spans.
    first_height = max(LINE_HEIGHT, SIGN_HEIGHT - LINE_HEIGHT * (len(lines) - 1))
    sheet.row_dimensions[row].height = first_height
    return row + len(lines)


def _totals(sheet: Any, row: int, households: Sequence[RegisterHousehold]) -> int:
    """The 合计 lines: households and people (each household once), then each item's total; the next free row."""
    people = {(h.head_name, h.id_last4): h.size for h in households}
    items: dict[tuple[str, str], int] = {}
    for h in households:
        for line in h.lines:
            items[(line.item, line.unit)] = items.get((line.item, line.unit), 0) + line.quantity
    rows: list[tuple[str, int | None]] = [(f"{item}（{unit}）" if unit else item, qty)
                                          for (item, unit), qty in items.items()] or [("", None)]
    for k, (item, qty) in enumerate(rows):
        r = row + k
        values: dict[int, Any] = {1: "合计" if k == 0 else None,
                                  2: f"{len(people)} 户" if k == 0 else None,
                                  4: sum(people.values()) if k == 0 else None, 5: item, 6: qty}
        for column in range(1, len(COLUMNS) + 1):
            _put(sheet, r, column, values.get(column), font=_BOLD, fill=_TOTAL_FILL,
                 alignment=_CENTER if column in (1, 4) else _MIDDLE)
        sheet.row_dimensions[r].height = LINE_HEIGHT
    if len(rows) > 1:
        for column in (1, 2, 3, 4, 7, 8, 9, 10):
            sheet.merge_cells(start_row=row, start_column=column, end_row=row + len(rows) - 1, end_column=column)
    return row + len(rows)


def write_relief_register(heading: RegisterHeading, households: Sequence[RegisterHousehold]) -> bytes:
    """The register (.xlsx) of one village and round: a box per distribution to sign in, totals, sign-off lines."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = f"第{heading.round}轮发放登记"
    _heading(sheet, heading)
    row = HEADER_ROW + 1
    for seq, household in enumerate(households, start=1):
        row = _household(sheet, row, seq, household)
    row = _totals(sheet, row, households)
    _put(sheet, row + 1, 1, NOTE, font=Font(size=9, color="FF5B6475"), grid=False)
    sheet.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=len(COLUMNS))
    for start, end, text in ((1, 4, "发放人（签字）：＿＿＿＿＿＿＿＿"), (5, 7, "村（社区）干部（签字）：＿＿＿＿＿＿"),
                             (8, len(COLUMNS), "日期：＿＿＿＿年＿＿月＿＿日")):
        _put(sheet, row + 3, start, text, grid=False)
        sheet.merge_cells(start_row=row + 3, start_column=start, end_row=row + 3, end_column=end)
    sheet.row_dimensions[row + 3].height = 28
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    print_on_a4(sheet, orientation="portrait", title_rows=f"{HEADER_ROW}:{HEADER_ROW}", top_bottom_margin=0.6)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
