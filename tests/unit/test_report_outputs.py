"""Report charts (SVG) and report workbooks (.xlsx) from plain rows, without a database or a server."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from api.pages.charts import column_bars, horizontal_bars, nice_max
from importers.report_sheets import (
    BalanceSheetRow,
    CountySheetRow,
    LedgerSheetRow,
    ReportHeading,
    write_receipts_issues,
    write_stock_by_county,
    write_stock_ledger,
)

NS = "{http://www.w3.org/2000/svg}"
HEADING = ReportHeading(title="南昌县 2026年11月 物资收发存报表", unit_name="南昌县应急管理局",
                        period="2026年11月（2026-11-01 至 2026-11-30）", made_on=dt.date(2026, 12, 5),
                        notes=("按单据发生时间计入期间。",))


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (21, 50), (120, 200),
                                            (1000, 1000), (1001, 2000)])
def test_the_value_axis_ends_at_a_round_number(value: int, top: int) -> None:
    assert nice_max(value) == top


@pytest.mark.parametrize("draw", [horizontal_bars, column_bars])
def test_a_chart_is_well_formed_svg_with_one_escaped_bar_per_label(draw: object) -> None:
    labels = [("南昌县", 3), ("<新建>&区", 0), ('"安义"县', 12)]
    svg = ET.fromstring(draw("可用排涝泵 <台>", labels, unit="台"))  # type: ignore[operator]
    assert svg.tag == f"{NS}svg" and svg.get("role") == "img" and svg.get("aria-label") == "可用排涝泵 <台>"
    bars = [r for r in svg.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [(n, str(v)) for n, v in labels]
    heights = [float(b.get("width" if draw is horizontal_bars else "height") or 0) for b in bars]
    assert heights[1] == 0 < heights[0] < heights[2]


def test_a_chart_without_bars_says_there_is_no_data() -> None:
    svg = ET.fromstring(horizontal_bars("各乡镇可用舟艇", []))
    assert "暂无数据" in "".join(svg.itertext())


def test_the_receipts_issues_workbook_keeps_text_as_text_and_numbers_as_numbers() -> None:
    row = BalanceSheetRow(location="=HYPERLINK(\"x\")", item_code="TENT-12", item_name="帐篷\x07", spec="", unit="顶",
                          opening=107, receipts=13, returns=0, transfers_in=0, gains=0, issues=19, transfers_out=15,
                          losses=2, write_offs=3, closing=81, in_transit=0)
    sheet = openpyxl.load_workbook(io.BytesIO(write_receipts_issues(HEADING, [row, row]))).active
    assert (sheet["B6"].value, sheet["B6"].data_type, sheet["D6"].value) == ('=HYPERLINK("x")', "s", "帐篷")
    assert sheet["E6"].value is None  # no empty text cells
    assert [sheet.cell(8, c).value for c in (1, 7, 12, 17, 18)] == ["合计", 214, 26, 78, 162]
    assert sheet.merged_cells.ranges and "H4:L4" in {str(r) for r in sheet.merged_cells.ranges}  # 本期收入
    assert sheet["H4"].value == "本期收入" and sheet["M4"].value == "本期发出" and sheet["H5"].value == "入库"
    assert sheet["A3"].value.startswith("说明：")


def test_the_ledger_and_county_workbooks_have_their_total_lines() -> None:
    rows = [LedgerSheetRow(item_code="T", item_name="帐篷", spec="", unit="顶", kind="期初结存", balance=5,
                           subtotal=True),
            LedgerSheetRow(item_code="T", item_name="帐篷", spec="", unit="顶", date=dt.date(2026, 11, 3),
                           number="RK20261103-000001", kind="入库", quantity_in=7, balance=12)]
    sheet = openpyxl.load_workbook(io.BytesIO(write_stock_ledger(HEADING, rows))).active
    assert sheet["A6"].number_format == "yyyy-mm-dd" and sheet["A6"].value == dt.datetime(2026, 11, 3)
    assert (sheet["A7"].value, sheet["I7"].value, sheet["J7"].value) == ("合计", 7, 0)
    county = [CountySheetRow(region="东湖区", category="排涝泵", unit="台", on_hand=3, reserved=1, available=2,
                             in_transit=0),
              CountySheetRow(region="南昌市合计", category="排涝泵", unit="台", on_hand=3, reserved=1, available=2,
                             in_transit=0, subtotal=True)]
    sheet = openpyxl.load_workbook(io.BytesIO(write_stock_by_county(HEADING, county, "乡镇（街道）"))).active
    assert sheet["B4"].value == "乡镇（街道）"
    assert (sheet["A5"].value, sheet["A6"].value) == (1, None)
    assert (sheet["B6"].value, sheet["B6"].font.b) == ("南昌市合计", True)
