"""The optimiser's CSV files in: demand points, candidate sites and (optionally) travel times, into an Instance.

UTF-8 with or without a BOM (Excel and WPS write one), a header row, columns found by name (any case, any
order; others ignored), CRLF or LF, spaces around cells and blank lines tolerated. Every problem in every
file is collected — file, line, column, what is wrong — and refused at once in one :class:`InvalidInput`.

* demand ``id,lat,lon,weight`` — weight > 0;
* sites ``id,lat,lon``;
* times ``site,point,minutes`` (or ``from,to,minutes``) — minutes ≥ 0; a pair not listed is unreachable.

Without a times file every coordinate is needed and travel minutes are estimated
(:func:`inventory.placement.travel.estimate_minutes`); with one, coordinates may be empty and are not used.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from inventory.errors import InvalidInput
from inventory.placement.problem import FloatArray, Instance
from inventory.placement.travel import DEFAULT_MINUTES_PER_KM, estimate_minutes

__all__ = ["MAX_LISTED_ERRORS", "CsvFile", "FileProblem", "parse_instance", "read_instance"]

MAX_LISTED_ERRORS: Final = 50
"""How many problems the error lists; the rest are counted."""

_COLUMNS: Final = {
    "demand": ("id", "lat", "lon", "weight"),
    "sites": ("id", "lat", "lon"),
    "times": ("site", "point", "minutes"),
}
_ALIASES: Final = {"times": {"from": "site", "to": "point"}}

_Bad = Callable[[str, str], None]
"""Reports a problem in the current row: ``bad(column, message)``."""


@dataclass(frozen=True)
class CsvFile:
    """A file's name (as errors will call it) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong in one file: the line (1 = the header) and column when it is about a cell."""

    file: str
    line: int | None
    column: str | None
    message: str

    def text(self) -> str:
        """The problem as one line a person can act on."""
        where = self.file if self.line is None else f"{self.file} 第 {self.line} 行"
        return f"{where}「{self.column}」：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass
class _Problems:
    """The first problems found (up to the cap) and how many there were."""

    kinds: list[str] = field(default_factory=list)
    listed: list[FileProblem] = field(default_factory=list)
    total: int = 0

    def add(self, kind: str, problem: FileProblem) -> None:
        self.total += 1
        if len(self.listed) < MAX_LISTED_ERRORS:
            self.listed.append(problem)
            self.kinds.append(kind)

    def raise_if_any(self) -> None:
        """Refuse with every problem listed (up to the cap), or return when there is none."""
        if not self.total:
            return
        lines = [f"文件有 {self.total} 处错误 ({self.total} problem(s) in the files):"]
        lines += [f"  {p.text()}" for p in self.listed]
        if self.total > len(self.listed):
            more = self.total - len(self.listed)
            lines.append(f"  …另有 {more} 处错误未列出 (and {more} more)")
        raise InvalidInput("\n".join(lines), field=self.kinds[0], extra={
            "errors": [{"file": p.file, "line": p.line, "column": p.column, "message": p.message}
                       for p in self.listed],
            "total": self.total,
        })


@dataclass
class _Places:
    """Ids in file order with their coordinates (NaN where left empty), and the line each id is on."""

    ids: list[str] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    line_of: dict[str, int] = field(default_factory=dict)


def read_instance(demand: Path, sites: Path, times: Path | None = None, *,
                  minutes_per_km: npt.ArrayLike = DEFAULT_MINUTES_PER_KM,
                  mobilisation: npt.ArrayLike = 0.0) -> Instance:
    """Read the files at these paths into an instance; see :func:`parse_instance`."""
    problems = _Problems()
    files: list[CsvFile | None] = []
    for kind, path in (("demand", demand), ("sites", sites), ("times", times)):
        if path is None:
            files.append(None)
            continue
        try:
            files.append(CsvFile(path.name, path.read_bytes()))
        except OSError as exc:
            problems.add(kind, FileProblem(str(path), None, None, f"无法读取 (cannot read): {exc.strerror or exc}"))
            files.append(None)
    problems.raise_if_any()
    demand_file, sites_file, times_file = files
    assert demand_file is not None and sites_file is not None
    return parse_instance(demand_file, sites_file, times_file, minutes_per_km=minutes_per_km,
                          mobilisation=mobilisation)


