"""Pure rules for the materials catalogue: GB/T 38565 codes, capability tags and typed attributes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeGuard

from inventory.errors import InvalidInput

__all__ = [
    "CATEGORY_LABELS_ZH",
    "GBT_CLASSES",
    "KNOWN_ATTRIBUTES",
    "TAGS",
    "TAG_LABELS_ZH",
    "AttrFilter",
    "AttrOp",
    "AttributeSpec",
    "attr_matches",
    "mask_to_tags",
    "normalise_attributes",
    "parse_attr_filter",
    "tag_bit",
    "tags_to_mask",
    "validate_gbt38565",
]

# --------------------------------------------------------------------------- GB/T 38565-2020

GBT_CLASSES: Final[dict[str, str]] = {
    "1": "基本生活保障物资",
    "2": "应急装备及配套物资",
    "3": "工程材料与机械加工设备",
}
"""First digit of a GB/T 38565-2020 code → class name (大类)."""

_GBT_LEVELS: Final = (("中类", 1), ("小类", 3), ("细类", 5))


def validate_gbt38565(code: str) -> None:
    """Raise InvalidInput(field="gbt_code") unless ``code`` is a well-formed 7-digit GB/T 38565-2020 code."""
    if not isinstance(code, str):
        raise InvalidInput(f"GB/T 38565 编码必须是字符串，收到 {code!r}。", field="gbt_code")
    if len(code) != 7:
        raise InvalidInput(
            f"GB/T 38565 编码「{code}」长度为 {len(code)} 位，应为 7 位数字。Code must be 7 digits.",
            field="gbt_code",
        )
    if not (code.isascii() and code.isdigit()):
        bad = next(ch for ch in code if not ("0" <= ch <= "9"))
        raise InvalidInput(
            f"GB/T 38565 编码「{code}」含有非数字字符 {bad!r}，只能由 0–9 组成。Code must be digits only.",
            field="gbt_code",
        )
    if code[0] not in GBT_CLASSES:
        raise InvalidInput(
            f"GB/T 38565 编码「{code}」的大类（第 1 位）为 {code[0]}，应为 "
            "1（基本生活保障物资）、2（应急装备及配套物资）或 3（工程材料与机械加工设备）。",
            field="gbt_code",
        )
    for name, start in _GBT_LEVELS:
        if code[start : start + 2] == "00":
            raise InvalidInput(
                f"GB/T 38565 编码「{code}」的{name}（第 {start + 1}–{start + 2} 位）为 00，"
                "每一级应在 01–99 之间（99 表示其他）。",
                field="gbt_code",
            )


# --------------------------------------------------------------------------- tags

TAGS: Final = ("small", "fast", "light", "smart")
"""Capability tags ("小快轻智" equipment); bit i of a tag mask stands for TAGS[i]."""

TAG_LABELS_ZH: Final[dict[str, str]] = {"small": "小", "fast": "快", "light": "轻", "smart": "智"}
"""Chinese label of each tag."""

_ALL_TAGS_MASK: Final = (1 << len(TAGS)) - 1

CATEGORY_LABELS_ZH: Final[dict[str, str]] = {
    "pump": "排涝泵", "generator": "发电机", "power": "应急电源", "boat": "舟艇", "drone": "无人机", "uav": "无人机",
    "comms": "通信装备", "radio": "对讲机", "lighting": "照明装备", "fire": "消防装备", "rescue": "救援器材",
    "chainsaw": "油锯", "shelter": "帐篷篷布", "tent": "帐篷", "bedding": "被褥床具", "clothing": "被服",
    "flood_control": "防汛物资", "flood": "防汛物资", "food": "食品", "water": "饮用水",
}
"""Chinese names of the usual categories; a category is free text, and others are shown as they are."""


def _unknown_tag(tag: object) -> InvalidInput:
    """Build the error for a tag that is not in TAGS."""
    allowed = "、".join(f"{t}（{TAG_LABELS_ZH[t]}）" for t in TAGS)
    return InvalidInput(f"未知标签 {tag!r}，可选值为：{allowed}。Unknown tag.", field="tags")


def tag_bit(tag: str) -> int:
    """Return the mask bit value (1 << index) of ``tag``; unknown tags raise InvalidInput(field="tags")."""
    if not isinstance(tag, str) or tag not in TAGS:
        raise _unknown_tag(tag)
    return 1 << TAGS.index(tag)


def tags_to_mask(tags: Sequence[str]) -> int:
    """Return the bit mask of ``tags`` (duplicates allowed); unknown tags raise InvalidInput(field="tags")."""
    if isinstance(tags, str):
        raise InvalidInput("标签应为列表，而不是单个字符串。Tags must be a list.", field="tags")
    mask = 0
    for tag in tags:
        mask |= tag_bit(tag)
    return mask


def mask_to_tags(mask: int) -> list[str]:
    """Return the tags set in ``mask`` in TAGS order; bits outside TAGS raise InvalidInput(field="tags")."""
    if isinstance(mask, bool) or not isinstance(mask, int) or mask < 0 or mask & ~_ALL_TAGS_MASK:
        raise InvalidInput(f"标签掩码 {mask!r} 无效，应为 0–{_ALL_TAGS_MASK} 之间的整数。", field="tags")
    return [tag for i, tag in enumerate(TAGS) if mask & (1 << i)]


# --------------------------------------------------------------------------- attributes


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """How a well-known attribute is typed, measured and labelled."""

    kind: Literal["number", "string"]
    unit: str | None
    label_zh: str


KNOWN_ATTRIBUTES: Final[dict[str, AttributeSpec]] = {
    "flow_m3h": AttributeSpec("number", "m³/h", "流量"),
    "head_m": AttributeSpec("number", "m", "扬程"),
    "power_kw": AttributeSpec("number", "kW", "功率"),
    "weight_kg": AttributeSpec("number", "kg", "重量"),
    "battery_wh": AttributeSpec("number", "Wh", "电池容量"),
    "crew": AttributeSpec("number", "人", "操作人数"),
    "fuel": AttributeSpec("string", None, "燃料"),
    "capacity_persons": AttributeSpec("number", "人", "载员"),
    "range_km": AttributeSpec("number", "km", "续航/作业半径"),
    "endurance_min": AttributeSpec("number", "min", "续航时间"),
    "volume_l": AttributeSpec("number", "L", "容量"),
}
"""Attributes with a fixed type and unit; other names are accepted as free numbers or strings."""

ATTRIBUTE_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_STRING_ATTRIBUTE_LEN: Final = 100


def _attr_label(name: str) -> str:
    """Return "name（中文名）" for known attributes, else the bare name."""
    spec = KNOWN_ATTRIBUTES.get(name)
    return f"{name}（{spec.label_zh}）" if spec else name


def _is_number(value: object) -> TypeGuard[int | float]:
    """Tell whether ``value`` is an int or float but not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _normalise_number(name: str, value: int | float) -> float:
    """Return ``value`` as a finite float or raise InvalidInput."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidInput(
            f"属性 {_attr_label(name)} 的值 {value!r} 不是有限数值。Value must be finite.",
            field=f"attributes.{name}",
        )
    return number


def _normalise_string(name: str, value: str) -> str:
    """Return ``value`` stripped, or raise InvalidInput when empty or too long."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"属性 {_attr_label(name)} 的值不能为空。", field=f"attributes.{name}")
    if len(text) > MAX_STRING_ATTRIBUTE_LEN:
        raise InvalidInput(
            f"属性 {_attr_label(name)} 的值过长（{len(text)} 个字符），最多 {MAX_STRING_ATTRIBUTE_LEN} 个。",
            field=f"attributes.{name}",
        )
    return text


