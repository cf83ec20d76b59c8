"""Where the table is on a 风险隐患点 list: column names and aliases, a second header row, cells merged down.

openpyxl's read-only mode (the only one safe for uploads) does not read merged cells, so their ranges are
found in the worksheet's XML here and a cell merged down a column is given to every row it covers.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any, Final

import msgspec
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from importers.cells import CellError, clean_text
from importers.columns import normalise_label
from importers.count_rows import RowError
from importers.risk_point_cells import Catalogue, key

# Canonical column → the other names people give it (compared after normalise_label, case folded).
RISK_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "编号": ("风险点编号", "隐患点编号", "风险隐患点编号", "风险点编码", "隐患点编码", "点位编号", "编码", "代码"),
    "名称": ("风险点名称", "隐患点名称", "风险隐患点名称", "风险隐患点", "点位名称", "隐患点", "风险点"),
    "类型": ("类别", "风险类型", "隐患类型", "风险点类型", "隐患点类型", "风险隐患类型", "点位类型"),
    "行政区划代码": ("区划代码", "行政区划", "所属区划代码", "所属区划", "所在区划代码", "行政区域代码", "区划编码",
                  "行政区划编码", "所属行政区划代码", "所属行政区划"),
    "纬度": ("lat", "latitude", "北纬"),
    "经度": ("lon", "lng", "longitude", "东经"),
    "坐标系": ("坐标系统", "坐标类型", "坐标系类型"),
    "权重": ("受威胁人数", "威胁人数", "受威胁人口", "威胁人口", "影响人数", "优先级"),
    "需求": ("物资需求", "所需物资", "需求物资", "应急物资需求", "需配备物资", "所需应急物资"),
    "备注": ("说明",),
}
REQUIRED: Final = ("编号", "名称", "类型", "行政区划代码", "纬度", "经度")
# Columns for people that are neither read nor taken for an item type's column, even when they hold numbers.
IGNORED: Final = frozenset(key(text) for text in (
    "序号", "地址", "位置", "具体位置", "详细地址", "所在位置", "所在地", "乡镇", "所在乡镇", "乡镇(街道)", "村",
    "所在村", "行政村", "区划名称", "县区", "所属县区", "责任人", "负责人", "联系人", "联系电话", "电话", "手机",
    "手机号码", "巡查责任人", "行政责任人", "技术责任人", "险情描述", "隐患描述", "风险描述", "基本情况",
    "情况说明", "描述", "转移路线", "安置点", "避险场所", "预警方式", "应急措施", "处置措施", "风险等级",
    "隐患等级", "等级", "户数", "受威胁户数", "威胁户数", "长度", "堤长", "面积", "库容", "高程", "警戒水位",
    "保证水位", "海拔",
))
CANONICAL: Final = {key(alias): name for name, aliases in RISK_COLUMNS.items() for alias in (name, *aliases)}
_MERGE: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([A-Z]+\d+:[A-Z]+\d+)[\"']")
_MAX_MERGES: Final = 100_000


class Table(msgspec.Struct, kw_only=True):
    """Where things are: the last header row (1-based), known columns and item columns by position."""

    last_header_row: int
    columns: dict[str, int]
    items: dict[int, tuple[str, str]]  # position → (item code, header as written)
    texts: dict[int, str]  # position → header: needs written as text (需求, and 其他需求 or the like)
    other: dict[int, str]  # position → header as written: ignored unless it holds numbers or needs


def vertical_merges(source: bytes, sheet: Any) -> dict[int, list[tuple[int, int]]]:
    """Cells merged down a column: first row → [(0-based column, last row)], read from the sheet's XML."""
    part = getattr(sheet, "_worksheet_path", None)
    merges: dict[int, list[tuple[int, int]]] = {}
    if not part:
        return merges

    def add(ref: bytes) -> None:
        first_col, first_row, _, last_row = range_boundaries(ref.decode())
        if first_col is not None and first_row is not None and last_row is not None and last_row > first_row:
            merges.setdefault(first_row, []).append((first_col - 1, last_row))

    count, tail = 0, b""
    with zipfile.ZipFile(io.BytesIO(source)) as archive, archive.open(part.lstrip("/")) as xml:
        while count < _MAX_MERGES and (chunk := xml.read(1024 * 1024)):
            buffer = tail + chunk
            cut = max(buffer.rfind(b"<"), 0)  # a tag cut in two waits for the next chunk
            for match in _MERGE.finditer(buffer, 0, cut):
                add(match[1])
                count += 1
            tail = buffer[cut:]
        for match in _MERGE.finditer(tail):
            add(match[1])
    return merges


