"""The reserve catalogue (储备目录) as a sheet of quotas: read into typed rows and row-level errors, and the template.

One row per location and item type: 库点编码, 物资编码, 最低储备量, and optionally 预警余量 and a flood season
(汛期最低储备量 from 汛期起 to 汛期止, written 04-01 or 4月1日; a date cell counts by its month and day).
The table is found by its column names (with aliases) in the first 20 rows of any sheet; name, spec and unit
columns are for people and are not read. Blank rows, a repeated header, subtotal and note rows are skipped.
Every bad cell becomes a :class:`~importers.count_rows.RowError` in Chinese (row, column, value, what is wrong),
and a row with any error is left out of ``rows``. No database here: codes are looked up by the caller.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, Final

import msgspec
import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from importers.archive_guard import MAX_ROWS, SheetTooLarge, SheetUnreadable
from importers.cells import FIRST_SERIAL, LAST_SERIAL, CellError, clean_code, clean_text, parse_date, parse_quantity
from importers.columns import HEADER_SEARCH_ROWS, normalise_label, sheets_in_order
from importers.count_rows import RowError
from importers.count_sheet import MAX_ERRORS, read_uploaded_workbook

__all__ = ["QUOTA_COLUMNS", "ParsedQuotaSheet", "QuotaRow", "QuotaTemplateRow", "SheetTooLarge", "SheetUnreadable",
           "parse_month_day", "parse_quota_sheet", "write_quota_template"]

MAX_QUANTITY: Final = 1_000_000_000
# Canonical column → the other names people give it (compared after importers.columns.normalise_label).
QUOTA_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "库点编码": ("库点编号", "库点代码", "地点编码", "地点编号", "储备库编码", "储备库编号", "储备点编码"),
    "库点名称": ("地点名称", "储备库名称", "储备点名称", "库点"),
    "物资编码": ("物资编号", "物资代码", "品目编码", "品目编号"),
    "物资名称": ("品名", "名称", "品目名称"),
    "规格型号": ("规格", "型号"),
    "计量单位": ("单位",),
    "最低储备量": ("储备定额", "定额", "最低库存", "最低储备", "最低储备数量", "定额数量"),
    "预警余量": ("预警量", "预警值", "预警余额", "预警数量"),
    "汛期最低储备量": ("汛期储备定额", "汛期定额", "汛期储备量", "汛期最低储备"),
    "汛期起": ("汛期开始", "汛期起始", "汛期自", "汛期起日"),
    "汛期止": ("汛期结束", "汛期截止", "汛期至", "汛期止日"),
    "备注": ("说明",),
}
REQUIRED: Final = ("库点编码", "物资编码", "最低储备量")
_CANONICAL: Final = {alias: name for name, aliases in QUOTA_COLUMNS.items() for alias in (name, *aliases)}
_SKIPPED: Final = ("合计", "小计", "总计", "说明", "填表说明", "注：", "注:")
_MONTH_DAY: Final = re.compile(r"(\d{1,2})\s*(?:月|/|\.|-)\s*(\d{1,2})\s*日?")
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
NO_HEADER: Final = (f"没有找到储备定额表的表头：前 {HEADER_SEARCH_ROWS} 行中没有一行写着「库点编码」「物资编码」"
                    "「最低储备量」这几列（可用别名，如 库点编号、物资编号、储备定额）")


class QuotaRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One clean row: a location's quota of an item type; season fields all set or all ``None``."""

    row: int
    location_code: str
    item_code: str
    minimum: int
    warning_margin: int = 0
    season_minimum: int | None = None
    season_start: str | None = None  # MM-DD
    season_end: str | None = None
    note: str = ""


class ParsedQuotaSheet(msgspec.Struct, kw_only=True):
    """A parsed quota sheet: where its header is, the columns found (name → letter), clean rows and errors."""

    sheet_name: str
    header_row: int
    columns: dict[str, str]
    rows: list[QuotaRow]
    errors: list[RowError]
    errors_omitted: int = 0


