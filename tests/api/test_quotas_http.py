"""Reserve quotas (储备定额) over HTTP: set, change, status with a season, the .xlsx import and template, errors."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

import openpyxl

from inventory.clock import beijing_today
from inventory.store.db import Database
from tests.api import snapshot
from tests.api.helpers import assert_problem, item_type_body, location_body
from tests.api.test_scan_pages_http import phone_as  # noqa: F401  (the signed-in phone fixture)

QUOTAS = "/api/v1/quotas"
STATUS = "/api/v1/quotas/status"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TODAY = beijing_today()  # status is reckoned for the server's date


def md(days: int) -> str:
    """The month-day ``days`` from today."""
    return (TODAY + dt.timedelta(days=days)).strftime("%m-%d")


IN_SEASON = {"start": md(-10), "end": md(10), "minimum": 30}  # may run over the new year: that is allowed
OUT_OF_SEASON = {"start": md(20), "end": md(40), "minimum": 30}


@dataclass
class Site:
    """南昌县: a depot with a bin and a reserve point; 东湖区: a depot. Tents, and pumps."""

    depot: int
    bin: int
    point: int
    far: int
    tent: int
    pump: int


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(admin: Any) -> Site:
    depot = (await created(admin, "/api/v1/locations", location_body("D-NC")))["id"]
    shelf = (await created(admin, "/api/v1/locations", location_body(
        "D-NC-A1", name="A1 货架", kind="bin", parent_id=depot, lat=None, lon=None)))["id"]
    point = (await created(admin, "/api/v1/locations", location_body(
        "P-XT", name="向塘镇救灾物资储备点", kind="reserve_point", lat=28.45, lon=115.98)))["id"]
    far = (await created(admin, "/api/v1/locations", location_body(
        "D-DH", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90)))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="救灾帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None, attributes={},
        tags=[])))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    return Site(depot, shelf, point, far, tent, pump)


async def receive(admin: Any, location: int, item: int, quantity: int) -> None:
    await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": location,
                                               "lines": [{"item_type_id": item, "quantity": quantity}]})


async def status(client: Any, **params: Any) -> dict[str, Any]:
    r = await client.get(STATUS, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def workbook(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    """A real .xlsx as a county office would send it: a title, a blank row, the header, the rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "储备目录"
    sheet.append(["南昌县 2026 年应急物资储备目录"])
    sheet.append([])
    sheet.append(header or ["库点编号", "库点名称", "物资编码", "物资名称", "储备定额", "预警余量", "汛期最低储备量",
                            "汛期起", "汛期止", "备注"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(client: Any, raw: bytes, name: str = "目录.xlsx") -> Any:
    return await client.post(f"{QUOTAS}/import", files={"file": (name, raw, XLSX)})


async def test_status_shows_each_quota_ok_warning_or_below_with_the_season_in_force(client: Any) -> None:
    s = await make_site(client)
    await receive(client, s.depot, s.tent, 12)
    await receive(client, s.bin, s.tent, 3)  # counts at its depot
    await receive(client, s.far, s.tent, 40)
    warn = await created(client, QUOTAS, {"location_id": s.depot, "item_type_id": s.tent, "minimum": 10,
                                          "warning_margin": 6})
    flood = await created(client, QUOTAS, {"location_id": s.far, "item_type_id": s.tent, "minimum": 20,
                                           "season": {**IN_SEASON, "minimum": 50}})
    calm = await created(client, QUOTAS, {"location_id": s.point, "item_type_id": s.tent, "minimum": 0,
                                          "season": {**OUT_OF_SEASON, "name": "主汛期"}})
    assert flood["season"] == {**IN_SEASON, "minimum": 50, "name": "汛期"} and calm["season"]["name"] == "主汛期"

    page = await status(client, region="3601")
    rows = {i["quota_id"]: i for i in page["items"]}
    assert (rows[warn["id"]]["available"], rows[warn["id"]]["level"], rows[warn["id"]]["shortfall"]) == (
        15, "warning", 0)
    assert (rows[flood["id"]]["minimum_in_force"], rows[flood["id"]]["in_season"], rows[flood["id"]]["level"],
            rows[flood["id"]]["shortfall"]) == (50, True, "below", 10)
    assert (rows[calm["id"]]["minimum_in_force"], rows[calm["id"]]["in_season"], rows[calm["id"]]["level"]) == (
        0, False, "ok")
    assert page["counts"] == {"below": 1, "warning": 1, "ok": 1} and page["on"] == TODAY.isoformat()
    assert [i["quota_id"] for i in page["items"]] == [flood["id"], warn["id"], calm["id"]]
    assert [i["quota_id"] for i in (await status(client, region="360121"))["items"]] == [warn["id"], calm["id"]]
    assert [i["quota_id"] for i in (await status(client, level="below"))["items"]] == [flood["id"]]

    r = await client.patch(f"{QUOTAS}/{flood['id']}", json={"season": OUT_OF_SEASON})
    assert r.status_code == 200, r.text
    after = {i["quota_id"]: i for i in (await status(client, region="3601"))["items"]}
    assert (after[flood["id"]]["minimum_in_force"], after[flood["id"]]["level"]) == (20, "ok")


async def test_a_quota_is_read_listed_changed_and_deleted(client: Any) -> None:
    s = await make_site(client)
    q = await created(client, QUOTAS, {"location_id": s.depot, "item_type_id": s.pump, "minimum": 2, "note": "县级"})
    assert (q["location_code"], q["item_code"], q["unit"], q["created_by"]) == ("D-NC", "PUMP-300", "台", "admin")
    assert (await client.get(f"{QUOTAS}/{q['id']}")).json() == q
    listed = (await client.get(QUOTAS, params={"region": "360121", "item_type_id": s.pump})).json()
    assert [i["id"] for i in listed["items"]] == [q["id"]] and listed["total"] == 1
    assert (await client.get(QUOTAS, params={"region": "360102"})).json()["total"] == 0
    r = await client.patch(f"{QUOTAS}/{q['id']}", json={"minimum": 3, "warning_margin": 1})
    assert r.status_code == 200 and (r.json()["minimum"], r.json()["note"]) == (3, "县级")
    r = await client.delete(f"{QUOTAS}/{q['id']}")
    assert r.status_code == 200 and r.json()["id"] == q["id"]
    assert_problem(await client.get(f"{QUOTAS}/{q['id']}"), 404)


async def test_bad_quotas_are_refused_naming_the_field(client: Any) -> None:
    s = await make_site(client)
    body = {"location_id": s.depot, "item_type_id": s.tent, "minimum": 5}
    await created(client, QUOTAS, body)
    assert_problem(await client.post(QUOTAS, json=body), 409, "item_type_id")
    bin_refused = assert_problem(await client.post(QUOTAS, json={**body, "location_id": s.bin}), 422, "location_id")
    assert "南昌县综合应急物资储备库" in bin_refused["detail"]
    point = {**body, "location_id": s.point}
    assert_problem(await client.post(QUOTAS, json={**point, "minimum": -1}), 422, "minimum")
    assert_problem(await client.post(QUOTAS, json={**point, "min_stock": 5}), 422, "min_stock")
    assert_problem(await client.post(QUOTAS, json={**point, "season": {**IN_SEASON, "start": "13-01"}}), 422,
                   "season.start")
    assert_problem(await client.post(QUOTAS, json={**point, "season": {**IN_SEASON, "end": "4-1"}}), 422, "season.end")
    assert_problem(await client.post(QUOTAS, json={**point, "season": {**IN_SEASON, "minimum": 4}}), 422,
                   "season.minimum")
    assert_problem(await client.post(QUOTAS, json={**point, "item_type_id": 999_999}), 422, "item_type_id")
    assert_problem(await client.get(STATUS, params={"level": "bad"}), 422)
    assert_problem(await client.get(STATUS, params={"region": "9999"}), 422, "region")
    assert_problem(await client.get(STATUS, params={"item_type": "NO-SUCH"}), 422, "item_type")
    assert (await client.get(QUOTAS)).json()["total"] == 1


async def test_a_commander_sets_the_quotas_of_his_region_only_and_a_keeper_none(
    client: Any, client_as: Any, db: Database,
) -> None:
    s = await make_site(client)
    commander = await client_as("commander", "cmd-nc", scope_regions=["360121"])
    keeper = await client_as("keeper", "keeper-nc", scope_regions=["360121"])
    mine = await created(commander, QUOTAS, {"location_id": s.depot, "item_type_id": s.tent, "minimum": 5})
    far = await created(client, QUOTAS, {"location_id": s.far, "item_type_id": s.tent, "minimum": 5})
    before = await snapshot.state(db)
    assert_problem(await commander.post(QUOTAS, json={"location_id": s.far, "item_type_id": s.pump, "minimum": 1}),
                   403)
    assert_problem(await commander.patch(f"{QUOTAS}/{far['id']}", json={"minimum": 1}), 403)
    assert_problem(await commander.delete(f"{QUOTAS}/{far['id']}"), 403)
    assert_problem(await keeper.patch(f"{QUOTAS}/{mine['id']}", json={"minimum": 1}), 403)
    assert_problem(await upload(commander, workbook([["D-DH", "", "TENT-12", "", 9]])), 403)
    assert_problem(await upload(keeper, workbook([["D-NC", "", "TENT-12", "", 9]])), 403)
    assert snapshot.changed(before, await snapshot.state(db)) == []
    assert (await status(keeper, region="3601"))["total"] == 2  # reading is open to everyone signed in


async def test_the_catalogue_no_longer_speaks_of_min_stock(client: Any) -> None:
    item = await created(client, "/api/v1/item-types", item_type_body("GEN-5"))
    assert "min_stock" not in item
    assert_problem(await client.post("/api/v1/item-types", json=item_type_body("GEN-6", min_stock=2)), 422,
                   "min_stock")
    assert_problem(await client.patch(f"/api/v1/item-types/{item['id']}", json={"min_stock": 2}), 422, "min_stock")


async def test_a_reserve_catalogue_is_imported_and_the_same_sheet_again_changes_nothing(
    client: Any, db: Database,
) -> None:
    await make_site(client)
    raw = workbook([
        ["一、防汛物资"],  # a heading: skipped
        ["D-NC", "南昌县储备库", "TENT-12", "救灾帐篷", 100, 20, 150, "4月1日", "2026-09-30", "汛前补齐"],
        ["P-XT", "向塘镇储备点", "PUMP-300", "移动泵车", "2", None, None, None, None, None],
        [None, None, None, None, None],
        ["合计", None, None, None, 102],
    ], header=["库点编码", "库点名称", "物资编号", "物资名称", "最低储备量", "预警量", "汛期定额", "汛期开始",
               "汛期结束", "备注"])
    r = await upload(client, raw)
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    quotas = {(q["location_code"], q["item_code"]): q for q in (await client.get(QUOTAS)).json()["items"]}
    tent = quotas[("D-NC", "TENT-12")]
    assert (tent["minimum"], tent["warning_margin"], tent["season"], tent["note"]) == (
        100, 20, {"start": "04-01", "end": "09-30", "minimum": 150, "name": "汛期"}, "汛前补齐")
    assert quotas[("P-XT", "PUMP-300")]["season"] is None
    before = await snapshot.state(db)
    again = await upload(client, raw)
    assert again.json() == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2}
    assert snapshot.changed(before, await snapshot.state(db)) == []

    template = await client.get(f"{QUOTAS}/template", params={"region": "360121"})
    assert template.status_code == 200 and template.headers["content-type"].startswith(XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(template.content)).active
    assert [c.value for c in sheet[3]][:3] == ["库点编码", "库点名称", "物资编码"]
    assert [sheet.cell(4, n).value for n in (1, 3, 7, 8, 9, 10, 11)] == ["D-NC", "TENT-12", 100, 20, 150, "04-01",
                                                                         "09-30"]
    round_trip = await upload(client, template.content, "quotas-360121.xlsx")  # the downloaded sheet imports as is
    assert round_trip.json() == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2}
    assert snapshot.changed(before, await snapshot.state(db)) == []
    blank = await client.get(f"{QUOTAS}/template")
    assert openpyxl.load_workbook(io.BytesIO(blank.content)).active.max_row == 3


