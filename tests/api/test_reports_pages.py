"""The report pages, their .xlsx downloads, the charts and the JSON routes, over HTTP on the ledger of
tests/report_support.py: workbooks are reopened with openpyxl and their totals compared with the ledger."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from inventory.reports.periods import Period, current_month
from inventory.store.db import Database
from inventory.store.models import Document, Location, Movement, Region
from tests.api.helpers import assert_problem
from tests.api.test_write_offs_page import page_client
from tests.report_support import DEPOT_NAME, DEPOT_TENT, NOVEMBER, Ledger, build_ledger

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SVG = re.compile(r"<svg\b.*?</svg>", re.S)
NS = "{http://www.w3.org/2000/svg}"
# Columns of the 收发存 workbook (A = 序号) and where its table starts.
BALANCE_COLUMNS = {"opening": "G", "receipts": "H", "returns": "I", "transfers_in": "J", "gains": "K",
                   "total_in": "L", "issues": "M", "transfers_out": "N", "losses": "O", "write_offs": "P",
                   "total_out": "Q", "closing": "R", "in_transit": "S"}


@pytest.fixture
async def ledger(db: Database, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """The November 2025 ledger."""
    return await build_ledger(db, monkeypatch)


@pytest.fixture
async def commander(client: Any, client_as: Any) -> Any:
    """A commander signed in to the pages (session cookie)."""
    return await page_client(client_as, "commander", "chief")


def charts(html: str) -> list[ET.Element]:
    """Every inline SVG of a page, parsed as XML (a chart that is not well-formed fails here)."""
    return [ET.fromstring(svg) for svg in SVG.findall(html)]


def bars(svg: ET.Element) -> dict[str, int]:
    """Label → value of a chart's bars."""
    return {rect.get("data-label", ""): int(rect.get("data-value", "0"))
            for rect in svg.iter(f"{NS}rect") if rect.get("class") == "bar"}


async def workbook(c: Any, path: str, params: dict[str, str]) -> Any:
    """Download a report workbook and reopen it."""
    r = await c.get(path, params=params)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    return openpyxl.load_workbook(io.BytesIO(r.content)).active


def row_of(sheet: Any, column: str, text: str) -> int:
    """The first row whose cell in ``column`` is ``text``."""
    for cell in sheet[column]:
        if cell.value == text:
            return int(cell.row)
    raise AssertionError(f"no {text!r} in column {column}")


def assert_printable(sheet: Any, header_rows: str, first_data_row: int) -> None:
    """Frozen header repeated on each A4 landscape page, fitted to the width, with the three signature lines."""
    assert sheet.freeze_panes == f"A{first_data_row}"
    assert sheet.print_title_rows == header_rows
    setup = sheet.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    for who in ("制表人", "审核人", "负责人"):
        assert any(t.startswith(f"{who}：") for t in texts), who
    assert sum(t.startswith("日期：") for t in texts) == 3
    assert any(t.startswith("填报单位：") for t in texts) and any(t.startswith("报表期间：") for t in texts)
    assert sheet.column_dimensions["B"].width > 8


async def on_hand_sum(db: Database, ledger: Ledger, *, before: Period, at_start: bool) -> int:
    """Straight from the movements: on-hand stock of the depot and its bin before the period's start (or end)."""
    bound = before.start if at_start else before.end
    async with db.read() as s:
        places = select(Location.id).where(Location.id.in_([ledger.depot, ledger.bin]))
        total = await s.scalar(select(func.coalesce(func.sum(Movement.quantity), 0))
                               .join(Document, Document.id == Movement.document_id)
                               .where(Movement.location_id.in_(places), Movement.bucket == "on_hand",
                                      Document.occurred_at < bound))
    return int(total or 0)


async def test_every_role_opens_the_reports_page_with_charts_of_one_bar_per_county(
    db: Database, ledger: Ledger, client: Any, client_as: Any,
) -> None:
    async with db.read() as s:
        counties = list(await s.scalars(select(Region.name).where(Region.parent_code == "3601")
                                        .order_by(Region.code)))
    for role in ("admin", "commander", "keeper", "auditor"):
        c = await page_client(client_as, role, f"r-{role}")
        r = await c.get("/reports")
        assert r.status_code == 200, r.text[:500]
        for text in ("物资收发存报表", "物资台账", "库存分布", 'action="/reports/receipts-issues"'):
            assert text in r.text
        found = charts(r.text)
        assert len(found) == 4, role
        if role == "keeper":
            continue  # a keeper sees their own county's townships first
        pumps, boats, generators, expiring = found
        for chart in (pumps, boats, generators):
            assert list(bars(chart)) == counties, "one bar per county, in code order"
        assert bars(pumps)["南昌县"] == 2 and sum(bars(boats).values()) == 0
        assert "可用排涝泵" in pumps.findtext(f"{NS}title", "")
        assert len(bars(expiring)) == 12
    signed_out = await client_as("commander", "nobody")
    del signed_out.headers["Authorization"]
    r = await signed_out.get("/reports")
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/reports")