def filled(rows: Iterator[tuple[object, ...]], merges: dict[int, list[tuple[int, int]]]) -> Iterator[list[object]]:
    """The rows with each cell merged down a column holding the value of the merge's first cell."""
    carry: dict[int, tuple[object, int]] = {}
    for number, row in enumerate(rows, start=1):
        values = list(row)
        for column, last in merges.get(number, ()):
            if column < len(values) and values[column] is not None:
                carry[column] = (values[column], last)
        for column, (value, last) in list(carry.items()):
            if number > last:
                del carry[column]
                continue
            if column >= len(values):
                values.extend([None] * (column + 1 - len(values)))
            if values[column] is None:
                values[column] = value
        yield values


def canonical(value: object) -> str | None:
    """The canonical column a header cell names (编号, 名称…), if it names one."""
    return CANONICAL.get(key(normalise_label(value))) if type(value) is str else None


def find_header(rows: Sequence[Sequence[object]]) -> tuple[int, dict[str, int]] | None:
    """(0-based row, canonical column → position) of the row naming the most known columns (two at least)."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows):
        columns: dict[str, int] = {}
        for position, value in enumerate(row):
            name = canonical(value)
            if name is not None and name not in columns:
                columns[name] = position
        if len(columns) >= 2 and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    return best


def read_table(head: Sequence[Sequence[object]], index: int, columns: dict[str, int], catalogue: Catalogue,
           errors: list[RowError]) -> Table:
    """The known and item columns, from the header row and a second header row under it, if there is one.

    The row under the header is a second header row when it holds only text and nothing in the 编号 column
    (a data row always has a 编号): item types under a merged 物资需求, 经度 and 纬度 under a merged 坐标, or
    units such as （人） under known columns (which are left as they are).
    """
    header = list(head[index])
    labels: dict[int, object] = dict(enumerate(header))
    below = list(head[index + 1]) if index + 1 < len(head) else []
    sub = {p: v for p, v in enumerate(below) if v is not None and (p >= len(header) or v != header[p])}
    last = index
    if sub and all(type(v) is str for v in sub.values()) and columns.get("编号") not in sub:
        last = index + 1
        for position, value in sub.items():
            if position == columns.get("需求") and _is_label(value, catalogue):
                del columns["需求"]  # 物资需求 is the heading of item columns, not a column of its own
            if position not in columns.values():
                labels[position] = value
    items: dict[int, tuple[str, str]] = {}
    texts: dict[int, str] = {}
    other: dict[int, str] = {}
    for position, value in labels.items():
        text = clean_text(value) if type(value) is str else None
        if text is None or position in columns.values():
            continue
        name = canonical(text)
        if name == "需求" and "需求" in columns:
            texts[position] = text  # a second column of needs (物资需求 and 其他需求)
        elif name is not None:
            columns.setdefault(name, position)
        if name is not None:
            continue
        if key(normalise_label(text)) in IGNORED:
            continue
        try:
            code = catalogue.find(normalise_label(text) or text) or catalogue.find(text)
        except CellError as exc:
            errors.append(RowError(row=last + 1, column=text, value=text, letter=get_column_letter(position + 1),
                                   message=f"表头「{text}」：{exc}"))
            continue
        if code is not None:
            items[position] = (code, text)
        elif "需求" in text:
            texts[position] = text
        else:
            other[position] = text
    if "需求" in columns:
        texts = {columns["需求"]: "需求", **texts}
    return Table(last_header_row=last + 1, columns=columns, items=items, texts=texts, other=other)


def _is_label(value: object, catalogue: Catalogue) -> bool:
    """Whether a second header row's cell names a column or an item type (not a unit or a hint)."""
    if type(value) is not str or not value.strip():
        return False
    try:
        return canonical(value) is not None or catalogue.find(normalise_label(value) or value) is not None
    except CellError:
        return True  # an ambiguous item name: a header all the same (the error is reported with the columns)