def parse_instance(demand: CsvFile, sites: CsvFile, times: CsvFile | None = None, *,
                   minutes_per_km: npt.ArrayLike = DEFAULT_MINUTES_PER_KM,
                   mobilisation: npt.ArrayLike = 0.0) -> Instance:
    """Demand points, candidate sites and travel minutes from the files' bytes; one InvalidInput lists all problems.

    With ``times``, listed pairs take its minutes and every other pair is unreachable (``inf``); without it,
    minutes are estimated from the coordinates with ``minutes_per_km`` and ``mobilisation`` (scalars or per site).
    """
    problems = _Problems()
    need_coordinates = times is None
    points = _read_places("demand", demand, problems, need_coordinates=need_coordinates)
    candidates = _read_places("sites", sites, problems, need_coordinates=need_coordinates)
    listed = _read_times(times, points, candidates, problems) if times is not None else None
    problems.raise_if_any()
    minutes = listed if listed is not None else estimate_minutes(
        candidates.lat, candidates.lon, points.lat, points.lon, minutes_per_km=minutes_per_km,
        mobilisation=mobilisation)
    return Instance(point_ids=tuple(points.ids), weights=np.asarray(points.weight, dtype=np.float64),
                    site_ids=tuple(candidates.ids), minutes=minutes)


def parse_times(file: CsvFile, site_ids: Sequence[str], point_ids: Sequence[str]) -> FloatArray:
    """A travel-time file (``site,point,minutes``) for these sites and points: ``inf`` where a pair is not listed.

    Every problem is listed at once in one :class:`InvalidInput` (line, column, what is wrong), as for the CLI.
    """
    problems = _Problems()
    minutes = _read_times(file, _Places(ids=list(point_ids)), _Places(ids=list(site_ids)), problems)
    problems.raise_if_any()
    return minutes


def _read_places(kind: str, file: CsvFile, problems: _Problems, *, need_coordinates: bool) -> _Places:
    """Demand points (with weights) or candidate sites, in file order."""
    places = _Places()
    before, rows = problems.total, 0
    for line, cell in _rows(kind, file, problems):
        rows += 1
        def bad(column: str, message: str, line: int = line) -> None:
            problems.add(kind, FileProblem(file.name, line, column, message))

        ident = cell("id")
        if not ident:
            bad("id", "编号不能为空 (id is required)")
        elif ident in places.line_of:
            bad("id", f"编号 {ident!r} 重复，第 {places.line_of[ident]} 行已有 (duplicate id, first on that line)")
            continue
        else:
            places.line_of[ident] = line
        lat, lon = _coordinate(cell, bad, need=need_coordinates)
        weight = 1.0
        if kind == "demand":
            given = _number(cell("weight"), "weight", "权重", bad, low=0.0, low_open=True)
            weight = math.nan if given is None else given
        if ident:
            places.ids.append(ident)
            places.lat.append(lat)
            places.lon.append(lon)
            places.weight.append(weight)
    _need_rows(kind, file, problems, rows, before)
    return places


def _read_times(file: CsvFile, points: _Places, sites: _Places, problems: _Problems) -> FloatArray:
    """Minutes from each site (rows) to each point (columns): as listed, ``inf`` where not listed."""
    site_index = {s: j for j, s in enumerate(sites.ids)}
    point_index = {p: i for i, p in enumerate(points.ids)}
    minutes = np.full((len(sites.ids), len(points.ids)), np.inf)
    line_of = np.zeros(minutes.shape, dtype=np.int32)  # the line that listed the pair, 0 when none yet
    before, rows = problems.total, 0
    for line, cell in _rows("times", file, problems):
        rows += 1
        def bad(column: str, message: str, line: int = line) -> None:
            problems.add("times", FileProblem(file.name, line, column, message))

        site, point = cell("site"), cell("point")
        j = _known(site, "site", site_index, "候选站点", "sites", bad)
        i = _known(point, "point", point_index, "需求点", "demand", bad)
        value = _number(cell("minutes"), "minutes", "行驶时间（分钟）", bad, low=0.0)
        if j is None or i is None or value is None:
            continue
        if line_of[j, i]:
            bad("site", f"站点 {site!r} 到需求点 {point!r} 重复，第 {line_of[j, i]} 行已有 (duplicate pair)")
            continue
        line_of[j, i] = line
        minutes[j, i] = value
    _need_rows("times", file, problems, rows, before)
    return minutes


def _need_rows(kind: str, file: CsvFile, problems: _Problems, rows: int, problems_before: int) -> None:
    """Report a file whose header is right but that has no data rows."""
    if rows == 0 and problems.total == problems_before:
        what = {"demand": "需求点", "sites": "候选站点", "times": "行驶时间"}[kind]
        problems.add(kind, FileProblem(file.name, None, None, f"没有{what}数据行 (no data rows)"))


