"""Reading the 风险隐患点 list (.xlsx) as county offices send it, and its template: no database."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from importers.cells import CellError
from importers.risk_point_cells import Catalogue, read_crs, read_degrees, read_kind, read_needs, read_region_code
from importers.risk_point_template import RiskTemplateRow, write_risk_point_template
from importers.risk_points import RiskNeedCell, RiskPointRow, SheetUnreadable, parse_risk_point_sheet

CATALOGUE = [("PUMP-300", "移动泵车"), ("SB-01", "沙袋"), ("LXS-1", "龙吸水"), ("BAG", "编织袋"),
             ("LJ-A", "救生衣"), ("LJ-B", "救生衣")]


def book(rows: list[list[Any]], merges: tuple[str, ...] = ()) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


HEADER = ["编号", "名称", "类型", "行政区划代码", "纬度", "经度", "坐标系", "受威胁人数", "需求", "备注"]


def parse(rows: list[list[Any]], header: list[str] = HEADER, **kw: Any) -> Any:
    return parse_risk_point_sheet(book([["风险隐患点清单"], [], header, *rows], **kw), CATALOGUE)


def test_a_messy_wps_list_is_read_with_its_needs_in_both_styles() -> None:
    raw = book([
        ["南昌县2026年汛期风险隐患点清单"],
        ["填报单位：南昌县应急管理局", None, None, None, "填报日期：2026年4月1日"],
        ["序号", "风险点编号", "名  称", "类型", "所属区划代码", "纬度（°）", "经度", "坐标系", "受威胁人数（人）",
         "物资需求", None, "需求（名称×数量）", "联系电话", "备注"],
        [None, None, None, None, None, None, None, None, None, "龙吸水（台）", "沙袋", None, None, None],
        ["一、堤段"],
        [1, " NCX-DF-01 ", "蒋巷镇赣江堤段 ", "堤段", "360121", "２８．５４５７", "115.944", "高德", "1,200人",
         "２", "500袋", "移动泵车×2；编织袋：1,000", 13800000000, None],
        [2, "NCX-DF-02", "塘南镇堤段", None, "360121000000", "28°30′0″", "东经115.95", None, 300, None, 100, "",
         None, "险段"],
        [None, None, None, None, None, None, None, None, None, None, None, None, None, None],
        ["二、低洼村庄"],
        [3, "ＮＣＸ－ＣＺ－０１", "幽兰镇某村", "低洼村庄", "360121104", 28.40, 116.05, "BD-09", "80", 0, None,
         "救生衣(LJ-A)*20、沙袋 200", None, None],
        [None, "合计", None, None, None, None, None, None, 1580, 2, 600],
    ], merges=("A1:N1", "J3:K3", "A5:N5", "D6:D7", "A9:N9"))
    parsed = parse_risk_point_sheet(raw, CATALOGUE)

    assert parsed.errors == []
    assert parsed.header_row == 4 and parsed.columns["编号"] == "B" and parsed.columns["需求"] == "L"
    assert parsed.item_columns == {"J": "LXS-1", "K": "SB-01"}
    first, second, third = parsed.rows
    assert first == RiskPointRow(
        row=6, code="NCX-DF-01", name="蒋巷镇赣江堤段", kind="embankment", region_code="360121", lat=28.5457,
        lon=115.944, crs="gcj02", weight=1200.0, needs=(
            RiskNeedCell("LXS-1", 2, "龙吸水（台）", "J"), RiskNeedCell("SB-01", 500, "沙袋", "K"),
            RiskNeedCell("PUMP-300", 2, "需求", "L"), RiskNeedCell("BAG", 1000, "需求", "L")))
    # 类型 merged down D6:D7 counts for row 7; a 12-digit code padded with zeros is the county's
    assert (second.kind, second.region_code, second.lat, second.lon, second.crs, second.note) == (
        "embankment", "360121", 28.5, 115.95, "wgs84", "险段")
    assert second.needs == (RiskNeedCell("SB-01", 100, "沙袋", "K"),)
    # full-width code, a 9-digit 乡镇 code, 0 in an item column is no need, a name made plain by its code
    assert (third.code, third.kind, third.region_code, third.crs, third.weight) == (
        "NCX-CZ-01", "village", "360121104000", "bd09", 80.0)
    assert third.needs == (RiskNeedCell("LJ-A", 20, "需求", "L"), RiskNeedCell("SB-01", 200, "需求", "L"))


def test_every_bad_cell_is_an_error_with_its_row_column_and_letter() -> None:
    parsed = parse([
        ["RP-1", "好的一行", "学校", "360121", 28.5, 115.9, None, 10, "沙袋×5", None],
        ["RP-2", "坏类型", "菜市场", "360121", 28.5, 115.9, None, 10, None, None],
        ["RP-3", "坏坐标", "水库", "南昌县", "北纬二十八度", 115.9, "北京54", 0, None, None],
        ["RP-4", "坏需求", "学校", "360121", 28.5, 115.9, None, 10, "沙袋×2.5；帐篷×3", None],
        ["RP-5", None, "学校", None, 28.5, None, None, None, None, None],
        ["RP-1", "重复编号", "学校", "360121", 28.5, 115.9, None, 10, None, None],
        ["RP-6", "同一物资两次", "学校", "360121", 28.5, 115.9, None, 10, "沙袋×1；SB-01×2", None],
        ["RP-7", "名称重名", "学校", "360121", 28.5, 115.9, None, 10, "救生衣×3", None],
        ["RP-8", "缺数量", "学校", "360121", 28.5, 115.9, None, 10, "沙袋", None],
    ])
    got = [(e.row, e.column, e.letter) for e in parsed.errors]
    assert got == [
        (5, "类型", "C"),
        (6, "行政区划代码", "D"), (6, "纬度", "E"), (6, "坐标系", "G"), (6, "权重", "H"),
        (7, "需求", "I"),
        (8, "名称", "B"), (8, "行政区划代码", "D"), (8, "经度", "F"), (8, "权重", "H"),
        (9, "编号", "A"),
        (10, "需求", "I"),
        (11, "需求", "I"),
        (12, "需求", "I"),
    ]
    messages = {(e.row, e.column): e.message for e in parsed.errors}
    assert "菜市场" in messages[(5, "类型")] and "堤段" in messages[(5, "类型")]
    assert "须大于 0" in messages[(6, "权重")] and "北京54" in messages[(6, "坐标系")]
    assert "不是整数" in messages[(7, "需求")]
    assert "不能为空" in messages[(8, "名称")] and "优先级" in messages[(8, "权重")]
    assert "第 4 行" in messages[(9, "编号")]
    assert "只填一次" in messages[(10, "需求")]
    assert "LJ-A、LJ-B" in messages[(11, "需求")] and "缺数量" in messages[(12, "需求")]
    assert [r.code for r in parsed.rows] == ["RP-1"]


def test_a_column_of_numbers_headed_by_no_item_type_is_an_error_and_a_column_of_text_is_ignored() -> None:
    header = ["编号", "名称", "类型", "行政区划代码", "纬度", "经度", "龙吸水", "冲锋舟", "巡查员", "联系电话"]
    parsed = parse([["RP-1", "堤段一", "堤段", "360121", 28.5, 115.9, 2, None, "张三", "0791-1234567"],
                    ["RP-2", "堤段二", "堤段", "360121", 28.5, 115.9, None, "3", "李四", 13800000000]], header=header)
    assert [(e.row, e.column, e.letter) for e in parsed.errors] == [(3, "冲锋舟", "H")]
    assert "第 5 行起" in parsed.errors[0].message and "物资编码或名称" in parsed.errors[0].message
    assert parsed.rows[0].needs == (RiskNeedCell("LXS-1", 2, "龙吸水", "G"),)
    assert parsed.rows[0].weight == 1.0  # no 权重 column: every point weighs 1
    header[6] = "救生衣"
    ambiguous = parse([["RP-1", "堤段一", "堤段", "360121", 28.5, 115.9, 2]], header=header[:7])
    assert [(e.row, e.column) for e in ambiguous.errors] == [(3, "救生衣")]


def test_every_column_of_needs_is_read_and_needs_in_a_column_of_another_name_are_an_error() -> None:
    header = ["编号", "名称", "类型", "行政区划代码", "纬度", "经度", "物资需求", "其他需求", "需求", "补充"]
    parsed = parse([["RP-1", "堤段一", "堤段", "360121", 28.5, 115.9, "沙袋×5", "龙吸水×1", "BAG×9", None],
                    ["RP-2", "堤段二", "堤段", "360121", 28.5, 115.9, None, "沙袋×1", None, "移动泵车×2"]],
                   header=header)
    assert [(e.row, e.column, e.letter) for e in parsed.errors] == [(3, "补充", "J")]
    assert "第 5 行起" in parsed.errors[0].message
    assert parsed.rows[0].needs == (RiskNeedCell("SB-01", 5, "需求", "G"), RiskNeedCell("LXS-1", 1, "其他需求", "H"),
                                    RiskNeedCell("BAG", 9, "需求", "I"))
    twice = parse([["RP-1", "堤段一", "堤段", "360121", 28.5, 115.9, "沙袋×5", "沙袋×1", None, None]], header=header)
    assert [(e.row, e.column, e.letter) for e in twice.errors] == [(4, "其他需求", "H")]
    assert "「需求」列" in twice.errors[0].message


def test_headings_blank_subtotal_repeated_header_and_example_rows_are_skipped() -> None:
    parsed = parse([
        ["一、堤段"],
        [None, "二、学校"],
        [],
        ["示例-NCX-DF-01", "示例堤段", "堤段", "360121", 28.5, 115.9, None, 10, None, None],
        HEADER,
        ["RP-1", "堤段一", "堤段", "360121", 28.5, 115.9, None, 10, None, None],
        ["合计", None, None, None, None, None, None, 10],
        ["注：坐标为 WGS-84"],
    ])
    assert parsed.errors == [] and [(r.row, r.code) for r in parsed.rows] == [(9, "RP-1")]


def test_a_list_without_a_header_or_a_required_column_or_not_xlsx_is_refused() -> None:
    with pytest.raises(SheetUnreadable, match="表头"):
        parse_risk_point_sheet(book([["甲", "乙"], [1, 2]]), CATALOGUE)
    missing = parse_risk_point_sheet(book([["编号", "名称", "类型", "纬度"], ["RP-1", "甲", "堤段", 28.5]]),
                                     CATALOGUE)
    assert [(e.row, e.column) for e in missing.errors] == [(1, "行政区划代码"), (1, "经度")]
    assert missing.rows == []
    with pytest.raises(SheetUnreadable, match=r"\.xlsx"):
        parse_risk_point_sheet(b"name,lat\nA,28.5\n", CATALOGUE)
    with pytest.raises(SheetUnreadable, match="97-2003"):
        parse_risk_point_sheet(b"\xd0\xcf\x11\xe0" + b"\0" * 100, CATALOGUE)
    with pytest.raises(SheetUnreadable, match="空"):
        parse_risk_point_sheet(b"", CATALOGUE)


def test_the_template_has_an_example_that_is_not_imported_and_listed_points_read_back() -> None:
    blank = write_risk_point_template()
    sheet = openpyxl.load_workbook(io.BytesIO(blank)).active
    assert [c.value for c in sheet[3]][:6] == ["编号", "名称", "类型", "行政区划代码", "纬度", "经度"]
    assert str(sheet.cell(4, 1).value).startswith("示例")
    example = parse_risk_point_sheet(blank, [("PUMP-1", "抽水泵"), ("SB", "沙袋")])
    assert (example.rows, example.errors) == ([], [])

    listed = [RiskTemplateRow(code="NCX-XT-01", name="向塘下穿通道", kind_zh="下穿通道", region_code="360121",
                              lat=28.4512345, lon=115.9876543, weight=35.5, needs="龙吸水×1；SB-01×300", note="易积水")]
    back = parse_risk_point_sheet(write_risk_point_template(listed), CATALOGUE)
    assert back.errors == []
    assert back.rows == [RiskPointRow(row=4, code="NCX-XT-01", name="向塘下穿通道", kind="underpass",
                                      region_code="360121", lat=28.4512345, lon=115.9876543, weight=35.5,
                                      note="易积水", needs=(RiskNeedCell("LXS-1", 1, "需求", "I"),
                                                           RiskNeedCell("SB-01", 300, "需求", "I")))]


@pytest.mark.parametrize(("value", "expected"), [
    ("360121", "360121"), (360121, "360121"), ("360121000000", "360121"), ("360121100", "360121100000"),
    ("360121100000", "360121100000"), ("360121100201", "360121100000"), ("360100", "3601"), ("360000", "36"),
    ("3601", "3601"), ("南昌县（360121）", "360121"), ("３６０１２１", "360121"), (None, None),
])
def test_region_codes_are_read_in_the_form_the_regions_table_keeps(value: Any, expected: str | None) -> None:
    assert read_region_code(value) == expected


@pytest.mark.parametrize("value", ["南昌县", "36012", "3601-21", "1234567"])
def test_a_cell_that_is_no_region_code_is_an_error(value: str) -> None:
    with pytest.raises(CellError, match="行政区划代码"):
        read_region_code(value)


@pytest.mark.parametrize(("value", "expected"), [
    (28.5457, 28.5457), ("28.5457", 28.5457), ("２８．５４５７", 28.5457), ("28°30′", 28.5), ("28°30'36\"", 28.51),
    ("115度30分", 115.5), ("N28.5", 28.5), ("东经115.9", 115.9), ("115.9E", 115.9), (" ", None), (None, None),
])
def test_degrees_are_read_as_people_write_them(value: Any, expected: float | None) -> None:
    got = read_degrees(value)
    assert got == pytest.approx(expected) if expected is not None else got is None


@pytest.mark.parametrize("value", ["S28.5", "西经115", "二十八度", "28°75′"])
def test_a_cell_that_is_no_coordinate_in_china_is_an_error(value: str) -> None:
    with pytest.raises(CellError):
        read_degrees(value)


def test_kinds_and_crs_are_read_from_their_chinese_names_and_aliases() -> None:
    assert [read_kind(v) for v in ("堤段", "险工险段", "低洼村庄", "下穿隧道", "幼儿园", "山塘", "滑坡", "其它",
                                   "reservoir")] == [
        "embankment", "embankment", "village", "underpass", "school", "reservoir", "landslide", "other", "reservoir"]
    assert [read_crs(v) for v in ("WGS-84", "wgs84", "GPS", "ＧＣＪ－０２", "高德坐标", "百度地图", "BD09", None)] == [
        "wgs84", "wgs84", "wgs84", "gcj02", "gcj02", "bd09", "bd09", None]


def test_needs_in_one_cell_take_every_separator_and_a_code_or_name() -> None:
    catalogue = Catalogue(CATALOGUE)
    assert read_needs("移动泵车×2；沙袋×1,000，龙吸水*1、BAG：50\n救生衣(LJ-B) 3 件", catalogue) == [
        ("PUMP-300", 2), ("SB-01", 1000), ("LXS-1", 1), ("BAG", 50), ("LJ-B", 3)]
    assert read_needs("ｐｕｍｐ－３００ x 4; 沙袋500袋", catalogue) == [("PUMP-300", 4), ("SB-01", 500)]
    with pytest.raises(CellError, match="帐篷"):
        read_needs("帐篷×3", catalogue)