def parse_month_day(value: object) -> str | None:
    """A day of the year as ``MM-DD`` from 04-01, 4/1, 4月1日, a full date or a date cell; empty gives ``None``."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and not FIRST_SERIAL <= value <= LAST_SERIAL:
        raise CellError(f"「{clean_text(value)}」不是月-日，请写成 04-01 或 4月1日")
    if type(value) is str:
        text = unicodedata.normalize("NFKC", value).strip()
        if not text:
            return None
        match = _MONTH_DAY.fullmatch(text)
        if match is not None:
            month, day = int(match[1]), int(match[2])
            if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
                raise CellError(f"「{text}」不是存在的日期")
            return f"{month:02d}-{day:02d}"
        try:
            date = parse_date(text)
        except CellError:
            raise CellError(f"「{text}」不是月-日，请写成 04-01 或 4月1日") from None
    else:
        date = parse_date(value)
    return None if date is None else date.strftime("%m-%d")


def _whole(value: object) -> int | None:
    number = parse_quantity(value)
    if number is None:
        return None
    if not isinstance(number, int):
        raise CellError(f"「{clean_text(value)}」不是整数，定额按整数计")
    if number > MAX_QUANTITY:
        raise CellError(f"「{clean_text(value)}」过大（不能超过 {MAX_QUANTITY:,}）")
    return number


_READERS: Final = {"库点编码": clean_code, "物资编码": clean_code, "最低储备量": _whole, "预警余量": _whole,
                   "汛期最低储备量": _whole, "汛期起": parse_month_day, "汛期止": parse_month_day, "备注": clean_text}
_SEASON: Final = ("汛期最低储备量", "汛期起", "汛期止")


def parse_quota_sheet(source: bytes) -> ParsedQuotaSheet:
    """Read a quota sheet (blocking: call it in a worker thread); SheetUnreadable when it cannot be read at all.

    The archive is checked first (:func:`importers.archive_guard.check_archive`): a workbook larger than any
    sheet may be is :class:`SheetTooLarge` before openpyxl reads any of it.
    """
    return read_uploaded_workbook(source, _parse_workbook)


def _find_header(rows: Sequence[Sequence[object]]) -> tuple[int, dict[str, int]] | None:
    """(0-based row, canonical column → 0-based position) of the row naming the most known columns (two at least)."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows):
        columns: dict[str, int] = {}
        for position, value in enumerate(row):
            name = _CANONICAL.get(normalise_label(value)) if type(value) is str else None
            if name is not None and name not in columns:
                columns[name] = position
        if len(columns) >= 2 and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    return best


def _parse_workbook(workbook: Any) -> ParsedQuotaSheet:
    fallback: tuple[Any, list[tuple[object, ...]], tuple[int, dict[str, int]]] | None = None
    for sheet in sheets_in_order(workbook):
        sheet.reset_dimensions()  # a wrong <dimension> in the file must not cut rows off
        rest = sheet.iter_rows(values_only=True)
        head = list(islice(rest, HEADER_SEARCH_ROWS))
        found = _find_header(head)
        if found is not None and all(name in found[1] for name in REQUIRED):
            return _parse(sheet.title, head, found, rest)
        if found is not None and fallback is None:
            fallback = (sheet, head, found)
    if fallback is None:
        raise SheetUnreadable(NO_HEADER)
    sheet, head, (index, columns) = fallback
    parsed = ParsedQuotaSheet(sheet_name=sheet.title, header_row=index + 1, rows=[], errors=[],
                              columns={n: get_column_letter(i + 1) for n, i in columns.items()})
    for name in REQUIRED:
        if name not in columns:
            aliases = "、".join(QUOTA_COLUMNS[name])
            parsed.errors.append(RowError(row=index + 1, column=name, value=None,
                                          message=f"表头缺少必需的列「{name}」（也可写作：{aliases}）"))
    return parsed


def _parse(title: str, head: list[tuple[object, ...]], found: tuple[int, dict[str, int]],
           rest: Iterator[tuple[object, ...]]) -> ParsedQuotaSheet:
    index, columns = found
    letters = {name: get_column_letter(position + 1) for name, position in columns.items()}
    parsed = ParsedQuotaSheet(sheet_name=title, header_row=index + 1, columns=letters, rows=[], errors=[])
    seen: dict[tuple[str, str], int] = {}
    for number, values in enumerate(chain(head[index + 1:], rest), start=index + 2):
        if number > MAX_ROWS:
            raise SheetTooLarge(f"工作表「{title}」超过 {MAX_ROWS:,} 行，请删除表格末尾多余的行后再上传",
                                part=title, limit=MAX_ROWS)
        row = _read_row(number, values, columns, letters, parsed.errors)
        if row is not None:
            first = seen.setdefault((row.location_code, row.item_code), number)
            if first == number:
                parsed.rows.append(row)
            else:
                parsed.errors.append(RowError(
                    row=number, column="物资编码", value=row.item_code, letter=letters["物资编码"],
                    message=f"库点 {row.location_code} 的物资 {row.item_code} 已在第 {first} 行填写，"
                            "每个库点每种物资一行"))
        if len(parsed.errors) > MAX_ERRORS:
            parsed.errors_omitted += len(parsed.errors) - MAX_ERRORS
            del parsed.errors[MAX_ERRORS:]
    return parsed


