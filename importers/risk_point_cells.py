"""Cells of a 风险隐患点 list as people write them: kinds, coordinates, CRS, region codes, quantities, needs.

Each reader takes the raw value openpyxl gives and returns a clean value or raises
:class:`~importers.cells.CellError` with the reason in Chinese. :class:`Catalogue` finds an item type by the
code or name written in a need (the caller passes the item types; there is no database here).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from importers.cells import CellError, clean_code, clean_text, parse_quantity, shown

MAX_QUANTITY: Final = 1_000_000_000
MAX_WEIGHT: Final = 10_000_000
KIND_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "embankment": ("堤段", "堤防", "险工险段", "险段", "圩堤", "堤坝", "河堤", "江堤"),
    "village": ("低洼村庄", "低洼易涝村庄", "易涝村庄", "村庄", "低洼地", "低洼区", "低洼易涝区"),
    "underpass": ("下穿通道", "下穿隧道", "下穿立交", "地下通道", "下穿"),
    "school": ("学校", "中小学", "小学", "中学", "幼儿园"),
    "reservoir": ("水库", "山塘", "小型水库", "病险水库", "水库山塘"),
    "landslide": ("山洪地质灾害点", "地质灾害点", "地质灾害隐患点", "地灾点", "山洪灾害点", "山洪", "滑坡",
                  "泥石流", "崩塌"),
    "other": ("其他", "其它"),
}
_KINDS: Final = {_k: kind for kind, names in KIND_NAMES.items() for _k in (kind, *names)}
CRS_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "wgs84": ("wgs-84", "wgs 84", "gps", "cgcs2000", "国家2000", "2000国家大地坐标系", "天地图"),
    "gcj02": ("gcj-02", "高德", "高德地图", "腾讯", "腾讯地图", "火星", "火星坐标系", "国测局"),
    "bd09": ("bd-09", "bd09ll", "百度", "百度地图"),
}
_CRS: Final = {_c.replace(" ", ""): crs for crs, names in CRS_NAMES.items() for _c in (crs, *names)}
_SPACE: Final = re.compile(r"\s+")
_HINT: Final = re.compile(r"\(([^()]*)\)$")
_NUMBER_UNIT: Final = re.compile(r"([+-]?[\d.,]+)\s*([^\d\s.,+-]{0,4})")
_PRIMES: Final = str.maketrans({"′": "'", "″": '"', "”": '"', "’": "'", "度": "°", "分": "'", "秒": '"'})
_DMS: Final = re.compile(r"(\d+(?:\.\d+)?)°(?:(\d+(?:\.\d+)?)'(?:(\d+(?:\.\d+)?)(?:\"|'')?)?)?")
_HEMISPHERE: Final = re.compile(r"^(北纬|东经|[NE])|([NE])$")
_WRONG_HEMISPHERE: Final = re.compile(r"南纬|西经|^[SW]|[SW]$")
# Needs written in one cell: 抽水泵×2；沙袋×500 (after NFKC "；" is ";" and "，" is ","; "1,000" stays one number).
_ENTRIES: Final = re.compile(r"[;、\n\r]|(?<!\d),|,(?!\d{3}(?!\d))")
_ENTRY: Final = re.compile(r"(.+?)\s*[×xX*:]?\s*(\d+(?:,\d{3})*(?:\.\d+)?)\s*([^\d\s]{0,4})")


def key(text: str) -> str:
    """Text reduced for matching a name or code: NFKC, no whitespace, case folded."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def read_kind(value: object) -> str | None:
    """The kind (embankment, village…) from 堤段, 低洼村庄, 学校… or the English word."""
    text = clean_text(value)
    if text is None:
        return None
    kind = _KINDS.get(key(text))
    if kind is None:
        names = "、".join(names[0] for names in KIND_NAMES.values())
        raise CellError(f"「{text}」不是可识别的类型，应为 {names} 之一")
    return kind


def read_crs(value: object) -> str | None:
    """wgs84, gcj02 or bd09 from WGS-84, GCJ-02, BD-09, 高德, 百度…; empty gives ``None`` (WGS-84)."""
    text = clean_text(value)
    if text is None:
        return None
    found = _CRS.get(key(text).removesuffix("坐标系").removesuffix("坐标"))
    if found is None:
        raise CellError(f"「{text}」不是可识别的坐标系，"
                        "应为 WGS-84（GPS、天地图）、GCJ-02（高德、腾讯）或 BD-09（百度）")
    return found