def normalise_attributes(attrs: Mapping[str, object]) -> dict[str, float | str]:
    """Check attribute names and value types; return numbers as float and strings stripped."""
    result: dict[str, float | str] = {}
    for name, value in attrs.items():
        if not isinstance(name, str) or not ATTRIBUTE_NAME_RE.fullmatch(name):
            raise InvalidInput(
                f"属性名 {name!r} 不合法：应以小写字母开头，只含小写字母、数字和下划线，最长 40 个字符。",
                field=f"attributes.{name}",
            )
        spec = KNOWN_ATTRIBUTES.get(name)
        field = f"attributes.{name}"
        if spec is not None and spec.kind == "number":
            if not _is_number(value):
                unit = f"，单位 {spec.unit}" if spec.unit else ""
                raise InvalidInput(f"属性 {_attr_label(name)} 应为数值{unit}，收到 {value!r}。", field=field)
            result[name] = _normalise_number(name, value)
        elif spec is not None:
            if not isinstance(value, str):
                raise InvalidInput(f"属性 {_attr_label(name)} 应为文字，收到 {value!r}。", field=field)
            result[name] = _normalise_string(name, value)
        elif _is_number(value):
            result[name] = _normalise_number(name, value)
        elif isinstance(value, str):
            result[name] = _normalise_string(name, value)
        else:
            raise InvalidInput(f"属性 {name} 的值 {value!r} 类型不支持，只能是数值或文字。", field=field)
    return result


