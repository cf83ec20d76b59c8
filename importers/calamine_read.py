"""Read an uploaded counting sheet's cell values with calamine (Rust) where the file allows; openpyxl otherwise.

openpyxl's read-only pass parses every cell in Python; calamine parses the sheet in Rust, ten or more times
faster. Both read what Excel, WPS and LibreOffice write to the same values once calamine's are converted, but not
everything an ``.xlsx`` may hold, so this module lets calamine read a workbook only where the result is what
openpyxl (``read_only=True, data_only=True``, the reference) gives, cell for cell and type for type. It runs after
the archive guard (:func:`importers.archive_guard.check_archive`): nothing here is decompressed, and calamine
opens nothing, before that check passed.

calamine's values turned into openpyxl's:

- numbers come as ``float``: integral ones become ``int`` (``<v>20</v>`` is ``int`` to openpyxl);
- date-formatted cells come as ``date``: they become midnight ``datetime``; ``datetime``, ``time`` and
  ``timedelta`` values already match (same millisecond rounding, 1900 leap-year rule and 1904 calendar);
- empty cells come as ``""``: they become ``None`` (a text of spaces only without ``xml:space="preserve"``
  also comes as ``""``, where openpyxl keeps the spaces: every cell reader of the counting sheet reads both as
  blank, so it is allowed);
- leading empty rows and columns are outside calamine's range, and so are trailing rows that only carry
  formatting: rows are padded so that row numbers and the last row reported to ``progress`` are openpyxl's;
- cached formula values, merged cells (the value in the first cell only), hidden rows and hidden sheets are
  read alike; the active sheet, the 1904 calendar and which number formats are dates are taken from openpyxl's
  own reader of the workbook part and styles.

Cells calamine reads otherwise get openpyxl's value, computed from the sheet XML as openpyxl computes it
(``_patches``): error cells (``#VALUE!``, ``#N/A``… calamine gives ``""``); numbers in a format calamine and
openpyxl type differently (asked of calamine itself through a probe workbook with the file's ``styles.xml``, one
cell per format: calamine 0.9 dates the Chinese built-in formats 27–36 and 50–58, openpyxl keeps their serial
numbers; ``0*s`` is the other way round); negative or seven-digit numbers in date formats (calamine gives times
or plain numbers, openpyxl dates or ``#VALUE!``); numbers written ``5.0``, ``1E3`` or with sixteen digits or more
(openpyxl keeps a ``float`` or the exact ``int``). Text formats, leading-zero codes (text cells), percent and
thousands formats need nothing: both give the stored value.

Where the file does not allow calamine (:class:`Unsuited`, with the reason), openpyxl reads the whole file:

- a worksheet larger than :data:`MAX_SHEET_BYTES`, or whose rows × columns may exceed :data:`MAX_CELLS` (calamine
  holds a sheet as a dense grid of 32-byte cells: one cell in XFD200000 would ask for 100 GB), or more than
  :data:`MAX_PATCHES` cells to compute as above;
- rows or cells without their ``r`` reference first, rows out of order, a cell below the last row;
- text with ``_xHHHH_`` escapes (calamine decodes them, openpyxl keeps them), with leading or trailing spaces in
  a ``<t>`` without ``xml:space="preserve"`` (calamine trims them), or a ``<v>`` with spaces around it;
- ISO date cells (``t="d"``), booleans other than 0/1, single-quoted attributes, tabs or line breaks inside
  tags, CDATA, a DOCTYPE, namespace prefixes on sheet elements or another namespace than the transitional
  one, parts elsewhere than where both readers look, sheets that are not worksheets, a cell format without
  its style (the default one) typed differently;
- anything calamine raises on (:class:`CalamineFailed`): openpyxl then gives its usual answer or error.

Left as is (files no spreadsheet program writes): a cell whose reference names another row than its row element
(openpyxl puts it in the row element's row, calamine at its reference) and attributes with spaces around ``=``.
The reader for quotas and risk points (``count_sheet.read_uploaded_workbook``) stays openpyxl: those parsers use
openpyxl's worksheet objects (merged ranges found through the part path) on sheets of a few hundred rows.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any, BinaryIO
from xml.sax.saxutils import unescape

import python_calamine
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import from_excel

from importers.archive_guard import MAX_ROWS

__all__ = ["MAX_CELLS", "MAX_PATCHES", "MAX_SHEET_BYTES", "CalamineBook", "CalamineFailed", "Unsuited", "open_book"]

MAX_CELLS = MAX_ROWS * 26  # a sheet of the most rows a counting sheet may have, in columns A–Z
MAX_SHEET_BYTES = 128 * 1024 * 1024  # uncompressed worksheet XML calamine may hold whole
MAX_STYLES = 65_536  # cell formats probed (Excel allows 64,000)
MAX_PATCHES = 200_000  # cells whose value is computed from the XML because calamine reads them otherwise

MAIN_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
WORKBOOK = "xl/workbook.xml"
STYLES = "xl/styles.xml"
SHARED_STRINGS = "xl/sharedStrings.xml"
_WORKSHEET_TYPE = "/relationships/worksheet"
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_PROBE_VALUE = 45000.5  # a serial with a time of day: datetime under a date format, timedelta under [h]:mm

_ROOTS = {name: re.compile(rb"<([A-Za-z_][\w.-]*:)?" + name + rb"\b[^>]*>") for name in (b"worksheet", b"sst")}
_PREFIXED = re.compile(rb":(?:c|row|v|t|is|si|r|f)[\s/>]")  # x:c, x:row…: what the literal checks below miss
_ROW_OPEN = re.compile(rb'<row(?: r="(\d+)"|[\s>/])')  # the number, or b"" for a row whose r is missing or not first
_BARE_CELL = re.compile(rb"<c/?>")
_WIDE_REF = re.compile(rb'<c r="([A-Za-z]{2,})')
# Regexes that start with a literal run at memchr speed; a character class first would try every position.
_EDGE_OPEN = re.compile(rb"<t>[ \t\r\n]")
_EDGE_VALUE_OPEN = re.compile(rb"<v>[ \t\r\n]")
_SPACE_CLOSE = re.compile(rb" </[tv]>")
_CONTROLS = (b"\t", b"\r", b"\n")  # rare in sheet XML outside text: each one found is looked at
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
_NUMBER = re.compile(
    rb"<v>(?:[-+]?\d*\.0*</v>|[-+]?[\d.]+[eE]|-?\d{16}|[-+]?(?:[iI][nN][fF]|[nN][aA][nN]))"
)
_NEGATIVE_OR_HUGE = re.compile(rb"<v>(?:-|\d{7})")
_BOOLEAN = re.compile(rb't="b"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?<v>(?![01]</v>)')
_ERROR = re.compile(rb' t="e"')
_REF = re.compile(rb'<c r="([A-Za-z]+)(\d+)"')
_STYLE = re.compile(rb'\ss="(\d+)"')
_TYPE = re.compile(rb'\st="(\w+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_BLANK = b" \t\r\n"


class CalamineFailed(Exception):
    """calamine did not read this workbook (``reason`` says why, in English): openpyxl reads it instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unsuited(CalamineFailed):
    """The workbook holds something calamine reads differently from openpyxl, or that it would hold too big."""


