"""Risk points (风险隐患点) over HTTP: register, list, change, delete; the .xlsx import and its template; refusals."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest

from inventory.places.geo import wgs84_to_gcj02
from inventory.store.db import Database
from tests.api import snapshot
from tests.api.helpers import assert_problem, item_type_body

POINTS = "/api/v1/risk-points"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIANTANG = (28.5457, 115.944)  # 南昌县
XIANGTANG = (28.45, 115.98)  # 南昌县
DONGHU = (28.68, 115.90)  # 东湖区


@dataclass
class Items:
    pump: int
    sandbag: int
    dragon: int


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_items(admin: Any) -> Items:
    pump = await created(admin, "/api/v1/item-types", item_type_body())  # PUMP-300 移动泵车
    sandbag = await created(admin, "/api/v1/item-types", item_type_body(
        "SB-01", name="沙袋", unit="条", tracking="bulk", category="flood", gbt_code=None, attributes={}, tags=[]))
    dragon = await created(admin, "/api/v1/item-types", item_type_body(
        "LXS-1500", name="龙吸水", unit="台", category="pump", gbt_code=None, attributes={"flow_m3h": 1500},
        tags=[]))
    return Items(pump["id"], sandbag["id"], dragon["id"])


def point_body(code: str = "NCX-DF-01", point: tuple[float, float] = LIANTANG, **over: Any) -> dict[str, Any]:
    return {"code": code, "name": "蒋巷镇赣江堤段", "kind": "embankment", "region_code": "360121", "lat": point[0],
            "lon": point[1], "weight": 1200, **over}


def workbook(rows: list[list[Any]], merges: tuple[str, ...] = ()) -> bytes:
    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    for cells in merges:
        book.active.merge_cells(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(client: Any, raw: bytes, name: str = "风险隐患点清单.xlsx", **headers: str) -> Any:
    return await client.post(f"{POINTS}/import", files={"file": (name, raw, XLSX)}, headers=headers)


def messy_list() -> bytes:
    """As a county office sends it from WPS: title rows, a two-row header with merged 物资需求 over item columns,
    a 需求 column too, numbers as text, full-width digits, trailing spaces, a heading, an empty row, a 合计."""
    glon, glat = wgs84_to_gcj02(XIANGTANG[1], XIANGTANG[0])
    return workbook([
        ["南昌县2026年汛期风险隐患点清单"],
        ["填报单位：南昌县应急管理局（盖章）"],
        ["序号", "风险点编号", "风险点名称", "类型", "行政区划代码", "纬度", "经度", "坐标系", "受威胁人数",
         "物资需求", None, "其他需求", "联系电话"],
        [None, None, None, None, None, None, None, None, None, "龙吸水（台）", "沙袋（条）", None, None],
        ["一、堤段"],
        ["１", "NCX-DF-01 ", "蒋巷镇赣江堤段 ", "堤段", "360121", "２８．５４５７", "115.944", None, "1,200",
         "１", "500", "移动泵车×2", "13800000000"],
        ["2", "NCX-XT-01", "向塘下穿通道", "下穿通道", "360121101", f"{glat:.7f}", f"{glon:.7f}", "高德", 35,
         None, None, "沙袋×300；PUMP-300*1", None],
        [None] * 13,
        ["二、学校"],
        ["3", "NCX-XX-01", "向塘中学", "学校", "３６０１２１", XIANGTANG[0], XIANGTANG[1], "WGS-84", "800人",
         None, "200", None, None],
        [None, "合计", None, None, None, None, None, None, 2035, 1, 700],
    ], merges=("A1:M1", "A2:M2", "J3:K3", "A5:M5", "A9:M9"))


async def test_a_risk_point_is_registered_read_listed_changed_and_deleted(client: Any) -> None:
    items = await make_items(client)
    dike = await created(client, POINTS, point_body(needs=[{"item_type_id": items.sandbag, "quantity": 500},
                                                           {"item_type_id": items.pump, "quantity": 2}]))
    assert (dike["kind_zh"], dike["weight"], dike["created_by"]) == ("堤段", 1200.0, "admin")
    assert [(n["item_code"], n["unit"], n["quantity"]) for n in dike["needs"]] == [("PUMP-300", "台", 2),
                                                                                    ("SB-01", "条", 500)]
    glon, glat = wgs84_to_gcj02(XIANGTANG[1], XIANGTANG[0])
    school = await created(client, POINTS, point_body("NCX-XX-01", (glat, glon), crs="gcj02", name="向塘中学",
                                                      kind="school", weight=800))
    assert (school["lat"], school["lon"]) == (pytest.approx(XIANGTANG[0], abs=1e-6),
                                              pytest.approx(XIANGTANG[1], abs=1e-6))
    far = await created(client, POINTS, point_body("DHQ-XC-01", DONGHU, region_code="360102", kind="underpass"))

    assert (await client.get(f"{POINTS}/{dike['id']}")).json() == dike
    page = (await client.get(POINTS)).json()
    assert [p["code"] for p in page["items"]] == ["DHQ-XC-01", "NCX-DF-01", "NCX-XX-01"] and page["total"] == 3

    async def ids(**params: Any) -> list[int]:
        r = await client.get(POINTS, params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert await ids(region="360121") == [dike["id"], school["id"]]
    assert await ids(kind="underpass") == [far["id"]]
    assert await ids(item_type_id=items.pump) == [dike["id"]]
    assert await ids(q="中学") == [school["id"]]

    r = await client.patch(f"{POINTS}/{dike['id']}", json={"weight": 1500, "needs": [
        {"item_type_id": items.dragon, "quantity": 1}]})
    assert r.status_code == 200, r.text
    assert (r.json()["weight"], [n["item_name"] for n in r.json()["needs"]]) == (1500.0, ["龙吸水"])
    gone = await client.delete(f"{POINTS}/{far['id']}")
    assert gone.status_code == 200 and gone.json()["code"] == "DHQ-XC-01"
    assert_problem(await client.get(f"{POINTS}/{far['id']}"), 404)
    assert await ids() == [dike["id"], school["id"]]


async def test_bad_risk_points_are_refused_naming_the_field_and_change_nothing(client: Any, db: Database) -> None:
    items = await make_items(client)
    await created(client, POINTS, point_body())
    before = await snapshot.state(db)
    fresh = point_body("NEW-1")
    refusals = [
        ({**fresh, "needs": [{"item_type_id": 999_999, "quantity": 1}]}, 422, "needs.0.item_type_id"),
        ({**fresh, "needs": [{"item_type_id": items.pump, "quantity": 1}, {"item_type_id": items.pump,
                                                                             "quantity": 2}]},
         422, "needs.1.item_type_id"),
        ({**fresh, "needs": [{"item_type_id": items.pump, "quantity": 0}]}, 422, "needs.0.quantity"),
        (point_body(), 409, "code"),
        ({**fresh, "region_code": "369999"}, 422, "region_code"),
        ({**fresh, "lat": 35.68, "lon": 139.69}, 422, "lat"),  # 东京
        ({**fresh, "lat": 25.85, "lon": 114.93}, 422, "lat"),  # 赣州, not 南昌县
        ({**fresh, "kind": "market"}, 422, "kind"),
        ({**fresh, "weight": 0}, 422, "weight"),
        ({**fresh, "crs": "beijing54"}, 422, "crs"),
        ({**fresh, "population": 5}, 422, "population"),
    ]
    for body, status, field in refusals:
        answer = assert_problem(await client.post(POINTS, json=body), status, field)
        if status == 409:
            assert "NCX-DF-01" in answer["detail"]
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_a_commander_writes_the_risk_points_of_his_region_only_and_keepers_and_auditors_none(
    client: Any, client_as: Any, db: Database,
) -> None:
    await make_items(client)
    mine = await created(client, POINTS, point_body())
    commander = await client_as("commander", "nanchang", scope_regions=["360121"])
    donghu = await client_as("commander", "donghu", scope_regions=["360102"])
    keeper = await client_as("keeper", "keeper", scope_regions=["360121"])
    auditor = await client_as("auditor", "auditor")
    own = await created(commander, POINTS, point_body("NCX-2", XIANGTANG))
    assert own["created_by"] == "nanchang"
    sheet = workbook([["编号", "名称", "类型", "行政区划代码", "纬度", "经度"],
                      ["NCX-3", "南昌县某村", "低洼村庄", "360121", *XIANGTANG]])
    before = await snapshot.state(db)
    for who in (donghu, keeper, auditor):
        assert_problem(await who.post(POINTS, json=point_body("NCX-9")), 403)
        assert_problem(await who.patch(f"{POINTS}/{mine['id']}", json={"weight": 1}), 403)
        assert_problem(await who.delete(f"{POINTS}/{mine['id']}"), 403)
        assert_problem(await upload(who, sheet), 403)
    assert "360121" in assert_problem(await donghu.post(POINTS, json=point_body("NCX-9")), 403)["detail"]
    assert snapshot.changed(before, await snapshot.state(db)) == []
    for who in (keeper, auditor, donghu):  # reads are open to everyone signed in
        assert (await who.get(POINTS, params={"region": "360121"})).json()["total"] == 2
    r = await upload(commander, sheet)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text


async def test_a_messy_list_is_imported_and_the_same_list_again_changes_nothing(client: Any, db: Database) -> None:
    await make_items(client)
    raw = messy_list()
    r = await upload(client, raw)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("rows", "created", "updated", "unchanged")} == {
        "rows": 3, "created": 3, "updated": 0, "unchanged": 0}
    points = {p["code"]: p for p in (await client.get(POINTS)).json()["items"]}
    assert list(points) == ["NCX-DF-01", "NCX-XX-01", "NCX-XT-01"]  # by region code: 360121 before its 乡镇
    dike, school, underpass = points["NCX-DF-01"], points["NCX-XX-01"], points["NCX-XT-01"]
    assert (dike["name"], dike["kind"], dike["weight"], (dike["lat"], dike["lon"])) == (
        "蒋巷镇赣江堤段", "embankment", 1200.0, LIANTANG)
    assert {n["item_code"]: n["quantity"] for n in dike["needs"]} == {"LXS-1500": 1, "SB-01": 500, "PUMP-300": 2}
    assert (underpass["kind"], underpass["region_code"], underpass["weight"]) == ("underpass", "360121101000", 35.0)
    assert (underpass["lat"], underpass["lon"]) == (pytest.approx(XIANGTANG[0], abs=1e-6),
                                                    pytest.approx(XIANGTANG[1], abs=1e-6))
    assert {n["item_code"]: n["quantity"] for n in underpass["needs"]} == {"SB-01": 300, "PUMP-300": 1}
    assert (school["region_code"], school["weight"], [n["quantity"] for n in school["needs"]]) == (
        "360121", 800.0, [200])
    audit = (await client.get("/api/v1/audit", params={"action": "risk_points.write"})).json()["items"]
    assert "新建 3" in audit[0]["summary"] and audit[0]["path"] == f"{POINTS}/import"

    before = await snapshot.state(db)
    again = await upload(client, raw)
    assert {k: again.json()[k] for k in ("created", "updated", "unchanged")} == {
        "created": 0, "updated": 0, "unchanged": 3}
    assert snapshot.changed(before, await snapshot.state(db)) == []

    template = await client.get(f"{POINTS}/template", params={"region": "360121"})
    assert template.status_code == 200 and template.headers["content-type"].startswith(XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(template.content)).active
    assert [sheet.cell(n, 1).value for n in (3, 4, 5, 6)] == ["编号", "NCX-DF-01", "NCX-XX-01", "NCX-XT-01"]
    round_trip = await upload(client, template.content, "risk-points-360121.xlsx")
    assert {k: round_trip.json()[k] for k in ("rows", "unchanged")} == {"rows": 3, "unchanged": 3}, round_trip.text
    assert snapshot.changed(before, await snapshot.state(db)) == []

    blank = await client.get(f"{POINTS}/template")
    example = openpyxl.load_workbook(io.BytesIO(blank.content)).active
    assert example.max_row == 4 and str(example.cell(4, 1).value).startswith("示例")
    assert (await upload(client, blank.content)).json()["rows"] == 0  # the example row is never imported


async def test_a_list_with_errors_is_refused_whole_listing_row_and_column(client: Any, db: Database) -> None:
    await make_items(client)
    before = await snapshot.state(db)
    raw = workbook([
        ["风险隐患点清单"],
        ["编号", "名称", "类型", "行政区划代码", "纬度", "经度", "受威胁人数", "需求", "冲锋舟"],
        ["NCX-1", "好的一行", "堤段", "360121", *LIANTANG, 10, "沙袋×5", None],  # refused with the rest
        ["NCX-2", "类型不对", "菜市场", "360121", *LIANTANG, 10, None, None],
        ["NCX-3", "区划不存在", "学校", "369999", *LIANTANG, 10, None, None],
        ["NCX-4", "坐标在赣州", "学校", "360121", 25.85, 114.93, 10, None, None],
        ["NCX-5", "物资不存在", "学校", "360121", *LIANTANG, 10, "帐篷×3", None],
        ["NCX-1", "编号重复", "学校", "360121", *LIANTANG, 10, None, None],
        ["NCX-6", "有冲锋舟", "学校", "360121", *LIANTANG, 10, None, 2],
    ])
    body = assert_problem(await upload(client, raw), 422, "file")
    got = [(e["row"], e["column"]) for e in body["errors"]]
    assert got == [(2, "冲锋舟"), (4, "类型"), (5, "行政区划代码"), (6, "纬度"), (7, "需求"), (8, "编号")]
    messages = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "菜市场" in messages[(4, "类型")] and "369999" in messages[(5, "行政区划代码")]
    assert "南昌县" in messages[(6, "纬度")] and "帐篷" in messages[(7, "需求")] and "第 3 行" in messages[(8, "编号")]
    assert "物资编码或名称" in messages[(2, "冲锋舟")]
    assert body["errors_total"] == 6 and "未导入任何数据" in body["detail"]
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_a_file_that_is_not_a_risk_point_list_is_refused_on_file(client: Any) -> None:
    assert_problem(await upload(client, b"not a workbook at all", "x.xlsx"), 422, "file")
    no_table = workbook([["甲", "乙"], [1, 2]])
    assert "表头" in assert_problem(await upload(client, no_table), 422, "file")["detail"]
    missing = workbook([["编号", "名称", "类型", "纬度", "经度"], ["NCX-1", "甲", "堤段", *LIANTANG]])
    body = assert_problem(await upload(client, missing), 422, "file")
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(1, "行政区划代码")]
    assert_problem(await client.get(f"{POINTS}/template", params={"region": "9999"}), 422, "region")
    assert_problem(await client.get(POINTS, params={"kind": "market"}), 422)


async def test_an_import_retried_with_its_idempotency_key_is_applied_once(client: Any, db: Database) -> None:
    await make_items(client)
    raw = messy_list()
    first = await upload(client, raw, **{"Idempotency-Key": "import-1"})
    assert first.status_code == 200 and first.json()["created"] == 3, first.text
    before = await snapshot.state(db)
    retry = await upload(client, raw, **{"Idempotency-Key": "import-1"})
    assert retry.status_code == 200 and retry.headers.get("idempotent-replayed") == "true"
    assert retry.json() == first.json()  # the first answer, not "unchanged 3"
    assert snapshot.changed(before, await snapshot.state(db)) == []
    other = workbook([["编号", "名称", "类型", "行政区划代码", "纬度", "经度"], ["NCX-9", "甲", "堤段", "360121",
                                                                       *LIANTANG]])
    assert_problem(await upload(client, other, **{"Idempotency-Key": "import-1"}), 409, "Idempotency-Key")
    assert snapshot.changed(before, await snapshot.state(db)) == []
