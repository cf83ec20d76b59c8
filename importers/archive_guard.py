"""Check an uploaded .xlsx before any XML parser sees it: the archive, its parts and what they would build.

An .xlsx is a zip of XML parts. openpyxl reads the whole shared-strings table into a list (even in
read-only mode) and walks every row of a worksheet, so a small file can ask for gigabytes and
minutes: 20 million one-letter strings deflate to 0.8 MB. Everything here reads the central
directory and streams the parts through a regex, never building what they describe:

- the end record first (before ``zipfile`` builds one object per entry): at most ``MAX_ENTRIES``
  entries and ``MAX_DIRECTORY`` bytes of directory;
- each part: stored or deflated only, no zip encryption, at most ``MAX_PART`` bytes uncompressed
  (``MAX_WORKSHEET`` for a worksheet, ``MAX_SHARED_STRINGS_BYTES`` for the string table), at most
  ``MAX_RATIO`` times its compressed size, ``MAX_TOTAL`` bytes in all;
- the shared-strings table: at most ``MAX_SHARED_STRINGS`` entries, counted by streaming it;
- each worksheet: at most ``MAX_ROWS`` rows, found by streaming its ``<row>`` tags.

A refusal is :class:`SheetTooLarge` (a :class:`SheetUnreadable`) whose Chinese detail names the part,
what it holds and the limit.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree import ElementTree

MAX_ENTRIES = 1_000
MAX_DIRECTORY = 1024 * 1024
MAX_TOTAL = 512 * 1024 * 1024
MAX_WORKSHEET = 256 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 32 * 1024 * 1024
MAX_PART = 32 * 1024 * 1024
MAX_RATIO = 200
RATIO_FROM = 1024 * 1024  # parts smaller than this may compress as well as they like
MAX_SHARED_STRINGS = 500_000
MAX_ROWS = 200_000

NOT_XLSX = "文件不是有效的 Excel (.xlsx) 文件，请在 Excel 或 WPS 中“另存为” .xlsx 格式后再上传"
RESAVE = "请在 Excel 或 WPS 中删除多余内容后“另存为” .xlsx 再上传"

_CHUNK = 1024 * 1024
_TAIL = 4096  # longest tag kept across chunk boundaries
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_LOCATOR64 = b"PK\x06\x07"
_SI = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?=[\s/>])([^<>]*)>")
_ROW_NUMBER = re.compile(rb"""(?:^|\s)r\s*=\s*["'](\d+)["']""")
_SHARED_STRINGS_TYPE = "/relationships/sharedStrings"
_WORKSHEET_TYPE = "/relationships/worksheet"


class SheetUnreadable(Exception):
    """The upload is not a counting sheet we can read; ``detail`` says why, in Chinese."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SheetTooLarge(SheetUnreadable):
    """The upload holds more than a counting sheet may: ``part`` is where, ``limit`` the bound it broke."""

    def __init__(self, detail: str, *, part: str, limit: int) -> None:
        super().__init__(detail)
        self.part = part
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What the checks found: uncompressed bytes in all, shared strings, rows per worksheet part."""

    uncompressed: int
    shared_strings: int
    rows: dict[str, int]


def check_archive(stream: BinaryIO) -> ArchiveSummary:
    """Refuse an archive that would cost more than a counting sheet may; the stream is left at its start."""
    start = stream.tell()
    try:
        _check_directory(stream)
        stream.seek(start)
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            total = _check_parts(infos)
            strings, sheets = _roles(archive)
            count = sum(_count_strings(archive, part) for part in strings)
            rows = {part: _count_rows(archive, part, name) for part, name in sheets.items()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, struct.error) as exc:
        raise SheetUnreadable(NOT_XLSX) from exc
    finally:
        stream.seek(start)
    return ArchiveSummary(total, count, rows)


def uncompressed_size(data: bytes) -> int:
    """The bytes an archive's parts hold uncompressed, from its central directory (already checked)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:,.0f} KB"


def _check_directory(stream: BinaryIO) -> None:
    """The entry count and directory size from the end record (zip64 included), before zipfile reads them."""
    stream.seek(0, 2)
    size = stream.tell()
    at = max(0, size - 65_557)  # the end record (22 bytes) and a comment of at most 65,535 bytes
    stream.seek(at)
    tail = stream.read()
    found = tail.rfind(_END)
    if found < 0 or len(tail) - found < 22:
        raise SheetUnreadable(NOT_XLSX)
    _, _, _, _, entries, directory, offset, _ = struct.unpack("<4s4H2LH", tail[found:found + 22])
    if entries == 0xFFFF or directory == 0xFFFFFFFF or offset == 0xFFFFFFFF:
        locator = found - 20
        if locator >= 0 and tail[locator:locator + 4] == _LOCATOR64:
            _, _, record, _ = struct.unpack("<4sLQL", tail[locator:locator + 20])
            stream.seek(record)
            head = stream.read(56)
            if len(head) == 56 and head[:4] == _END64:
                entries, directory = struct.unpack("<4sQ2H2L4Q", head)[7:9]
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY:
        raise SheetTooLarge(
            f"文件的压缩目录有 {entries:,} 个部件（{_mb(directory)}），超过 {MAX_ENTRIES:,} 个部件的上限，"
            f"不像是盘点表；{RESAVE}", part="zip 目录", limit=MAX_ENTRIES)


def _check_parts(infos: list[zipfile.ZipInfo]) -> int:
    """Every part's method, encryption, size and ratio; the uncompressed bytes in all."""
    total = 0
    for info in infos:
        name = info.filename
        if info.flag_bits & 0x1:
            raise SheetUnreadable("文件设置了密码（加密），请取消密码并“另存为” .xlsx 格式后再上传")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SheetUnreadable(f"文件的部件 {name} 使用了 Excel 不用的压缩方式，"
                                  "请在 Excel 或 WPS 中“另存为” .xlsx 后再上传")
        limit, what = _part_limit(name)
        if info.file_size > limit:
            raise SheetTooLarge(f"文件的{what}（{name}）解压后有 {_mb(info.file_size)}，超过 {_mb(limit)} 的上限；"
                                f"{RESAVE}", part=name, limit=limit)
        if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise SheetTooLarge(
                f"文件的{what}（{name}）压缩比 {ratio:,}:1，超过 {MAX_RATIO}:1 的上限"
                f"（{_mb(info.compress_size)} 解压后有 {_mb(info.file_size)}），可能是恶意构造的文件；{RESAVE}",
                part=name, limit=MAX_RATIO)
        total += info.file_size
        if total > MAX_TOTAL:
            raise SheetTooLarge(f"文件解压后超过 {_mb(MAX_TOTAL)} 的上限；{RESAVE}", part="整个文件", limit=MAX_TOTAL)
    return total


def _part_limit(name: str) -> tuple[int, str]:
    lowered = name.lower()
    if lowered.endswith("sharedstrings.xml"):
        return MAX_SHARED_STRINGS_BYTES, "共享字符串表"
    if "/worksheets/" in lowered:
        return MAX_WORKSHEET, "工作表"
    return MAX_PART, "部件"


def _roles(archive: zipfile.ZipFile) -> tuple[list[str], dict[str, str]]:
    """The shared-strings parts and the worksheet parts (→ the sheet's name) the workbook refers to.

    Parts found by name (``xl/worksheets/…``, ``…sharedStrings.xml``) count too, whatever the
    relationships say: a part that openpyxl might read is checked.
    """
    names = set(archive.namelist())
    strings = {name for name in names if name.lower().endswith("sharedstrings.xml")}
    sheets = {name: f"工作表（{name}）" for name in names
              if "/worksheets/" in name.lower() and name.lower().endswith(".xml")}
    shown = _sheet_names(archive)
    for rel_id, (kind, part) in _relationships(archive, names).items():
        if kind.endswith(_SHARED_STRINGS_TYPE):
            strings.add(part)
        elif kind.endswith(_WORKSHEET_TYPE):
            sheets[part] = shown.get(rel_id, f"工作表（{part}）")
    return sorted(strings & names), {part: name for part, name in sheets.items() if part in names}


def _relationships(archive: zipfile.ZipFile, names: set[str]) -> dict[str, tuple[str, str]]:
    """The workbook's relationships: id → (type, part path)."""
    path = "xl/_rels/workbook.xml.rels"
    if path not in names:
        return {}
    try:
        root = ElementTree.fromstring(archive.read(path))
    except ElementTree.ParseError:
        return {}
    found = {}
    for element in root.iter():
        target, kind, rel_id = element.get("Target"), element.get("Type"), element.get("Id")
        if target and kind and rel_id:
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            found[rel_id] = (kind, part)
    return found


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Relationship id → the sheet's name as Excel shows it on its tab."""
    try:
        root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return {}
    names = {}
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "sheet":
            rel_id = next((value for key, value in element.attrib.items() if key.rsplit("}", 1)[-1] == "id"), None)
            if rel_id and element.get("name"):
                names[rel_id] = f"工作表「{element.get('name')}」"
    return names


def _chunks(archive: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part's bytes in pieces that never cut a tag of up to ``_TAIL`` bytes in two."""
    tail = b""
    with archive.open(part) as source:
        while chunk := source.read(_CHUNK):
            buffer = tail + chunk
            cut = buffer.rfind(b"<", max(0, len(buffer) - _TAIL))
            if cut < 0:
                cut = len(buffer)
            tail = buffer[cut:]
            yield buffer[:cut]
    if tail:
        yield tail


def _count_strings(archive: zipfile.ZipFile, part: str) -> int:
    count = 0
    for piece in _chunks(archive, part):
        count += len(_SI.findall(piece))
        if count > MAX_SHARED_STRINGS:
            raise SheetTooLarge(
                f"文件的共享字符串表（{part}）有超过 {MAX_SHARED_STRINGS:,} 个不同的文字，超过上限，"
                f"不像是盘点表；{RESAVE}", part=part, limit=MAX_SHARED_STRINGS)
    return count


def _count_rows(archive: zipfile.ZipFile, part: str, name: str) -> int:
    """The last row number of a worksheet (a row without ``r`` follows the one before it)."""
    row = 0
    for piece in _chunks(archive, part):
        for match in _ROW.finditer(piece):
            number = _ROW_NUMBER.search(match.group(1))
            row = int(number.group(1)) if number else row + 1
            if row > MAX_ROWS:
                raise SheetTooLarge(
                    f"{name}超过 {MAX_ROWS:,} 行（第 {row:,} 行还有内容或格式），超过一张盘点表的上限；"
                    f"请删除表格末尾多余的行后再上传", part=part, limit=MAX_ROWS)
    return row