async def test_the_receipts_issues_page_and_its_workbook_agree_with_the_ledger(
    db: Database, ledger: Ledger, commander: Any,
) -> None:
    params = {"location": "D-NCX", "period": "2025-11"}
    page = await commander.get("/reports/receipts-issues", params=params)
    assert page.status_code == 200, page.text[:500]
    for text in (f"{DEPOT_NAME} 2025年11月 物资收发存报表", "填报单位", "2025-11-01 至 2025-11-30", "制表人", "审核人",
                 "负责人", 'href="/reports/receipts-issues.xlsx?location=D-NCX&amp;period=2025-11"'):
        assert text in page.text, text
    assert re.search(r'<tr data-location="D-NCX" data-item="TENT-12">.*?<td class="n neg">', page.text) is None
    sheet = await workbook(commander, "/reports/receipts-issues.xlsx", params)
    assert sheet["A1"].value == f"{DEPOT_NAME} 2025年11月 物资收发存报表"
    assert_printable(sheet, "$4:$5", 6)
    tent = row_of(sheet, "C", "TENT-12")
    assert sheet[f"F{tent}"].value == "顶"  # the unit column
    figures = {name: sheet[f"{col}{tent}"] for name, col in BALANCE_COLUMNS.items()}
    assert all(cell.data_type == "n" for cell in figures.values()), "numbers are numbers, not text"
    assert {k: figures[k].value for k in DEPOT_TENT if k in figures} == {
        k: v for k, v in DEPOT_TENT.items() if k in figures}
    assert (figures["total_in"].value, figures["total_out"].value) == (13, 39)
    total = row_of(sheet, "A", "合计")
    totals = {name: sheet[f"{col}{total}"].value for name, col in BALANCE_COLUMNS.items()}
    assert all(sheet[f"{col}{total}"].data_type == "n" for col in BALANCE_COLUMNS.values())
    # The totals are the ledger's: on hand of the depot and its bin at the start and at the end of November.
    assert totals["opening"] == await on_hand_sum(db, ledger, before=NOVEMBER, at_start=True) == 107 + 40
    assert totals["closing"] == await on_hand_sum(db, ledger, before=NOVEMBER, at_start=False) == 81 + 41
    assert totals["closing"] == totals["opening"] + totals["total_in"] - totals["total_out"]
    # Without a period: this month, and the download link says so (and names the location only).
    this_month = await commander.get("/reports/receipts-issues", params={"location": "D-NCX"})
    assert this_month.status_code == 200
    assert f'.xlsx?location=D-NCX&amp;period={current_month().code}"' in this_month.text


async def test_the_region_workbook_shows_the_transfer_still_in_transit_at_the_end_of_the_period(
    db: Database, ledger: Ledger, commander: Any,
) -> None:
    sheet = await workbook(commander, "/reports/receipts-issues.xlsx", {"region": "3601", "period": "2025-11"})
    assert sheet["A1"].value == "南昌市 2025年11月 物资收发存报表"
    assert any(str(c.value) == "填报单位：南昌市应急管理局" for c in sheet[2])
    jinxian = row_of(sheet, "B", "进贤县应急物资储备库")
    assert (sheet[f"J{jinxian}"].value, sheet[f"R{jinxian}"].value, sheet[f"S{jinxian}"].value) == (10, 40, 5)
    total = row_of(sheet, "A", "合计")
    assert (sheet[f"N{total}"].value, sheet[f"J{total}"].value, sheet[f"S{total}"].value) == (15, 10, 5)


async def test_the_stock_ledger_page_and_workbook_run_to_the_closing_balance(
    db: Database, ledger: Ledger, commander: Any,
) -> None:
    params = {"location": "D-NCX", "period": "2025-11"}
    page = await commander.get("/reports/stock-ledger", params=params)
    assert page.status_code == 200, page.text[:500]
    assert f"{DEPOT_NAME} 2025年11月 物资台账" in page.text and "入库冲销" in page.text and "李保管" in page.text
    sheet = await workbook(commander, "/reports/stock-ledger.xlsx", params)
    assert_printable(sheet, "$4:$4", 5)
    kinds = [(r[2].value, r[3].value, r[8].value, r[9].value, r[10].value) for r in sheet.iter_rows(min_row=5)
             if r[3].value == "TENT-12"]
    assert kinds[0] == ("期初结存", "TENT-12", None, None, 107)
    assert kinds[-1] == ("本期合计", "TENT-12", 13, 39, 81)  # ends at the 收发存 closing figure
    assert kinds[-2][4] == 81 and len(kinds) == 2 + 8
    numbers = [r[1].value for r in sheet.iter_rows(min_row=5) if r[3].value == "TENT-12" and r[1].value]
    assert numbers and all(re.fullmatch(r"[A-Z]{2}\d{8}-\d{6}", n) for n in numbers), numbers
    balance = next(r[10] for r in sheet.iter_rows(min_row=5) if r[3].value == "TENT-12" and r[1].value)
    assert balance.data_type == "n" and balance.value == 127
    assert sheet.cell(row_of(sheet, "A", "合计"), 9).value == 13 + 1  # tents in, and the water's 盘盈