@dataclass(frozen=True, slots=True)
class _Sheet:
    title: str
    part: str


class CalamineRows:
    """One worksheet, read the way ``openpyxl``'s read-only worksheet is used by the parsers."""

    def __init__(self, book: CalamineBook, sheet: _Sheet) -> None:
        self._book = book
        self._sheet = sheet
        self.title = sheet.title

    def reset_dimensions(self) -> None:
        """Nothing to reset: calamine never trusts ``<dimension>`` (kept for openpyxl's interface)."""

    def iter_rows(self, values_only: bool = True) -> Iterator[tuple[object, ...]]:
        """The sheet's rows from row 1 on, as tuples of openpyxl's values; ``CalamineFailed`` if it cannot."""
        if not values_only:
            raise ValueError("only values are read")
        return self._book.rows(self._sheet)


class CalamineBook:
    """A workbook opened with calamine after :func:`open_book` checked it: ``worksheets``, ``active``, ``epoch``."""

    def __init__(self, stream: BinaryIO, archive: zipfile.ZipFile, sheets: list[_Sheet], active: int,
                 styles: _Styles) -> None:
        self._archive = archive
        self._styles = styles
        self.epoch = styles.epoch
        try:
            self._book = python_calamine.CalamineWorkbook.from_filelike(stream)
        except BaseException as exc:  # CalamineError, whatever the zip or XML reader raises, a Rust panic
            archive.close()
            if not _failure(exc):
                raise
            raise CalamineFailed(f"calamine cannot open the workbook: {exc}") from exc
        if self._book.sheet_names != [sheet.title for sheet in sheets] or any(
            meta.typ != python_calamine.SheetTypeEnum.WorkSheet for meta in self._book.sheets_metadata
        ):
            self.close()
            raise Unsuited("calamine lists other sheets than openpyxl")
        self.worksheets = [CalamineRows(self, sheet) for sheet in sheets]
        try:
            self.active: CalamineRows | None = self.worksheets[active]
        except IndexError:
            self.active = None

    def close(self) -> None:
        """Let go of calamine's workbook and the archive."""
        self._archive.close()
        self._book.close()

    def rows(self, sheet: _Sheet) -> Iterator[tuple[object, ...]]:
        """Check the sheet's XML, load it with calamine and yield its rows (see :class:`CalamineRows`)."""
        last_row, patches = _scan_sheet(self._archive, sheet.part, self._styles)
        try:
            grid = self._book.get_sheet_by_name(sheet.title)
        except BaseException as exc:  # malformed XML, a shared string that does not exist, an unknown cell type…
            if not _failure(exc):
                raise
            raise CalamineFailed(f"calamine cannot read {sheet.part}: {exc}") from exc
        return _rows(grid, last_row, patches)