def read_region_code(value: object) -> str | None:
    """A GB/T 2260 code as the regions table keeps it: 36, 3601, 360121 or a 12-digit 乡镇（街道） code.

    6-digit codes of a city or the province (360100, 360000), 9-digit 乡镇 codes and 12-digit codes padded
    with zeros are shortened or padded to that form; a 村 code counts for its 乡镇（街道）.
    """
    text = clean_code(value)
    if text is None:
        return None
    runs = re.findall(r"\d+", text)
    if len(runs) != 1 or len(runs[0]) not in (2, 4, 6, 9, 12):
        raise CellError(f"「{text}」不是行政区划代码（应为 6 位县级代码如 360121，或 9、12 位乡镇代码）")
    code: str = runs[0]
    if len(code) == 9:
        code += "000"
    if len(code) == 12 and code.endswith("000000"):
        code = code[:6]
    elif len(code) == 12 and not code.endswith("000"):
        code = code[:9] + "000"  # a 村 (village) code: the 乡镇 (township) it lies in
    if len(code) == 6 and code.endswith("0000"):
        code = code[:2]
    elif len(code) == 6 and code.endswith("00"):
        code = code[:4]
    return code


def read_degrees(value: object) -> float | None:
    """Decimal degrees from 28.5457, "２８．５４５７", 28°32′44.5″, 115度56分, N28.5 or 东经115.9."""
    if value is None:
        return None
    if type(value) is str:
        text = unicodedata.normalize("NFKC", value).translate(_PRIMES)
        text = _SPACE.sub("", text)
        if not text:
            return None
        if _WRONG_HEMISPHERE.search(text):
            raise CellError(f"「{value.strip()}」是南纬或西经，不在中国境内")
        text = _HEMISPHERE.sub("", text)
        match = _DMS.fullmatch(text)
        if match is not None:
            degrees, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
            if minutes >= 60 or seconds >= 60:
                raise CellError(f"「{value.strip()}」的分、秒应小于 60")
            return degrees + minutes / 60 + seconds / 3600
        value = text
    try:
        number = parse_quantity(value, allow_negative=True)
    except CellError:
        raise CellError(f"「{shown(value)}」不是经纬度，请写成小数度数，如 28.5457") from None
    return None if number is None else float(number)


def _number(value: object) -> int | Decimal | None:
    """A number, allowing a unit after it in text (2台, 500 袋, 1,200人)."""
    if type(value) is str:
        text = unicodedata.normalize("NFKC", value).strip()
        match = _NUMBER_UNIT.fullmatch(text)
        if match is not None:
            value = match[1]
    return parse_quantity(value)


def read_weight(value: object) -> float | None:
    """The weight: people at risk or a priority, a number above 0."""
    number = _number(value)
    if number is None:
        return None
    if number <= 0:
        raise CellError(f"「{clean_text(value)}」须大于 0（受威胁人数或优先级）")
    if number > MAX_WEIGHT:
        raise CellError(f"「{clean_text(value)}」过大（不能超过 {MAX_WEIGHT:,}）")
    return float(number)


def read_count(value: object) -> int | None:
    """A quantity needed: a whole number; empty or 0 is no need."""
    number = _number(value)
    if number is None or number == 0:
        return None
    if not isinstance(number, int):
        raise CellError(f"「{clean_text(value)}」不是整数，需求数量按整数计")
    if number > MAX_QUANTITY:
        raise CellError(f"「{clean_text(value)}」过大（不能超过 {MAX_QUANTITY:,}）")
    return number


class Catalogue:
    """The item types a need may name, found by code (first) or name, ignoring spaces, width and case."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.codes: dict[str, str] = {}
        self.names: dict[str, list[str]] = {}
        for code, name in items:
            self.codes[key(code)] = code
            self.names.setdefault(key(name), []).append(code)

    def find(self, label: str) -> str | None:
        """The code of the item type ``label`` names; also tried without a trailing (hint), and the hint alone.

        A code anywhere wins over a name; ``None`` when nothing matches; CellError when the only name that matches
        is that of several item types.
        """
        tries = [key(label)]
        hint = _HINT.search(tries[0])
        if hint is not None:
            tries += [tries[0][: hint.start()], hint[1]]
        tries = [text for text in tries if text]
        for text in tries:
            if text in self.codes:
                return self.codes[text]
        ambiguous: list[str] = []
        for text in tries:
            codes = self.names.get(text, [])
            if len(codes) == 1:
                return codes[0]
            ambiguous = ambiguous or codes
        if ambiguous:
            raise CellError(f"名称「{label}」对应多个物资品目（{'、'.join(sorted(ambiguous))}），请改写物资编码")
        return None


def read_needs(value: object, catalogue: Catalogue) -> list[tuple[str, int]]:
    """(item code, quantity) of each need in one cell: 抽水泵×2；沙袋×500 (名称或编码 × 数量)."""
    text = clean_text(value)
    if text is None:
        return []
    needs: list[tuple[str, int]] = []
    for part in _ENTRIES.split(unicodedata.normalize("NFKC", text)):
        entry = part.strip()
        if not entry:
            continue
        match = _ENTRY.fullmatch(entry)
        if match is None:
            raise CellError(f"「{entry}」缺数量，请写成「物资名称×数量」，如 沙袋×500")
        code = catalogue.find(match[1])
        if code is None:
            raise CellError(f"「{match[1]}」不是已有物资品目的编码或名称")
        quantity = read_count(match[2])
        if quantity is not None:
            needs.append((code, quantity))
    return needs
