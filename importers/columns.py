"""Where the table is on a counting sheet: column names and their aliases, the header row, the header block."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from importers.cells import CellError, clean_text, parse_date

# Canonical column name → the other names people give it (after normalise_label).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "序号": (),
    "物资编号": ("物资代码", "编号", "品目编号"),
    "物资名称": ("品名", "名称"),
    "规格型号": ("规格", "型号"),
    "计量单位": ("单位",),
    "批号": ("批次", "批次号"),
    "生产日期": (),
    "有效期": ("保质期", "失效日期", "有效期至"),
    "存放位置": ("存放地点", "库位", "货位"),
    "序列号": ("出厂编号", "设备编号"),
    "标签编码": ("标签码", "二维码"),
    "账面数量": ("系统数量", "账存数量", "账面数"),
    "实盘数量": ("实际数量", "实存数量", "盘点数量", "实盘数"),
    "差异": ("差异数量", "盈亏数量"),
    "差异原因": ("盈亏原因", "原因"),
    "备注": (),
    # Who counted the row (a counting team writes its names per row); the same person as the header's 盘点人.
    "盘点人": ("责任人", "盘点责任人"),
}
REQUIRED_COLUMNS = ("物资编号", "实盘数量")
HEADER_SEARCH_ROWS = 20

# Header block label → canonical key in ParsedSheet.header.
HEADER_LABELS: dict[str, str] = {
    "盘点单号": "盘点单号",
    "盘点编号": "盘点单号",
    "盘点日期": "盘点日期",
    "地点": "地点",
    "盘点地点": "地点",
    "盘点人": "盘点人",
    "责任人": "盘点人",  # the person responsible for the count (stocktake.counted_by), not the supervisor
    "盘点责任人": "盘点人",
    "监盘人": "监盘人",
    "审核人": "监盘人",
}

_CANONICAL = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in (name, *aliases)}
_WHITESPACE = re.compile(r"\s+")
_UNIT_HINT = re.compile(r"\([^()]*\)$")
_SEPARATORS = " \t\r\n\u3000,，;；、|"
# "盘点日期：2025-03-31  盘点人：张三" — any number of "label：value" pairs in one cell.
_PAIR = re.compile(
    "(" + "|".join(sorted(HEADER_LABELS, key=len, reverse=True)) + r")\s*[:：]\s*"
)


@dataclass(frozen=True, slots=True)
class Column:
    """One recognised column: 0-based position and the header text as written in the sheet."""

    index: int
    written: str


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """The header row found in the first rows of a sheet: its 0-based index and the columns it names."""

    index: int
    columns: dict[str, Column]

    @property
    def missing(self) -> list[str]:
        """Required columns the header lacks."""
        return [name for name in REQUIRED_COLUMNS if name not in self.columns]


def sheets_in_order(workbook: Any) -> list[Any]:
    """The workbook's worksheets, the active one first: where to look for the table."""
    sheets = list(workbook.worksheets)
    active = workbook.active
    if active in sheets:
        sheets.remove(active)
        sheets.insert(0, active)
    return sheets


def normalise_label(text: str) -> str:
    """A header cell reduced for matching: NFKC, no spaces or line breaks, no trailing "（台）" hint or colon."""
    label = _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).strip("*:")
    while (stripped := _UNIT_HINT.sub("", label)) != label and stripped:
        label = stripped
    return label.strip("*:")


def canonical_column(text: object) -> str | None:
    """The canonical column name a header cell stands for, if it is one we know."""
    if type(text) is not str:
        return None
    return _CANONICAL.get(normalise_label(text))


def find_header(rows: Sequence[Sequence[object]]) -> HeaderMatch | None:
    """The row naming the most known columns (at least two), first wins on a tie; ``None`` if none does."""
    best: HeaderMatch | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, Column] = {}
        for position, value in enumerate(row):
            name = canonical_column(value)
            if name is not None and name not in columns:
                columns[name] = Column(position, " ".join(str(value).split()))
        if len(columns) >= 2 and (best is None or len(columns) > len(best.columns)):
            best = HeaderMatch(index, columns)
    return best


def read_header_block(rows: Sequence[Sequence[object]]) -> dict[str, str]:
    """Labelled values above the table ("盘点日期：2025-03-31" in one cell, or label cell then value cell)."""
    header: dict[str, str] = {}
    for row in rows:
        cells = [clean_text(value) if type(value) is str else value for value in row]
        for position, value in enumerate(cells):
            if type(value) is not str:
                continue
            key = HEADER_LABELS.get(normalise_label(value))
            if key is not None:
                following = next((v for v in cells[position + 1 :] if v is not None and v != ""), None)
                if following is not None and not _is_label(following):
                    header.setdefault(key, _header_value(key, following))
                continue
            for key, text in _pairs(value):
                if text:
                    header.setdefault(key, _header_value(key, text))
    return header


def _is_label(value: object) -> bool:
    return type(value) is str and (normalise_label(value) in HEADER_LABELS or bool(_PAIR.match(value)))


def _pairs(text: str) -> list[tuple[str, str]]:
    matches = list(_PAIR.finditer(text))
    pairs = []
    for number, match in enumerate(matches):
        end = matches[number + 1].start() if number + 1 < len(matches) else len(text)
        pairs.append((HEADER_LABELS[match.group(1)], text[match.end() : end].strip(_SEPARATORS)))
    return pairs


def _header_value(key: str, value: object) -> str:
    if key == "盘点日期":
        try:
            date = parse_date(value)
        except CellError:
            date = None
        if date is not None:
            return date.isoformat()
    return clean_text(value) or ""