def _failure(exc: BaseException) -> bool:
    """Whether ``exc`` is calamine failing: an exception, or a Rust panic (a ``BaseException`` to Python)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def open_book(stream: BinaryIO) -> CalamineBook:
    """The workbook opened with calamine, or :class:`CalamineFailed` / :class:`Unsuited` saying why not.

    The stream must have passed :func:`importers.archive_guard.check_archive`; it is left at its start and must
    stay open while the book is read. Each worksheet's own XML is checked when its rows are first asked for.
    """
    start = stream.tell()
    try:
        archive, sheets, active, styles = _workbook(stream)
        try:
            _check_shared_strings(archive)
            stream.seek(start)
            return CalamineBook(stream, archive, sheets, active, styles)
        except BaseException:
            archive.close()
            raise
    finally:
        stream.seek(start)


def _workbook(stream: BinaryIO) -> tuple[zipfile.ZipFile, list[_Sheet], int, _Styles]:
    """The archive, and its sheets, active index, epoch and date styles as openpyxl's own reader finds them."""
    try:
        reader = ExcelReader(stream, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises the same when it opens the file itself
        raise Unsuited(f"openpyxl cannot open the archive: {exc}") from exc
    archive: zipfile.ZipFile = reader.archive
    try:
        return (archive, *_structure(reader, archive))
    except BaseException:
        archive.close()
        raise


def _structure(reader: Any, archive: zipfile.ZipFile) -> tuple[list[_Sheet], int, _Styles]:
    names = set(archive.namelist())
    for part in (WORKBOOK, STYLES, SHARED_STRINGS, "xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
        if part in names:
            _check_xml_prologue(archive.read(part), part)
    try:
        reader.read_manifest()
        strings = reader.package.find(_SHARED_STRINGS_TYPE)
        reader.read_workbook()
        workbook = reader.wb
        apply_stylesheet(archive, workbook)
        found = list(reader.parser.find_sheets())
        rels = reader.parser.rels
    except Exception as exc:  # anything openpyxl raises here, it raises again when it reads the file itself
        raise Unsuited(f"openpyxl cannot read the workbook's structure: {exc}") from exc
    if reader.parser.workbook_part_name != WORKBOOK:
        raise Unsuited(f"the workbook part is {reader.parser.workbook_part_name}")
    declared = None if strings is None else strings.PartName
    if (declared, SHARED_STRINGS in names) not in ((None, False), ("/" + SHARED_STRINGS, True)):
        raise Unsuited("the shared strings are not where both readers look")
    for rel in rels.values():
        if rel.Type.endswith("/styles") and rel.target != STYLES:
            raise Unsuited(f"the styles part is {rel.target}")
    sheets = []
    for sheet, rel in found:
        if not rel.Type.endswith(_WORKSHEET_TYPE) or rel.target not in names:
            raise Unsuited(f"sheet {sheet.name!r} is not a worksheet part of this archive")
        sheets.append(_Sheet(sheet.name, rel.target))
    if len(sheets) != len(reader.parser.sheets):
        raise Unsuited("a sheet without a relationship")
    dates = frozenset(workbook._date_formats)
    spans = frozenset(workbook._timedelta_formats)
    differ: frozenset[int] = frozenset()
    if STYLES in names:
        differ = _probe_styles(archive.read(STYLES), len(workbook._cell_styles), dates, spans)
    elif dates:  # pragma: no cover - openpyxl's default styles hold no date format
        raise Unsuited("openpyxl sees date formats without a styles part")
    if 0 in differ:
        raise Unsuited("the default cell format reads as another type in calamine than in openpyxl")
    return sheets, workbook._active_sheet_index, _Styles(dates | spans, spans, differ, workbook.epoch)


def _check_xml_prologue(xml: bytes, part: str) -> None:
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml[:4096]:
        raise Unsuited(f"{part} declares a DOCTYPE")


def _probe_styles(styles: bytes, count: int, dates: frozenset[int], spans: frozenset[int]) -> frozenset[int]:
    """The cell formats of ``styles`` that calamine types otherwise than openpyxl (date, duration or number)."""
    if count > MAX_STYLES:
        raise Unsuited(f"{count:,} cell formats")
    if count == 0:
        return frozenset()
    rows = "".join(f'<row r="{n + 1}"><c r="A{n + 1}" s="{n}"><v>{_PROBE_VALUE}</v></c></row>' for n in range(count))
    try:
        with python_calamine.CalamineWorkbook.from_filelike(_probe(styles, rows)) as book:
            values = [row[0] if row else None for row in book.get_sheet_by_index(0).to_python(skip_empty_area=False)]
    except Exception as exc:  # styles calamine cannot read
        raise Unsuited(f"calamine cannot read the styles: {exc}") from exc
    differ = set()
    for style in range(count):
        value = values[style] if style < len(values) else None
        expected: type = dt.timedelta if style in spans else dt.datetime if style in dates else float
        if type(value) is not expected:
            differ.add(style)
    return frozenset(differ)


@dataclass(frozen=True, slots=True)
class _Styles:
    """openpyxl's view of the cell formats (date or duration), those calamine sees otherwise, and the calendar."""

    dates: frozenset[int]  # dates and durations
    spans: frozenset[int]  # durations
    differ: frozenset[int]
    epoch: dt.datetime

    def value(self, text: str, style: int) -> object:
        """What openpyxl makes of the ``<v>`` text of a number cell in this format (its ``parse_cell``)."""
        try:
            number: int | float = float(text) if "." in text or "E" in text or "e" in text else int(text)
        except ValueError as exc:  # openpyxl raises too: let it
            raise CalamineFailed(f"not a number: {text!r}") from exc
        if style not in self.dates:
            return number
        try:
            converted: object = from_excel(number, self.epoch, timedelta=style in self.spans)
        except (OverflowError, ValueError):
            return "#VALUE!"
        return converted


def _check_shared_strings(archive: zipfile.ZipFile) -> None:
    if SHARED_STRINGS not in archive.namelist():
        return
    xml = archive.read(SHARED_STRINGS)  # at most 32 MB: the archive guard checked
    _check_text(xml, SHARED_STRINGS, _check_root(xml, SHARED_STRINGS, b"sst"))


def _check_root(xml: bytes, part: str, element: bytes) -> int:
    """The part's root is ``element`` in the transitional namespace, unprefixed, and no element below is prefixed.

    Returns where the root element starts.
    """
    root = _ROOTS[element].search(xml, 0, 65_536)
    if root is None or root.group(1) or MAIN_NS not in root.group(0):
        raise Unsuited(f"{part}: not an unprefixed {element.decode()} in the transitional SpreadsheetML namespace")
    if _PREFIXED.search(xml):
        raise Unsuited(f"{part}: namespace prefixes on its elements")
    if b"<![CDATA[" in xml:
        raise Unsuited(f"{part}: CDATA")
    if b"='" in xml:
        raise Unsuited(f"{part}: single-quoted attributes")
    return root.start()


def _check_text(xml: bytes, part: str, root: int) -> None:
    """Texts and values calamine reads differently: ``_xHHHH_`` escapes, edge spaces it trims (see the module doc).

    Also refuses a tab or line break inside a tag: the literal searches here (``<c r="``, `` t="e"``…) expect
    attributes separated by single spaces, as every spreadsheet program writes them.
    """
    if _ESCAPE.search(xml):
        raise Unsuited(f"{part}: _xHHHH_ escapes in text")
    if _EDGE_VALUE_OPEN.search(xml):
        raise Unsuited(f"{part}: a value with spaces before it")
    for match in _EDGE_OPEN.finditer(xml):
        if not _blank_item(xml, match.start()):
            raise Unsuited(f"{part}: text with leading spaces and no xml:space")
    for match in _SPACE_CLOSE.finditer(xml):
        _check_trailing(xml, part, match.start())
    for control in _CONTROLS:
        at = xml.find(control, root)
        while at >= 0:
            if xml.rfind(b"<", 0, at) > xml.rfind(b">", 0, at):
                raise Unsuited(f"{part}: a tab or line break inside a tag")
            if xml[at - 3 : at] in (b"<t>", b"<v>"):
                raise Unsuited(f"{part}: text or a value starting with a tab or line break")
            if xml[at + 1 : at + 5] in (b"</t>", b"</v>"):
                _check_trailing(xml, part, at)
            at = xml.find(control, at + 1)


def _check_trailing(xml: bytes, part: str, at: int) -> None:
    """A space or line break at ``at`` ends a text or value: calamine trims it unless ``xml:space="preserve"``."""
    if xml[at + 1 : at + 5] == b"</v>":
        raise Unsuited(f"{part}: a value with spaces after it")
    opener = xml.rfind(b"<t", 0, at)
    tag = xml[opener : xml.find(b">", opener) + 1]
    if b'xml:space="preserve"' not in tag and not (tag == b"<t>" and _blank_item(xml, opener)):
        raise Unsuited(f"{part}: text with trailing spaces and no xml:space")


def _blank_item(xml: bytes, at: int) -> bool:
    """Whether the ``<t>`` at ``at`` is the whole text of a string item and holds only spaces and line breaks."""
    close = xml.find(b"</t>", at)
    return xml[at - 4 : at] in (b"<si>", b"<is>") and close > at and not xml[at + 3 : close].strip(_BLANK)


def _scan_sheet(archive: zipfile.ZipFile, part: str, styles: _Styles) -> tuple[int, dict[int, dict[int, object]]]:
    """Check a worksheet's XML for what calamine reads otherwise or too big; its last row and patched cells."""
    size = archive.getinfo(part).file_size
    if size > MAX_SHEET_BYTES:
        raise Unsuited(f"{part}: {size:,} bytes of XML")
    xml = archive.read(part)
    _check_xml_prologue(xml, part)
    root = _check_root(xml, part, b"worksheet")
    numbers = _ROW_OPEN.findall(xml)
    if b"" in numbers:
        raise Unsuited(f"{part}: a row without its r attribute first")
    rows = [int(number) for number in numbers]
    if any(later <= earlier for earlier, later in pairwise(rows)):
        raise Unsuited(f"{part}: rows out of order")
    last_row = rows[-1] if rows else 0
    if xml.count(b"<c ") != xml.count(b'<c r="') or _BARE_CELL.search(xml):
        raise Unsuited(f"{part}: a cell without its r attribute first")
    if re.search(rb'<c r="[A-Za-z]{1,3}0*' + _above(last_row) + rb'"', xml):
        raise Unsuited(f"{part}: a cell below the last row")
    width = 26
    for letters in set(_WIDE_REF.findall(xml)):
        if len(letters) > 3:
            raise Unsuited(f"{part}: a column reference {letters.decode()!r}")
        width = max(width, column_index_from_string(letters.decode().upper()))
    if last_row * width > MAX_CELLS:
        raise Unsuited(f"{part}: up to {last_row:,} rows × {width:,} columns")
    _check_text(xml, part, root)
    if b't="d"' in xml:
        raise Unsuited(f"{part}: ISO date cells")
    if b't="b"' in xml and _BOOLEAN.search(xml):
        raise Unsuited(f"{part}: a boolean other than 0 or 1")
    return last_row, _patches(xml, part, styles)


def _patches(xml: bytes, part: str, styles: _Styles) -> dict[int, dict[int, object]]:
    """Row → 0-based column → openpyxl's value, for each cell calamine reads otherwise (see the module doc)."""
    found: dict[int, dict[int, object]] = {}
    count = 0

    def patch(at: int, attribute: bytes | None) -> None:
        """The cell whose start tag holds ``at`` (an attribute there, when ``attribute`` is given) gets its value."""
        nonlocal count
        start = xml.rfind(b"<c ", 0, at)
        end = xml.find(b">", start)
        if start < 0 or (attribute is not None and end < at):
            return  # not an attribute of a cell's start tag
        tag = xml[start : end + 1]
        ref = _REF.match(tag)
        kind = _TYPE.search(tag)
        if ref is None or tag.endswith(b"/>"):
            return  # no reference (refused before), or no value: None in both readers
        close = xml.find(b"</c>", end)
        cached = _VALUE.search(xml, end, close if close >= 0 else len(xml))
        text = unescape(cached.group(1).decode()) if cached else ""
        if kind is not None and kind.group(1) == b"e":
            value: object = text
        elif kind is None or kind.group(1) == b"n":
            style = _STYLE.search(tag)
            value = styles.value(text, int(style.group(1)) if style else 0) if text else None
        else:
            return  # text, shared string or boolean: calamine reads it as openpyxl does
        if value is None or value == "":
            return  # openpyxl: findtext("v") or None, and calamine's "" is None already
        column = column_index_from_string(ref.group(1).decode().upper()) - 1
        found.setdefault(int(ref.group(2)), {})[column] = value
        count += 1
        if count > MAX_PATCHES:
            raise Unsuited(f"{part}: more than {MAX_PATCHES:,} cells calamine reads otherwise")

    if b't="e"' in xml:
        for match in _ERROR.finditer(xml):
            patch(match.start(), b"t")
    for index in styles.differ:
        for match in re.finditer(rb' s="%d"' % index, xml):
            patch(match.start(), b"s")
    for match in _NUMBER.finditer(xml):
        patch(match.start(), None)
    if styles.dates:
        for match in _NEGATIVE_OR_HUGE.finditer(xml):
            found_style = _STYLE.search(_cell_tag(xml, match.start()))
            if int(found_style.group(1) if found_style else 0) in styles.dates:
                patch(match.start(), None)
    return found


def _cell_tag(xml: bytes, at: int) -> bytes:
    """The start tag of the cell holding position ``at``."""
    start = xml.rfind(b"<c ", 0, at)
    return xml[start : xml.find(b">", start) + 1] if start >= 0 else b""


def _above(limit: int) -> bytes:
    """A pattern matching decimal numbers (without leading zeros) greater than ``limit``."""
    digits = str(limit)
    options = [rb"[1-9]\d{%d,}" % len(digits)]
    for place, digit in enumerate(digits):
        if digit != "9":
            options.append(digits[:place].encode() + b"[%d-9]" % (int(digit) + 1)
                           + rb"\d{%d}" % (len(digits) - place - 1))
    return b"(?:" + b"|".join(options) + b")"


def _rows(grid: Any, last_row: int, patches: dict[int, dict[int, object]]) -> Iterator[tuple[object, ...]]:
    """calamine's range as openpyxl's rows: padded to row 1 and column A and to the last row, values converted."""
    number = 0
    start = grid.start
    if start is not None:  # iter_rows() panics on an empty sheet
        top, left = start
        rows_from_top, columns_from_a = _layout()
        if not rows_from_top:
            while number < top:
                number += 1
                yield _patched((), patches.get(number))
        pad: list[object] = [] if columns_from_a else [None] * left
        date, datetime = dt.date, dt.datetime
        try:
            for row in grid.iter_rows():
                number += 1
                values = [
                    (value or None) if (kind := type(value)) is str
                    else (int(value) if value.is_integer() else value) if kind is float
                    else datetime(value.year, value.month, value.day) if kind is date
                    else value
                    for value in row
                ]
                if pad:
                    values[:0] = pad
                yield _patched(values, patches.get(number)) if patches else tuple(values)
        except BaseException as exc:  # a value python-calamine cannot convert (OverflowError…), or a panic
            if not _failure(exc):
                raise  # GeneratorExit when the reader stops early, KeyboardInterrupt…
            raise CalamineFailed(f"calamine failed on row {number}: {exc}") from exc
    while number < last_row:
        number += 1
        yield _patched((), patches.get(number))


@cache
def _layout() -> tuple[bool, bool]:
    """Whether ``iter_rows()`` starts at row 1 and at column A, or at the range's first row and column.

    python-calamine 0.9 yields the empty rows above the range (as blank rows of its width) but starts each
    row at the range's first column; a one-cell workbook (C3) tells this version's habit once per process.
    """
    with python_calamine.CalamineWorkbook.from_filelike(
        _probe(_PROBE_STYLES, '<row r="3"><c r="C3"><v>1</v></c></row>')
    ) as book:
        rows = list(book.get_sheet_by_index(0).iter_rows())
    return len(rows) == 3, len(rows[-1]) == 3


def _probe(styles: bytes | str, rows: str) -> io.BytesIO:
    """A one-sheet workbook of ``rows`` (SpreadsheetML) under ``styles``, for asking calamine how it reads them."""
    probe = io.BytesIO()
    with zipfile.ZipFile(probe, "w") as archive:
        archive.writestr("[Content_Types].xml", _PROBE_TYPES)
        archive.writestr("_rels/.rels", _PROBE_ROOT_RELS)
        archive.writestr("xl/_rels/workbook.xml.rels", _PROBE_RELS)
        archive.writestr(WORKBOOK, _PROBE_WORKBOOK)
        archive.writestr(STYLES, styles)
        archive.writestr("xl/worksheets/sheet1.xml", _PROBE_SHEET.format(rows=rows))
    probe.seek(0)
    return probe


def _patched(values: Sequence[object], patches: dict[int, object] | None) -> tuple[object, ...]:
    """The row with openpyxl's values in the cells calamine reads otherwise."""
    if not patches:
        return tuple(values)
    cells = list(values)
    for column, text in patches.items():
        cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = text
    return tuple(cells)


_PROBE_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
)
_PROBE_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
_PROBE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    '<Relationship Id="rId2" Target="styles.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/></Relationships>'
)
_PROBE_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="probe" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_PROBE_STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs></styleSheet>'
)
_PROBE_SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData>'
    "</worksheet>"
)