async def test_a_sheet_with_bad_rows_is_refused_whole_listing_row_column_and_reason(client: Any, db: Database) -> None:
    s = await make_site(client)
    await created(client, QUOTAS, {"location_id": s.depot, "item_type_id": s.tent, "minimum": 1})
    before = await snapshot.state(db)
    raw = workbook([
        ["D-NC", "", "TENT-12", "", 50],  # good: refused with the rest
        ["NO-SUCH", "", "TENT-12", "", 5],
        ["P-XT", "", "TENT-12", "", "十"],
        ["P-XT", "", "PUMP-300", "", 3, None, 5, "13月1日", "09-30"],
        ["D-DH", "", "PUMP-300", "", 3, None, 5, "04-01"],
        ["D-NC", "", "TENT-12", "", 60],
        ["D-NC-A1", "", "NOPE", "", 1.5],
    ])
    r = await upload(client, raw)
    body = assert_problem(r, 422)
    got = [(e["row"], e["column"]) for e in body["errors"]]
    # row 10's bin and unknown item are not looked up: a row with a bad cell goes no further
    assert got == [(5, "库点编码"), (6, "最低储备量"), (7, "汛期起"), (8, "汛期止"), (9, "物资编码"),
                   (10, "最低储备量")]
    messages = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "NO-SUCH" in messages[(5, "库点编码")] and "十" in messages[(6, "最低储备量")]
    assert "第 4 行" in messages[(9, "物资编码")] and "不是存在的日期" in messages[(7, "汛期起")]
    assert body["errors_total"] == len(body["errors"]) and "未导入任何数据" in body["detail"]
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_a_file_that_is_not_a_quota_sheet_is_refused_on_file(client: Any) -> None:
    assert_problem(await upload(client, b"not a workbook at all", "x.xlsx"), 422, "file")
    no_table = workbook([["a", "b"]], header=["甲", "乙"])
    assert "表头" in assert_problem(await upload(client, no_table), 422, "file")["detail"]
    missing = workbook([["D-NC", "TENT-12"]], header=["库点编码", "物资编码"])
    body = assert_problem(await upload(client, missing), 422, "file")
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "最低储备量")]


