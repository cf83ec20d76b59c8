"""Lots over HTTP: finding a batch and its label code, its quality (质量) from receipt to label, on both databases."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from labels.fonts import FONT_ENV, FONT_PATH
from tests.api.helpers import assert_problem, count, item_type_body, location_body
from tests.conftest import TEST_PASSWORD

LOTS = "/api/v1/lots"
MOVEMENTS = "/api/v1/movements"
needs_font = pytest.mark.skipif(not FONT_PATH.is_file() and not os.environ.get(FONT_ENV),
                                reason="label font missing (apt-get install fonts-wqy-microhei)")


@dataclass
class Site:
    """南昌县 depot with a shelf, a 进贤县 depot, tents and water in lots (ids by lot number)."""

    depot: int
    shelf: int
    jinxian: int
    tent: int
    water: int
    lots: dict[str, int]


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def receipt(location: int, item: int, quantity: int, **lot: Any) -> dict[str, Any]:
    """A receipt of one line in a lot."""
    return {"kind": "receipt", "location_id": location,
            "lines": [{"item_type_id": item, "quantity": quantity, "lot": lot}]}


async def make_site(client: Any) -> Site:
    """Five lots: tents at the depot (two dated, one undated at 进贤), water on the depot's shelf and at 进贤."""
    depot = await created(client, "/api/v1/locations", location_body("D-NCX"))
    shelf = await created(client, "/api/v1/locations", location_body(
        "D-NCX-A1", kind="bin", name="A区1号货架", parent_id=depot["id"]))
    jinxian = await created(client, "/api/v1/locations", location_body(
        "D-JXX", name="进贤县应急物资储备库", region_code="360124", lat=28.37, lon=116.24))
    tent = await created(client, "/api/v1/item-types", item_type_body(
        "TENT-12", name="救灾帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[], spec="单帐篷 12 m²，钢架，防水帆布"))
    water = await created(client, "/api/v1/item-types", item_type_body(
        "WATER-550", name="饮用水", unit="箱", tracking="bulk", category="water", gbt_code=None,
        attributes={}, tags=[], shelf_life_days=540))
    bodies = {
        "T-2026B": receipt(depot["id"], tent["id"], 30, number="T-2026B", quality="合格", expiry_date="2031-06-30"),
        "T-2026A": receipt(depot["id"], tent["id"], 20, number="T-2026A", quality="一等品", origin="江西南昌",
                           production_date="2026-01-05", expiry_date="2030-12-31"),
        "T-OLD": receipt(jinxian["id"], tent["id"], 5, number="T-OLD"),
        "W-1": receipt(shelf["id"], water["id"], 40, number="W-1", quality="合格", expiry_date="2026-08-10"),
        "W-2": receipt(jinxian["id"], water["id"], 10, number="W-2", expiry_date="2026-07-01"),
    }
    lots = {}
    for number, body in bodies.items():
        lots[number] = (await created(client, MOVEMENTS, body))["movements"][0]["lot_id"]
    return Site(depot["id"], shelf["id"], jinxian["id"], tent["id"], water["id"], lots)


async def numbers(client: Any, **params: Any) -> list[str]:
    """Lot numbers GET /lots lists for these filters, in its order."""
    r = await client.get(LOTS, params=params)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == len(page["items"])
    return [lot["number"] for lot in page["items"]]


async def test_a_lot_is_found_by_id_with_its_label_code_quality_and_dates(client: Any) -> None:
    s = await make_site(client)
    r = await client.get(f"{LOTS}/{s.lots['T-2026A']}")
    assert r.status_code == 200, r.text
    lot = r.json()
    assert {k: lot[k] for k in ("item_type_id", "number", "origin", "quality", "production_date", "expiry_date")} == {
        "item_type_id": s.tent, "number": "T-2026A", "origin": "江西南昌", "quality": "一等品",
        "production_date": "2026-01-05", "expiry_date": "2030-12-31"}
    scanned = await client.get(f"/api/v1/scan/{lot['label_code']}")
    assert scanned.status_code == 200, scanned.text
    assert (scanned.json()["kind"], scanned.json()["target_id"]) == ("lot", lot["id"])
    assert ["质量", "一等品"] in scanned.json()["facts"]
    assert (await client.get(f"{LOTS}/{s.lots['T-OLD']}")).json()["quality"] == ""
    assert "批次" in assert_problem(await client.get(f"{LOTS}/99999"), 404)["detail"]


async def test_lots_are_listed_first_expiring_first_and_by_item_type_id_or_code(client: Any) -> None:
    s = await make_site(client)
    assert await numbers(client) == ["W-2", "W-1", "T-2026A", "T-2026B", "T-OLD"]  # undated last
    assert await numbers(client, item_type="TENT-12") == ["T-2026A", "T-2026B", "T-OLD"]
    assert await numbers(client, item_type=str(s.tent)) == ["T-2026A", "T-2026B", "T-OLD"]
    page = (await client.get(LOTS, params={"limit": 2, "offset": 1})).json()
    assert ([lot["number"] for lot in page["items"]], page["total"], page["limit"], page["offset"]) == (
        ["W-1", "T-2026A"], 5, 2, 1)
    assert all(lot["label_code"].startswith("L") for lot in page["items"])
    unknown = assert_problem(await client.get(LOTS, params={"item_type": "NO-SUCH"}), 422, "item_type")
    assert "NO-SUCH" in unknown["detail"]
    assert_problem(await client.get(LOTS, params={"limit": 0}), 422)
    assert_problem(await client.get(LOTS, params={"limit": 501}), 422)


async def test_location_lists_the_lots_on_hand_there_and_include_children_adds_its_shelves(client: Any) -> None:
    s = await make_site(client)
    assert await numbers(client, location="D-NCX") == ["T-2026A", "T-2026B"]
    assert await numbers(client, location="D-NCX", include_children="true") == ["W-1", "T-2026A", "T-2026B"]
    assert await numbers(client, location=str(s.depot), include_children="true", item_type="WATER-550") == ["W-1"]
    assert await numbers(client, location="D-JXX") == ["W-2", "T-OLD"]
    await created(client, MOVEMENTS, {"kind": "issue", "location_id": s.jinxian, "lines": [
        {"item_type_id": s.tent, "quantity": 5, "lot_id": s.lots["T-OLD"]}]})
    assert await numbers(client, location="D-JXX") == ["W-2"]  # nothing left of T-OLD there
    unknown = assert_problem(await client.get(LOTS, params={"location": "NOWHERE"}), 422, "location")
    assert "NOWHERE" in unknown["detail"]


async def test_expiring_before_lists_the_lots_whose_expiry_is_before_that_day(client: Any) -> None:
    await make_site(client)
    assert await numbers(client, expiring_before="2026-08-10") == ["W-2"]
    assert await numbers(client, expiring_before="2026-08-11") == ["W-2", "W-1"]
    assert await numbers(client, expiring_before="2031-01-01", item_type="TENT-12") == ["T-2026A"]
    for bad in ("2026-02-30", "1800-01-01", "tomorrow", "2026-8-1"):
        assert_problem(await client.get(LOTS, params={"expiring_before": bad}), 422)


async def test_a_receipt_records_quality_and_a_known_lot_of_another_quality_is_refused_writing_nothing(
    client: Any,
) -> None:
    s = await make_site(client)
    before = await count(client, MOVEMENTS)
    body = assert_problem(await client.post(MOVEMENTS, json=receipt(s.depot, s.tent, 1, number="T-2026A",
                                                                    quality="合格")), 422, "lines.0.lot.quality")
    assert "一等品" in body["detail"] and "合格" in body["detail"]
    assert_problem(await client.post(MOVEMENTS, json=receipt(s.depot, s.tent, 1, number="T-X", quality="合" * 41)), 422)
    assert await count(client, MOVEMENTS) == before
    assert await numbers(client, item_type="TENT-12") == ["T-2026A", "T-2026B", "T-OLD"]

    await created(client, MOVEMENTS, receipt(s.depot, s.tent, 1, number="T-2026A", quality=" 一等品 "))
    await created(client, MOVEMENTS, receipt(s.jinxian, s.tent, 1, number="T-OLD", quality="合格"))
    assert (await client.get(f"{LOTS}/{s.lots['T-OLD']}")).json()["quality"] == "合格"  # first said, recorded


async def page_client(client_as: Any) -> Any:
    """A client signed in to the pages (sign-in form, then the session cookie alone)."""
    c = await client_as("auditor", "page-auditor")
    del c.headers["Authorization"]
    form = await c.get("/login")
    signed = await c.post("/login", data={"username": "page-auditor", "password": TEST_PASSWORD, "next": "/",
                                          "_csrf_token": form.cookies["inv_csrf"]})
    assert signed.status_code == 303, signed.text
    return c


async def test_the_scan_page_of_a_lot_shows_its_quality(client: Any, client_as: Any) -> None:
    s = await make_site(client)
    code = (await client.get(f"{LOTS}/{s.lots['T-2026A']}")).json()["label_code"]
    page = await (await page_client(client_as)).get(f"/s/{code}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "质量" in text
    assert text.index("一等品") > text.index("质量") > text.index("产地")


@needs_font
async def test_a_lot_label_prints_its_quality_among_the_batch_fields(client: Any) -> None:
    s = await make_site(client)
    code = (await client.get(f"{LOTS}/{s.lots['T-2026A']}")).json()["label_code"]
    r = await client.post("/api/v1/labels/sheets", json={"codes": [code], "template": "roll-50x30"})
    assert r.status_code == 200, r.text
    text = pdfium.PdfDocument(r.content)[0].get_textpage().get_text_range().replace("\r\n", "")
    for field in ("批号：T-2026A", "产地：江西南昌", "质量：一等品", "生产日期：2026-01-05", "有效期：2030-12-31",
                  "数量：20顶"):
        assert field in text, text


@needs_font
async def test_a_lot_label_dates_its_receipt_in_beijing_time_from_when_it_happened(client: Any) -> None:
    depot = await created(client, "/api/v1/locations", location_body("D-EARLY"))
    rice = await created(client, "/api/v1/item-types", item_type_body(
        "RICE-25", name="大米", unit="袋", tracking="bulk", category="food", gbt_code=None, attributes={}, tags=[]))
    body = receipt(depot["id"], rice["id"], 8, number="R-0704")
    body["occurred_at"] = "2026-07-04T07:30:00+08:00"  # 北京时间 early morning: still 7月3日 in UTC
    lot_id = (await created(client, MOVEMENTS, body))["movements"][0]["lot_id"]
    code = (await client.get(f"{LOTS}/{lot_id}")).json()["label_code"]
    r = await client.post("/api/v1/labels/sheets", json={"codes": [code], "template": "a4-3x8"})
    assert r.status_code == 200, r.text
    text = pdfium.PdfDocument(r.content)[0].get_textpage().get_text_range().replace("\r\n", "")
    assert "2026-07-04" in text and "2026-07-03" not in text, text