# --------------------------------------------------------------------------- attribute filters

AttrOp = Literal[">=", "<=", ">", "<", "=", "!="]

_OPS: Final[dict[str, AttrOp]] = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "=", "==": "=", "!=": "!="}
_ORDERING_OPS: Final = frozenset({">=", "<=", ">", "<"})
_FILTER_RE: Final = re.compile(r"\s*(.*?)\s*(>=|<=|==|!=|=|>|<)\s*(.*?)\s*", re.DOTALL)
_NUMBER_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
MAX_FILTER_LEN: Final = 200


@dataclass(frozen=True, slots=True)
class AttrFilter:
    """One parsed attribute condition such as ``flow_m3h>=300`` (``==`` is stored as ``=``)."""

    name: str
    op: AttrOp
    value: float | str


def _filter_error(text: str, problem: str) -> InvalidInput:
    """Build the error for an attribute filter that cannot be parsed."""
    return InvalidInput(f"属性筛选条件「{text}」有误：{problem}", field="attr")


def parse_attr_filter(text: str) -> AttrFilter:
    """Parse ``name op value`` (ops >=, <=, >, <, =, ==, !=) into an AttrFilter or raise InvalidInput."""
    if not isinstance(text, str):
        raise InvalidInput(f"属性筛选条件必须是文字，收到 {text!r}。", field="attr")
    if len(text) > MAX_FILTER_LEN:
        raise _filter_error(text[:40] + "…", f"过长（最多 {MAX_FILTER_LEN} 个字符）。")
    match = _FILTER_RE.fullmatch(text)
    if match is None:
        raise _filter_error(text, "缺少比较运算符，应写成如 flow_m3h>=300 或 fuel=diesel。")
    name, raw_op, raw_value = match.groups()
    if not name:
        raise _filter_error(text, "运算符前缺少属性名。")
    if not ATTRIBUTE_NAME_RE.fullmatch(name):
        raise _filter_error(
            text, f"属性名 {name!r} 不合法：应以小写字母开头，只含小写字母、数字和下划线，最长 40 个字符。"
        )
    if not raw_value:
        raise _filter_error(text, "运算符后缺少比较值。")
    if raw_value[0] in "<>=!":
        raise _filter_error(text, "运算符写法有误，可用 >=、<=、>、<、=、==、!=。")
    op = _OPS[raw_op]

    spec = KNOWN_ATTRIBUTES.get(name)
    is_numeric = _NUMBER_RE.fullmatch(raw_value) is not None
    value: float | str
    if spec is not None and spec.kind == "string":
        if op in _ORDERING_OPS:
            raise _filter_error(text, f"属性 {_attr_label(name)} 是文字，只能用 = 或 != 比较。")
        value = raw_value
    elif is_numeric:
        value = float(raw_value)
        if not math.isfinite(value):
            raise _filter_error(text, f"比较值 {raw_value!r} 超出数值范围。")
    elif spec is not None:
        unit = f"（单位 {spec.unit}）" if spec.unit else ""
        raise _filter_error(text, f"属性 {_attr_label(name)} 是数值{unit}，比较值 {raw_value!r} 不是数字。")
    elif op in _ORDERING_OPS:
        raise _filter_error(text, f"运算符 {raw_op} 需要数字，比较值 {raw_value!r} 不是数字。")
    else:
        value = raw_value
    return AttrFilter(name=name, op=op, value=value)


def attr_matches(flt: AttrFilter, attrs: Mapping[str, float | str]) -> bool:
    """Tell whether ``attrs`` satisfies ``flt``; a missing attribute or a type mismatch never matches."""
    if flt.name not in attrs:
        return False
    actual = attrs[flt.name]
    if isinstance(flt.value, str):
        if not isinstance(actual, str):
            return False
        same = actual.strip().casefold() == flt.value.casefold()
        if flt.op == "=":
            return same
        if flt.op == "!=":
            return not same
        return False
    if not _is_number(actual):
        return False
    target = flt.value
    if flt.op == ">=":
        return actual >= target
    if flt.op == "<=":
        return actual <= target
    if flt.op == ">":
        return actual > target
    if flt.op == "<":
        return actual < target
    if flt.op == "=":
        return actual == target
    return actual != target