async def test_the_quota_page_shows_a_commanders_region_below_quota_first(
    client: Any, phone_as: Any, anonymous: Any,  # noqa: F811
) -> None:
    s = await make_site(client)
    await receive(client, s.depot, s.tent, 12)
    await created(client, QUOTAS, {"location_id": s.depot, "item_type_id": s.tent, "minimum": 10,
                                   "warning_margin": 5})
    short = await created(client, QUOTAS, {"location_id": s.point, "item_type_id": s.tent, "minimum": 8})
    await created(client, QUOTAS, {"location_id": s.far, "item_type_id": s.tent, "minimum": 8})  # another county
    chief = (await phone_as("chief", "commander", ["360121"])).client
    r = await chief.get("/quotas")
    assert r.status_code == 200, r.text
    rows = re.findall(r'data-quota="(\d+)" data-level="(\w+)"', r.text)
    assert rows[0] == (str(short["id"]), "below") and [lv for _, lv in rows] == ["below", "warning"]
    assert "低于定额 1" in r.text and "向塘镇救灾物资储备点" in r.text and "东湖区" not in r.text
    everywhere = await chief.get("/quotas", params={"region": "36", "level": "below"})
    assert [lv for _, lv in re.findall(r'data-quota="(\d+)" data-level="(\w+)"', everywhere.text)] == ["below"] * 2
    bad = await chief.get("/quotas", params={"item": "NO-SUCH"})
    assert bad.status_code == 422 and "NO-SUCH" in bad.text
    signed_out = await anonymous.get("/quotas")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
