"""Unit tests for inventory.catalog.rules: GB/T 38565 codes, tags, attributes and attribute filters."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.catalog.rules import (
    KNOWN_ATTRIBUTES,
    TAG_LABELS_ZH,
    TAGS,
    AttrFilter,
    attr_matches,
    mask_to_tags,
    normalise_attributes,
    parse_attr_filter,
    tag_bit,
    tags_to_mask,
    validate_gbt38565,
)
from inventory.errors import InvalidInput

# --------------------------------------------------------------------------- GB/T 38565


@pytest.mark.parametrize("code", ["2010101", "1999999", "3010101", "1010199"])
def test_well_formed_gbt_codes_are_accepted(code: str) -> None:
    validate_gbt38565(code)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("201010", "长度为 6 位"),
        ("20101010", "长度为 8 位"),
        ("", "长度为 0 位"),
        ("4010101", "大类"),
        ("0010101", "大类"),
        ("2000101", "中类"),
        ("2010001", "小类"),
        ("2010100", "细类"),
        ("20101a1", "非数字"),
        ("2010１01", "非数字"),  # full-width digit
        (" 201010", "非数字"),
    ],
)
def test_malformed_gbt_codes_are_rejected_with_the_reason(code: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_gbt38565(code)
    assert exc.value.field == "gbt_code"
    assert fragment in exc.value.detail


def test_a_bad_gbt_class_lists_the_three_allowed_classes() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_gbt38565("4010101")
    for name in ("基本生活保障物资", "应急装备及配套物资", "工程材料与机械加工设备"):
        assert name in exc.value.detail


def test_a_zero_gbt_level_names_its_digit_positions() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_gbt38565("2010100")
    assert "第 6–7 位" in exc.value.detail
    assert "00" in exc.value.detail


# --------------------------------------------------------------------------- tags


def test_tags_have_chinese_labels() -> None:
    assert TAGS == ("small", "fast", "light", "smart")
    assert [TAG_LABELS_ZH[t] for t in TAGS] == ["小", "快", "轻", "智"]


def test_each_tag_maps_to_its_own_bit() -> None:
    assert [tag_bit(t) for t in TAGS] == [1, 2, 4, 8]
    assert tags_to_mask(["small", "smart"]) == 0b1001


def test_duplicate_tags_are_fine() -> None:
    assert tags_to_mask(["fast", "fast", "light"]) == 0b0110


def test_no_tags_is_mask_zero() -> None:
    assert tags_to_mask([]) == 0
    assert mask_to_tags(0) == []


@given(st.lists(st.sampled_from(TAGS)))
def test_tag_mask_round_trips_in_tags_order(tags: list[str]) -> None:
    assert mask_to_tags(tags_to_mask(tags)) == [t for t in TAGS if t in tags]


@given(st.integers(min_value=0, max_value=15))
def test_every_valid_mask_round_trips(mask: int) -> None:
    assert tags_to_mask(mask_to_tags(mask)) == mask


def test_an_unknown_tag_is_rejected_with_the_allowed_values() -> None:
    with pytest.raises(InvalidInput) as exc:
        tags_to_mask(["small", "heavy"])
    assert exc.value.field == "tags"
    assert "heavy" in exc.value.detail
    for tag in TAGS:
        assert tag in exc.value.detail


def test_tag_bit_rejects_an_unknown_tag() -> None:
    with pytest.raises(InvalidInput) as exc:
        tag_bit("Small")
    assert exc.value.field == "tags"


def test_a_single_string_is_not_taken_as_a_list_of_tags() -> None:
    with pytest.raises(InvalidInput):
        tags_to_mask("small")


@pytest.mark.parametrize("mask", [-1, 16, 1 << 10])
def test_a_mask_with_unknown_bits_is_rejected(mask: int) -> None:
    with pytest.raises(InvalidInput):
        mask_to_tags(mask)


# --------------------------------------------------------------------------- attributes


def test_known_attributes_carry_units_and_chinese_labels() -> None:
    assert KNOWN_ATTRIBUTES["flow_m3h"].unit == "m³/h"
    assert KNOWN_ATTRIBUTES["flow_m3h"].label_zh == "流量"
    assert KNOWN_ATTRIBUTES["fuel"].kind == "string"
    assert KNOWN_ATTRIBUTES["fuel"].unit is None
    assert all(spec.kind == "number" for name, spec in KNOWN_ATTRIBUTES.items() if name != "fuel")


def test_attributes_are_normalised_to_floats_and_stripped_strings() -> None:
    result = normalise_attributes(
        {"flow_m3h": 300, "power_kw": 5.5, "fuel": "  diesel ", "colour": " 橙色 ", "rating_x2": 7}
    )
    assert result == {
        "flow_m3h": 300.0,
        "power_kw": 5.5,
        "fuel": "diesel",
        "colour": "橙色",
        "rating_x2": 7.0,
    }
    assert isinstance(result["flow_m3h"], float)
    assert isinstance(result["rating_x2"], float)


def test_no_attributes_normalise_to_an_empty_dict() -> None:
    assert normalise_attributes({}) == {}


@pytest.mark.parametrize(
    ("attrs", "field"),
    [
        ({"Flow": 1}, "attributes.Flow"),
        ({"1flow": 1}, "attributes.1flow"),
        ({"flow-rate": 1}, "attributes.flow-rate"),
        ({"": 1}, "attributes."),
        ({"a" * 41: 1}, "attributes." + "a" * 41),
        ({"flow_m3h": "300"}, "attributes.flow_m3h"),
        ({"flow_m3h": True}, "attributes.flow_m3h"),
        ({"flow_m3h": math.nan}, "attributes.flow_m3h"),
        ({"head_m": math.inf}, "attributes.head_m"),
        ({"crew": None}, "attributes.crew"),
        ({"fuel": 95}, "attributes.fuel"),
        ({"fuel": "   "}, "attributes.fuel"),
        ({"fuel": "x" * 101}, "attributes.fuel"),
        ({"colour": ""}, "attributes.colour"),
        ({"colour": ["red"]}, "attributes.colour"),
        ({"waterproof": False}, "attributes.waterproof"),
        ({"size": None}, "attributes.size"),
        ({"size": math.nan}, "attributes.size"),
        ({"huge": 10**400}, "attributes.huge"),
    ],
)
def test_bad_attributes_are_rejected_naming_the_attribute(attrs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        normalise_attributes(attrs)
    assert exc.value.field == field


def test_a_forty_character_attribute_name_is_accepted() -> None:
    assert normalise_attributes({"a" * 40: 1}) == {"a" * 40: 1.0}


def test_a_string_of_exactly_100_characters_is_accepted() -> None:
    assert normalise_attributes({"fuel": "x" * 100}) == {"fuel": "x" * 100}


def test_a_wrongly_typed_known_attribute_names_its_chinese_label_and_unit() -> None:
    with pytest.raises(InvalidInput) as exc:
        normalise_attributes({"flow_m3h": "大"})
    assert "流量" in exc.value.detail
    assert "m³/h" in exc.value.detail


# --------------------------------------------------------------------------- attribute filters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flow_m3h>=300", AttrFilter("flow_m3h", ">=", 300.0)),
        ("head_m>10", AttrFilter("head_m", ">", 10.0)),
        ("fuel=diesel", AttrFilter("fuel", "=", "diesel")),
        ("fuel==diesel", AttrFilter("fuel", "=", "diesel")),
        ("power_kw<=5.5", AttrFilter("power_kw", "<=", 5.5)),
        ("crew<3", AttrFilter("crew", "<", 3.0)),
        ("fuel!=petrol", AttrFilter("fuel", "!=", "petrol")),
        (" flow_m3h >= 300 ", AttrFilter("flow_m3h", ">=", 300.0)),
        ("weight_kg<-1.5e1", AttrFilter("weight_kg", "<", -15.0)),
        ("fuel=95", AttrFilter("fuel", "=", "95")),
        ("colour=orange", AttrFilter("colour", "=", "orange")),
        ("rating=4", AttrFilter("rating", "=", 4.0)),
        ("rating>=4.5", AttrFilter("rating", ">=", 4.5)),
        ("colour!=红色", AttrFilter("colour", "!=", "红色")),
    ],
)
def test_each_attribute_filter_form_parses(text: str, expected: AttrFilter) -> None:
    assert parse_attr_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("flow_m3h", "缺少比较运算符"),
        ("", "缺少比较运算符"),
        (">=300", "缺少属性名"),
        ("flow_m3h>=", "缺少比较值"),
        ("Flow>=3", "属性名"),
        ("flow-m3h>=3", "属性名"),
        ("flow_m3h>=abc", "不是数字"),
        ("flow_m3h=many", "不是数字"),
        ("flow_m3h>=nan", "不是数字"),
        ("flow_m3h>=1e999", "超出数值范围"),
        ("fuel>diesel", "只能用 = 或 !="),
        ("fuel>=3", "只能用 = 或 !="),
        ("colour<red", "需要数字"),
        ("flow_m3h=>300", "运算符写法有误"),
        ("flow_m3h>>300", "运算符写法有误"),
    ],
)
def test_bad_attribute_filters_are_rejected_quoting_the_text(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_attr_filter(text)
    assert exc.value.field == "attr"
    assert f"「{text}」" in exc.value.detail
    assert fragment in exc.value.detail


def test_an_overlong_attribute_filter_is_rejected() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_attr_filter("flow_m3h>=" + "1" * 300)
    assert exc.value.field == "attr"


PUMP: dict[str, float | str] = {"flow_m3h": 300.0, "head_m": 12.0, "fuel": "diesel", "crew": 2.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flow_m3h>=300", True),
        ("flow_m3h>300", False),
        ("flow_m3h=300", True),
        ("flow_m3h!=300", False),
        ("head_m>10", True),
        ("head_m<=12", True),
        ("head_m<12", False),
        ("crew<3", True),
        ("fuel=diesel", True),
        ("fuel=Diesel", True),
        ("fuel=petrol", False),
        ("fuel!=petrol", True),
        ("fuel!=diesel", False),
    ],
)
def test_attribute_filters_match_the_attributes_they_describe(text: str, expected: bool) -> None:
    assert attr_matches(parse_attr_filter(text), PUMP) is expected


@pytest.mark.parametrize("text", ["power_kw>=0", "power_kw!=5", "colour!=red", "colour=red"])
def test_a_missing_attribute_never_matches(text: str) -> None:
    assert attr_matches(parse_attr_filter(text), PUMP) is False


def test_a_type_mismatch_never_matches() -> None:
    attrs: dict[str, float | str] = {"rating": "good", "colour": 3.0}
    assert attr_matches(AttrFilter("rating", ">=", 3.0), attrs) is False
    assert attr_matches(AttrFilter("rating", "!=", 3.0), attrs) is False
    assert attr_matches(AttrFilter("colour", "=", "red"), attrs) is False
    assert attr_matches(AttrFilter("colour", "!=", "red"), attrs) is False


def test_normalised_attributes_can_be_filtered() -> None:
    attrs = normalise_attributes({"flow_m3h": 450, "fuel": " diesel "})
    assert attr_matches(parse_attr_filter("flow_m3h>=300"), attrs)
    assert attr_matches(parse_attr_filter("fuel=diesel"), attrs)