def _read_row(number: int, values: Sequence[object], columns: dict[str, int], letters: dict[str, str],
              errors: list[RowError]) -> QuotaRow | None:
    """The row as a QuotaRow, or ``None`` with what is wrong appended to ``errors`` (nothing for a skipped row)."""
    cells = {name: values[i] if i < len(values) else None for name, i in columns.items()}
    location = cells.get("库点编码")
    if type(location) is str and (location.strip().startswith(_SKIPPED)
                                  or _CANONICAL.get(normalise_label(location)) == "库点编码"):
        return None  # a subtotal or note row, or the header repeated
    if location is None and cells.get("物资编码") is None and any(
            type(v) is str and v.strip().startswith(_SKIPPED[:3]) for v in values):
        return None  # 合计 written in another column (the name, say), codes empty
    fields: dict[str, Any] = {}
    problems: list[RowError] = []

    def problem(name: str, value: object, message: str) -> None:
        problems.append(RowError(row=number, column=name, value=value, message=f"{name}：{message}",
                                 letter=letters.get(name, "")))

    for name, reader in _READERS.items():
        if name not in columns or cells[name] is None:
            continue
        try:
            fields[name] = reader(cells[name])
        except CellError as exc:
            problem(name, cells[name], str(exc))
    given = {name for name, value in fields.items() if value is not None}
    if not given - {"库点编码", "备注"} and not problems:
        return None  # blank, a heading such as 一、防汛物资, or text only in columns not read
    for name in REQUIRED:
        if name not in given and not any(p.column == name for p in problems):
            problem(name, None, "不能为空")
    season = [name for name in _SEASON if name in given]
    if season and len(season) < len(_SEASON):
        for name in _SEASON:
            if name not in given and not any(p.column == name for p in problems):
                problem(name, None, "汛期最低储备量、汛期起、汛期止须同时填写（不设汛期定额则都留空）")
    if problems:
        errors.extend(problems)
        return None
    return QuotaRow(row=number, location_code=fields["库点编码"], item_code=fields["物资编码"],
                    minimum=fields["最低储备量"], warning_margin=fields.get("预警余量") or 0,
                    season_minimum=fields.get("汛期最低储备量"), season_start=fields.get("汛期起"),
                    season_end=fields.get("汛期止"), note=fields.get("备注") or "")


class QuotaTemplateRow(msgspec.Struct, frozen=True, kw_only=True):
    """A quota as the template lists it (a current quota, to be changed and imported back)."""

    location_code: str
    location_name: str = ""
    item_code: str
    item_name: str = ""
    spec: str = ""
    unit: str = ""
    minimum: int
    warning_margin: int = 0
    season_minimum: int | None = None
    season_start: str | None = None
    season_end: str | None = None
    note: str = ""


TEMPLATE_COLUMNS: Final = (("库点编码", 16), ("库点名称", 24), ("物资编码", 16), ("物资名称", 18), ("规格型号", 18),
                           ("计量单位", 8), ("最低储备量", 11), ("预警余量", 9), ("汛期最低储备量", 14),
                           ("汛期起", 9), ("汛期止", 9), ("备注", 20))
TEMPLATE_NOTE: Final = ("说明：每个库点每种物资一行；库点编码、物资编码、最低储备量必填，数量为整数。"
                        "预警余量：可用库存低于「最低储备量 + 预警余量」时提示预警，可留空（即 0）。"
                        "汛期另有更高定额的，填写汛期最低储备量和汛期起、汛期止（写成 04-01、09-30 或 4月1日），"
                        "三项同时填写或同时留空。导入时表中每一行覆盖该库点该物资的定额，表中没有的定额不变；"
                        "同一张表重复导入不会改变任何数据。")
_HEADER_FILL: Final = PatternFill("solid", fgColor="FFD9E1F2")


def write_quota_template(rows: Iterable[QuotaTemplateRow], *, title: str = "应急物资储备定额表") -> bytes:
    """The quota sheet (.xlsx): title, note, header on row 3, one row per quota given (blocking: use a thread)."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("储备定额")
    for position, (_, width) in enumerate(TEMPLATE_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    sheet.freeze_panes = "A4"

    def styled(value: str, **style: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    sheet.append([styled(title, font=Font(bold=True, size=14))])
    sheet.append([styled(TEMPLATE_NOTE, alignment=Alignment(wrap_text=False))])
    sheet.append([styled(name, font=Font(bold=True), fill=_HEADER_FILL) for name, _ in TEMPLATE_COLUMNS])
    for r in rows:
        sheet.append([r.location_code, r.location_name, r.item_code, r.item_name, r.spec, r.unit, r.minimum,
                      r.warning_margin, r.season_minimum, r.season_start, r.season_end, r.note or None])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
