"""The 风险隐患点 list (风险隐患点清单): read into typed rows and row-level errors.

One row per risk point: 编号, 名称, 类型, 行政区划代码, 纬度, 经度 (required), 坐标系 (WGS-84 when empty), 权重 or
受威胁人数 (1 for every row when the sheet has no such column), 备注, and its needs, written either in one 需求
cell ("抽水泵×2；沙袋×500") or one column per item type headed by its code or name (a 龙吸水 column holding 2),
or both. The table is found by its column names (with aliases) in the first 20 rows of any sheet; a second
header row under merged group headings (物资需求 over 抽水泵 | 沙袋) is read too, and cells merged down a column
(a 类型 or 行政区划代码 written once for several rows) count for each row they cover. Blank rows, a repeated
header, headings (一、堤段), subtotal and note rows and the template's example row (编号 示例…) are skipped.

Item types are found in the ``catalogue`` the caller gives ((code, name) pairs): a column headed by neither a
known column nor an item type is ignored unless it holds numbers, when it is an error (a misspelt item type).
Every bad cell becomes a :class:`~importers.count_rows.RowError` in Chinese (row, column, value, what is wrong),
and a row with any error is left out of ``rows``. No database here. Where the table is:
:mod:`importers.risk_point_table`; cells: :mod:`importers.risk_point_cells`; the template:
:mod:`importers.risk_point_template`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, Final

import msgspec
from openpyxl.utils import get_column_letter

from importers.archive_guard import MAX_ROWS, SheetTooLarge, SheetUnreadable
from importers.cells import CellError, clean_code, clean_text
from importers.columns import HEADER_SEARCH_ROWS, sheets_in_order
from importers.count_rows import RowError
from importers.count_sheet import MAX_ERRORS, read_uploaded_workbook
from importers.risk_point_cells import (
    Catalogue,
    read_count,
    read_crs,
    read_degrees,
    read_kind,
    read_needs,
    read_region_code,
    read_weight,
)
from importers.risk_point_table import (
    REQUIRED,
    RISK_COLUMNS,
    Table,
    canonical,
    filled,
    find_header,
    read_table,
    vertical_merges,
)
from importers.risk_point_template import RiskTemplateRow, write_risk_point_template

__all__ = ["RISK_COLUMNS", "ParsedRiskSheet", "RiskNeedCell", "RiskPointRow", "RiskTemplateRow", "SheetTooLarge",
           "SheetUnreadable", "parse_risk_point_sheet", "write_risk_point_template"]

_SKIPPED: Final = ("合计", "小计", "总计", "说明", "填表说明", "注：", "注:")
EXAMPLE: Final = "示例"
NO_HEADER: Final = (f"没有找到风险隐患点清单的表头：前 {HEADER_SEARCH_ROWS} 行中没有一行写着「编号」「名称」「类型」"
                    "「行政区划代码」「纬度」「经度」这几列（可用别名，如 风险点编号、区划代码、lat、lon）")


class RiskNeedCell(msgspec.Struct, frozen=True, gc=False):
    """A need read from a row: the item type's code, the quantity, and the column it was written in."""

    item_code: str
    quantity: int
    column: str
    letter: str


class RiskPointRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One clean row: a risk point as written (coordinates in ``crs``), with its needs."""

    row: int
    code: str
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    crs: str = "wgs84"
    weight: float = 1.0
    note: str = ""
    needs: tuple[RiskNeedCell, ...] = ()


class ParsedRiskSheet(msgspec.Struct, kw_only=True):
    """A parsed list: where its header is, the columns found (name → letter; item columns by code), rows, errors."""

    sheet_name: str
    header_row: int
    columns: dict[str, str]
    item_columns: dict[str, str]
    rows: list[RiskPointRow]
    errors: list[RowError]
    errors_omitted: int = 0


def parse_risk_point_sheet(source: bytes, catalogue: Iterable[tuple[str, str]]) -> ParsedRiskSheet:
    """Read a 风险隐患点 list (blocking: call it in a worker thread); SheetUnreadable when it cannot be read at all.

    ``catalogue``: the (code, name) of every item type a need may name. The archive is checked first
    (:func:`importers.archive_guard.check_archive`), before openpyxl reads any of it.
    """
    return read_uploaded_workbook(source, lambda workbook: _parse_workbook(source, workbook, Catalogue(catalogue)))


def _parse_workbook(source: bytes, workbook: Any, catalogue: Catalogue) -> ParsedRiskSheet:
    fallback: ParsedRiskSheet | None = None
    for sheet in sheets_in_order(workbook):
        sheet.reset_dimensions()  # a wrong <dimension> in the file must not cut rows off
        rest = filled(sheet.iter_rows(values_only=True), vertical_merges(source, sheet))
        head = list(islice(rest, HEADER_SEARCH_ROWS + 1))
        found = find_header(head[:HEADER_SEARCH_ROWS])
        if found is None:
            continue
        errors: list[RowError] = []
        table = read_table(head, *found, catalogue, errors)
        if all(name in table.columns for name in REQUIRED):
            return _parse(sheet.title, head, table, rest, catalogue, errors)
        if fallback is None:
            fallback = _missing_columns(sheet.title, table)
    if fallback is None:
        raise SheetUnreadable(NO_HEADER)
    return fallback


def _missing_columns(title: str, table: Table) -> ParsedRiskSheet:
    parsed = ParsedRiskSheet(sheet_name=title, header_row=table.last_header_row, rows=[], errors=[], item_columns={},
                             columns={n: get_column_letter(p + 1) for n, p in table.columns.items()})
    for name in REQUIRED:
        if name not in table.columns:
            aliases = "、".join(RISK_COLUMNS[name])
            parsed.errors.append(RowError(row=table.last_header_row, column=name, value=None,
                                          message=f"表头缺少必需的列「{name}」（也可写作：{aliases}）"))
    return parsed


def _parse(title: str, head: list[list[object]], table: Table, rest: Iterator[list[object]],
           catalogue: Catalogue, errors: list[RowError]) -> ParsedRiskSheet:
    parsed = ParsedRiskSheet(sheet_name=title, header_row=table.last_header_row, rows=[], errors=errors,
                             columns={n: get_column_letter(p + 1) for n, p in table.columns.items()},
                             item_columns={get_column_letter(p + 1): code for p, (code, _) in table.items.items()})
    reader = _RowReader(table, catalogue)
    seen: dict[str, int] = {}
    for number, values in enumerate(chain(head[table.last_header_row:], rest), start=table.last_header_row + 1):
        if number > MAX_ROWS:
            raise SheetTooLarge(f"工作表「{title}」超过 {MAX_ROWS:,} 行，请删除表格末尾多余的行后再上传",
                                part=title, limit=MAX_ROWS)
        row = reader.read(number, values, parsed.errors)
        if row is not None:
            first = seen.setdefault(row.code, number)
            if first == number:
                parsed.rows.append(row)
            else:
                parsed.errors.append(RowError(row=number, column="编号", value=row.code, letter=parsed.columns["编号"],
                                              message=f"编号：{row.code} 已在第 {first} 行填写，每个风险隐患点一行"))
        if len(parsed.errors) > MAX_ERRORS:
            parsed.errors_omitted += len(parsed.errors) - MAX_ERRORS
            del parsed.errors[MAX_ERRORS:]
    for position, first_row in sorted(reader.numbers_in_other.items()):
        text = table.other[position]
        parsed.errors.append(RowError(
            row=table.last_header_row, column=text, value=text, letter=get_column_letter(position + 1),
            message=f"「{text}」列填有数量或物资需求（第 {first_row} 行起），但「{text}」既不是本表的列名，"
                    "也不是已有物资品目的编码或名称：物资需求列的表头请写物资编码或名称（如 沙袋），"
                    "或写「需求」，与本表无关的列请删除"))
    return parsed


_READERS: Final = {"编号": clean_code, "名称": clean_text, "类型": read_kind, "行政区划代码": read_region_code,
                   "纬度": read_degrees, "经度": read_degrees, "坐标系": read_crs, "权重": read_weight,
                   "备注": clean_text}
_LIMITS: Final = {"编号": 40, "名称": 100, "备注": 200}


class _RowReader:
    """Turns one row of values into a RiskPointRow or RowErrors; notes numbers in columns it does not read."""

    def __init__(self, table: Table, catalogue: Catalogue) -> None:
        self.table = table
        self.catalogue = catalogue
        self.letters = {name: get_column_letter(p + 1) for name, p in table.columns.items()}
        self.numbers_in_other: dict[int, int] = {}

    def read(self, number: int, values: Sequence[object], errors: list[RowError]) -> RiskPointRow | None:
        """The row as a RiskPointRow, or ``None`` with what is wrong appended to ``errors`` (nothing if skipped)."""
        cells = {name: values[p] if p < len(values) else None for name, p in self.table.columns.items()}
        if self._skipped(cells, values):
            return None
        fields: dict[str, Any] = {}
        problems: list[RowError] = []

        def problem(name: str, value: object, message: str, letter: str | None = None) -> None:
            problems.append(RowError(row=number, column=name, value=value, message=f"{name}：{message}",
                                     letter=self.letters.get(name, "") if letter is None else letter))

        for name, reader in _READERS.items():
            if cells.get(name) is None:
                continue
            try:
                fields[name] = reader(cells[name])
            except CellError as exc:
                problem(name, cells[name], str(exc))
                continue
            limit = _LIMITS.get(name)
            if limit is not None and fields[name] is not None and len(fields[name]) > limit:
                problem(name, cells[name], f"过长（不能超过 {limit} 个字）")
        needs = self._needs(values, cells, problem)
        self._note_numbers(number, values)
        given = {name for name, value in fields.items() if value is not None}
        if not needs and not problems and len(given - {"备注"}) <= 1 and given <= {"编号", "名称", "备注"}:
            return None  # blank, a heading such as 一、堤段, or text only in columns not read
        for name in REQUIRED:
            if name not in given and not any(p.column == name for p in problems):
                problem(name, None, "不能为空")
        if "权重" in self.table.columns and "权重" not in given and not any(p.column == "权重" for p in problems):
            problem("权重", None, "不能为空（不知道受威胁人数的，可填优先级，如 1）")
        if problems:
            errors.extend(problems)
            return None
        return RiskPointRow(row=number, code=fields["编号"], name=fields["名称"], kind=fields["类型"],
                            region_code=fields["行政区划代码"], lat=fields["纬度"], lon=fields["经度"],
                            crs=fields.get("坐标系") or "wgs84", weight=fields.get("权重") or 1.0,
                            note=fields.get("备注") or "", needs=tuple(needs))

    def _skipped(self, cells: dict[str, object], values: Sequence[object]) -> bool:
        code = cells.get("编号")
        if type(code) is str and (code.strip().startswith((*_SKIPPED, EXAMPLE)) or canonical(code) == "编号"):
            return True  # a subtotal or note row, the header repeated, or the template's example
        return code is None and cells.get("名称") is None and any(
            type(v) is str and v.strip().startswith(_SKIPPED[:3]) for v in values)

    def _needs(self, values: Sequence[object], cells: dict[str, object], problem: Any) -> list[RiskNeedCell]:
        needs: list[RiskNeedCell] = []
        where: dict[str, str] = {}

        def add(code: str, quantity: int, column: str, letter: str, value: object) -> None:
            if code in where:
                problem(column, value, f"物资 {code} 在本行已填写（{where[code]}），每种物资只填一次", letter)
                return
            where[code] = f"「{column}」列"
            needs.append(RiskNeedCell(code, quantity, column, letter))

        for position, (code, header) in self.table.items.items():
            value = values[position] if position < len(values) else None
            letter = get_column_letter(position + 1)
            try:
                quantity = read_count(value)
            except CellError as exc:
                problem(header, value, str(exc), letter)
                continue
            if quantity is not None:
                add(code, quantity, header, letter, value)
        for position, header in self.table.texts.items():
            value = values[position] if position < len(values) else None
            letter = get_column_letter(position + 1)
            try:
                found = read_needs(value, self.catalogue)
            except CellError as exc:
                problem(header, value, str(exc), letter)
                continue
            for code, quantity in found:
                add(code, quantity, header, letter, value)
        return needs

    def _note_numbers(self, number: int, values: Sequence[object]) -> None:
        """Remember the first row where a column not read holds a quantity, or needs such as 沙袋×500."""
        for position in self.table.other:
            if position in self.numbers_in_other or position >= len(values) or values[position] is None:
                continue
            for reader in (read_count, lambda v: read_needs(v, self.catalogue)):
                try:
                    if reader(values[position]):
                        self.numbers_in_other[position] = number
                        break
                except CellError:
                    continue