class _Cells:
    """A row's cells by column name (stripped; empty when the row is short)."""

    __slots__ = ("_index", "_row")

    def __init__(self, index: dict[str, int], row: Sequence[str]) -> None:
        self._index, self._row = index, row

    def __call__(self, column: str) -> str:
        k = self._index[column]
        return self._row[k].strip() if k < len(self._row) else ""


def _rows(kind: str, file: CsvFile, problems: _Problems) -> Iterator[tuple[int, _Cells]]:
    """Yield (line number, cells) for each non-blank data row; header and decoding problems go to ``problems``."""

    def bad(line: int | None, column: str | None, message: str) -> None:
        problems.add(kind, FileProblem(file.name, line, column, message))

    try:
        text = file.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file.data[:exc.start].count(b"\n") + 1
        bad(line, None, "不是 UTF-8 编码，请在 Excel/WPS 中另存为「CSV UTF-8（逗号分隔）」"
                        "(not UTF-8; save as CSV UTF-8)")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    required = _COLUMNS[kind]
    aliases = _ALIASES.get(kind, {})
    index: dict[str, int] | None = None
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if index is not None:
                yield reader.line_num, _Cells(index, row)
                continue
            index = {}
            for k, raw in enumerate(row):
                name = raw.strip().lower()
                name = aliases.get(name, name)
                if name in required and name in index:
                    bad(reader.line_num, name, f"表头列 {name} 出现两次 (column given twice)")
                index.setdefault(name, k)
            missing = [c for c in required if c not in index]
            if missing:
                bad(reader.line_num, None, f"表头缺少列 {', '.join(missing)}；应为 {','.join(required)} "
                                           f"(header lacks these columns)")
                return
    except csv.Error as exc:
        bad(reader.line_num, None, f"CSV 格式错误 (malformed CSV): {exc}")
        return
    if index is None:
        bad(None, None, f"文件为空，应有表头行 {','.join(required)} (empty file; a header row is required)")


def _coordinate(cell: _Cells, bad: _Bad, *, need: bool) -> tuple[float, float]:
    """(lat, lon), NaN for both when both are empty and coordinates are not needed."""
    lat_s, lon_s = cell("lat"), cell("lon")
    if not lat_s and not lon_s and not need:
        return math.nan, math.nan
    if need and not (lat_s and lon_s):
        why = "未给出行驶时间文件 (--times) 时坐标必填 (coordinates are required without a times file)"
        for column, value in (("lat", lat_s), ("lon", lon_s)):
            if not value:
                bad(column, why)
    elif not (lat_s and lon_s):
        bad("lat" if not lat_s else "lon", "纬度和经度应同时填写或同时留空 (give both or neither)")
        return math.nan, math.nan
    lat = _number(lat_s, "lat", "纬度", bad, low=-90.0, high=90.0) if lat_s else None
    lon = _number(lon_s, "lon", "经度", bad, low=-180.0, high=180.0) if lon_s else None
    return (math.nan if lat is None else lat), (math.nan if lon is None else lon)


def _known(ident: str, column: str, index: dict[str, int], zh: str, file_kind: str, bad: _Bad) -> int | None:
    """The index of an id listed in the demand or sites file, or None (reported) when it is not there."""
    if not ident:
        bad(column, f"{zh}编号不能为空 ({column} is required)")
        return None
    found = index.get(ident)
    if found is None:
        bad(column, f"{zh} {ident!r} 不在{zh}文件中 (unknown {column} id; not in the {file_kind} file)")
    return found


def _number(text: str, column: str, zh: str, bad: _Bad, *, low: float, high: float = math.inf,
            low_open: bool = False) -> float | None:
    """A finite number within [low, high] (or (low, high] when ``low_open``), or None (reported)."""
    if not text:
        bad(column, f"{zh}不能为空 ({column} is required)")
        return None
    try:
        value = float(text)
    except ValueError:
        bad(column, f"{zh}应为数字，收到 {text!r} ({column} is not a number)")
        return None
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value > high:
        if math.isinf(high):
            rule = f"大于 {low:g} 的" if low_open else f"不小于 {low:g} 的"
            english = f"> {low:g}" if low_open else f"≥ {low:g}"
        else:
            rule, english = f" {low:g} 到 {high:g} 之间的", f"within {low:g}..{high:g}"
        bad(column, f"{zh}应为{rule}有限数，收到 {text!r} ({column} must be finite and {english})")
        return None
    return value