async def test_the_stock_by_county_page_has_its_table_charts_and_workbook(
    db: Database, ledger: Ledger, commander: Any,
) -> None:
    page = await commander.get("/reports/stock-by-county", params={"region": "3601"})
    assert page.status_code == 200, page.text[:500]
    assert "南昌市应急物资库存分布表" in page.text and 'data-region="360121"' in page.text
    assert len(charts(page.text)) == 4
    sheet = await workbook(commander, "/reports/stock-by-county.xlsx", {"region": "3601"})
    assert_printable(sheet, "$4:$4", 5)
    lines = {(r[1].value, r[2].value): (r[4].value, r[6].value) for r in sheet.iter_rows(min_row=5)}
    assert lines[("南昌县", "帐篷篷布")] == (85, 85) and lines[("进贤县", "帐篷篷布")] == (39, 39)
    assert lines[("南昌市合计", "帐篷篷布")] == (85 + 39, 85 + 39)
    assert lines[("南昌县", "排涝泵")] == (2, 2)


async def test_a_report_asked_wrongly_says_which_field_on_the_page_and_changes_nothing(
    db: Database, ledger: Ledger, commander: Any,
) -> None:
    for path in ("/reports/receipts-issues", "/reports/receipts-issues.xlsx"):
        r = await commander.get(path, params={"location": "NO-SUCH", "period": "2025-11"})
        assert r.status_code == 422 and "地点：" in r.text and "NO-SUCH" in r.text, r.text[:300]
        r = await commander.get(path, params={"region": "3601", "period": "2025-13"})
        assert r.status_code == 422 and "报表期间：" in r.text
    r = await commander.get("/reports/stock-ledger", params={"location": "D-NCX", "period": "20"})
    assert r.status_code == 422 and "报表期间：" in r.text
    r = await commander.get("/reports/stock-by-county", params={"region": "99"})
    assert r.status_code == 422 and "行政区划：" in r.text
    r = await commander.get("/reports/stock-ledger.xlsx")
    assert r.status_code == 422 and "请先选择" in r.text
    for path in ("/reports/receipts-issues", "/reports/stock-ledger", "/reports/stock-by-county"):
        r = await commander.get(path)  # nothing asked yet: the form
        assert r.status_code == 200 and "<form" in r.text and 'id="report"' not in r.text


async def test_the_reports_as_json_rows(db: Database, ledger: Ledger, client: Any) -> None:
    r = await client.get("/api/v1/reports/receipts-issues", params={"location": "D-NCX", "period": "2025-11"})
    assert r.status_code == 200, r.text
    body = r.json()
    tent = next(row for row in body["rows"] if row["item"]["code"] == "TENT-12")
    assert {k: tent["figures"][k] for k in DEPOT_TENT} == DEPOT_TENT
    assert (body["period"], body["period_label"], body["truncated"]) == ({"year": 2025, "month": 11}, "2025年11月",
                                                                        False)
    r = await client.get("/api/v1/reports/stock-ledger", params={"location": str(ledger.depot), "period": "2025-11"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items[0]["entries"][-1]["balance"] == items[0]["closing"] == 81
    r = await client.get("/api/v1/reports/stock-by-county", params={"region": "3601"})
    assert r.status_code == 200 and any(c["region_code"] == "360121" for c in r.json()["counties"])
    r = await client.get("/api/v1/reports/expiring-lots", params={"region": "3601", "months": 6})
    assert r.status_code == 200 and len(r.json()["months"]) == 6
    assert_problem(await client.get("/api/v1/reports/receipts-issues", params={"region": "3601", "period": "x"}),
                   field="period")
    assert_problem(await client.get("/api/v1/reports/receipts-issues", params={"period": "2025-11"}),
                   field="location")
    assert_problem(await client.get("/api/v1/reports/stock-ledger", params={"location": "NO-SUCH"}),
                   field="location")
