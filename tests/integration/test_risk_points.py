"""Risk points (风险隐患点) on a real database: writes, reads and filters, refusals, and the list's import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate, ItemTypeUpdate
from inventory.catalog.service import create_item_type, update_item_type
from inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from inventory.places.geo import wgs84_to_bd09, wgs84_to_gcj02
from inventory.plans import risk_points as service
from inventory.plans.risk_points import RiskSheetRejected, import_risk_points
from inventory.plans.schemas import (
    RiskNeedIn,
    RiskPointCreate,
    RiskPointUpdate,
    RiskSheetNeed,
    RiskSheetProblem,
    RiskSheetRow,
)
from inventory.store.db import Database
from inventory.store.models import RiskNeed, RiskPoint
from tests.api import snapshot

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
COMMANDER = Principal(7, "commander", "南昌县指挥员", "commander", ("360121",), (), 0)
ELSEWHERE = Principal(8, "donghu", "东湖区指挥员", "commander", ("360102",), (), 0)
LIANTANG = (28.5457, 115.944)  # 莲塘, 南昌县
XIANGTANG = (28.45, 115.98)  # 向塘, 南昌县
DONGHU = (28.68, 115.90)  # 东湖区


@dataclass
class Items:
    pump: int
    sandbag: int
    boat: int


async def make_items(db: Database) -> Items:
    async with db.write() as s:
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-300", name="移动泵车", unit="台", tracking="serial",
                                                        category="pump"))
        sandbag = await create_item_type(s, ItemTypeCreate(code="SB-01", name="沙袋", unit="条", tracking="bulk",
                                                           category="flood"))
        boat = await create_item_type(s, ItemTypeCreate(code="BOAT-1", name="冲锋舟", unit="艘", tracking="serial",
                                                        category="rescue"))
    return Items(pump.id, sandbag.id, boat.id)


def body(code: str = "NCX-DF-01", point: tuple[float, float] = LIANTANG, **over: Any) -> RiskPointCreate:
    fields: dict[str, Any] = {"code": code, "name": "蒋巷镇赣江堤段", "kind": "embankment", "region_code": "360121",
                              "lat": point[0], "lon": point[1], "weight": 1200, **over}
    return RiskPointCreate(**fields)


async def create(db: Database, data: RiskPointCreate, who: Principal = ADMIN) -> int:
    async with db.write() as s:
        return (await service.create_risk_point(s, data, who)).id


async def read(db: Database, ident: int) -> Any:
    async with db.read() as s:
        return await service.risk_point_read(s, await service.get_risk_point(s, ident))


async def listed(db: Database, **kw: Any) -> Any:
    async with db.read() as s:
        return await service.list_risk_points(s, **kw)


async def counts(db: Database) -> tuple[int, int]:
    async with db.read() as s:
        return (await s.scalar(select(func.count()).select_from(RiskPoint)) or 0,
                await s.scalar(select(func.count()).select_from(RiskNeed)) or 0)


async def test_a_risk_point_is_created_read_listed_filtered_changed_and_deleted(db: Database) -> None:
    items = await make_items(db)
    dike = await create(db, body(needs=[RiskNeedIn(item_type_id=items.sandbag, quantity=500),
                                        RiskNeedIn(item_type_id=items.pump, quantity=2)]), COMMANDER)
    school = await create(db, body("NCX-XX-01", XIANGTANG, name="向塘中学", kind="school", weight=800,
                                   region_code="360121101000",
                                   needs=[RiskNeedIn(item_type_id=items.boat, quantity=1)]))
    far = await create(db, body("DHQ-XC-01", DONGHU, name="东湖区下穿通道", kind="underpass", region_code="360102",
                                weight=50))

    got = await read(db, dike)
    assert (got.code, got.kind, got.kind_zh, got.region_code, got.weight, got.created_by) == (
        "NCX-DF-01", "embankment", "堤段", "360121", 1200.0, "commander")
    assert (got.lat, got.lon) == LIANTANG
    assert [(n.item_code, n.item_name, n.unit, n.quantity) for n in got.needs] == [
        ("PUMP-300", "移动泵车", "台", 2), ("SB-01", "沙袋", "条", 500)]

    everything = await listed(db)
    assert [p.code for p in everything.items] == ["DHQ-XC-01", "NCX-DF-01", "NCX-XX-01"]  # by region, then code
    assert everything.total == 3 and everything.items[2].needs[0].item_code == "BOAT-1"
    assert [p.id for p in (await listed(db, region_code="360121")).items] == [dike, school]
    assert [p.id for p in (await listed(db, region_code="3601210")).items] == []
    assert [p.id for p in (await listed(db, kind="underpass")).items] == [far]
    assert [p.id for p in (await listed(db, item_type_id=items.pump)).items] == [dike]
    assert [p.id for p in (await listed(db, q="中学")).items] == [school]
    assert [p.id for p in (await listed(db, q="DF-0")).items] == [dike]
    assert [p.id for p in (await listed(db, q="%")).items] == []
    page = await listed(db, limit=1, offset=1)
    assert ([p.id for p in page.items], page.total) == ([dike], 3)

    async with db.write() as s:
        await service.update_risk_point(s, dike, RiskPointUpdate(
            name="蒋巷镇赣江大堤", weight=1500, needs=[RiskNeedIn(item_type_id=items.boat, quantity=2)]), COMMANDER)
    changed = await read(db, dike)
    assert (changed.name, changed.weight, changed.kind, (changed.lat, changed.lon)) == (
        "蒋巷镇赣江大堤", 1500.0, "embankment", LIANTANG)
    assert [(n.item_code, n.quantity) for n in changed.needs] == [("BOAT-1", 2)]
    async with db.write() as s:
        await service.update_risk_point(s, dike, RiskPointUpdate(lat=XIANGTANG[0], lon=XIANGTANG[1]), ADMIN)
    moved = await read(db, dike)
    assert (moved.lat, moved.lon) == XIANGTANG and [n.quantity for n in moved.needs] == [2]

    async with db.write() as s:
        await service.delete_risk_point(s, dike, COMMANDER)
    with pytest.raises(NotFound, match=f"id={dike}"):
        await read(db, dike)
    assert await counts(db) == (2, 1)  # the dike's need went with it; the school keeps its boat


async def test_coordinates_from_gaode_or_baidu_are_stored_in_wgs84(db: Database) -> None:
    glon, glat = wgs84_to_gcj02(LIANTANG[1], LIANTANG[0])
    assert abs(glat - LIANTANG[0]) + abs(glon - LIANTANG[1]) > 0.003  # the offset is hundreds of metres
    gaode = await read(db, await create(db, body(point=(glat, glon), crs="gcj02")))
    assert gaode.lat == pytest.approx(LIANTANG[0], abs=1e-6) and gaode.lon == pytest.approx(LIANTANG[1], abs=1e-6)
    blon, blat = wgs84_to_bd09(XIANGTANG[1], XIANGTANG[0])
    baidu = await read(db, await create(db, body("NCX-2", point=(blat, blon), crs="bd09")))
    assert (baidu.lat, baidu.lon) == (pytest.approx(XIANGTANG[0], abs=1e-6), pytest.approx(XIANGTANG[1], abs=1e-6))
    async with db.write() as s:
        await service.update_risk_point(s, baidu.id, RiskPointUpdate(lat=glat, lon=glon, crs="gcj02"), ADMIN)
    again = await read(db, baidu.id)
    assert (again.lat, again.lon) == (pytest.approx(LIANTANG[0], abs=1e-6), pytest.approx(LIANTANG[1], abs=1e-6))


@pytest.mark.parametrize(("change", "error", "field", "words"), [
    ({"needs": [RiskNeedIn(item_type_id=999_999, quantity=1)]}, InvalidInput, "needs.0.item_type_id", "不存在"),
    ({"needs": "pump twice"}, InvalidInput, "needs.1.item_type_id", "两次"),
    ({"needs": "stopped"}, InvalidInput, "needs.0.item_type_id", "停用"),
    ({"code": "TAKEN"}, Conflict, "code", "TAKEN 已存在"),
    ({"region_code": "369999"}, InvalidInput, "region_code", "不存在"),
    ({"lat": 35.68, "lon": 139.69}, InvalidInput, "lat", "不在中国境内"),
    ({"lat": 115.944, "lon": 28.5457}, InvalidInput, "lat", "填反"),
    ({"lat": 25.85, "lon": 114.93}, InvalidInput, "lat", "南昌县"),  # 赣州: in Jiangxi, far from 南昌县
    ({"lat": 31.23, "lon": 121.47}, InvalidInput, "lat", "江西省"),  # 上海
    ({"region_code": "360102"}, PermissionDenied, "region_code", "360102"),  # the commander's scope is 南昌县
])
async def test_a_bad_risk_point_is_refused_naming_the_field_and_nothing_is_written(
    db: Database, change: dict[str, Any], error: type[Exception], field: str, words: str,
) -> None:
    items = await make_items(db)
    await create(db, body("TAKEN"))
    if change.get("needs") == "pump twice":
        change = {"needs": [RiskNeedIn(item_type_id=items.pump, quantity=1), RiskNeedIn(item_type_id=items.pump,
                                                                                        quantity=2)]}
    elif change.get("needs") == "stopped":
        async with db.write() as s:
            await update_item_type(s, items.boat, ItemTypeUpdate(active=False))
        change = {"needs": [RiskNeedIn(item_type_id=items.boat, quantity=1)]}
    if "region_code" in change and change["region_code"] == "360102":
        change = {**change, "lat": DONGHU[0], "lon": DONGHU[1]}
    before = await snapshot.state(db)
    data = body(**{"code": "NEW-1", **change})
    with pytest.raises(error, match=words) as refused:
        await create(db, data, COMMANDER)
    assert getattr(refused.value, "field", None) == field
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_changes_are_refused_out_of_scope_and_for_half_a_coordinate(db: Database) -> None:
    await make_items(db)
    mine = await create(db, body())
    theirs = await create(db, body("DHQ-1", DONGHU, region_code="360102"))
    before = await snapshot.state(db)
    refusals: list[tuple[int, RiskPointUpdate, Principal, type[Exception], str | None]] = [
        (theirs, RiskPointUpdate(weight=5), COMMANDER, PermissionDenied, "region_code"),
        (mine, RiskPointUpdate(weight=5), ELSEWHERE, PermissionDenied, "region_code"),
        # moving a point to 东湖区 needs 东湖区 in scope too, and its coordinates there
        (mine, RiskPointUpdate(region_code="360102", lat=DONGHU[0], lon=DONGHU[1]), COMMANDER, PermissionDenied,
         "region_code"),
        (mine, RiskPointUpdate(region_code="360102"), ADMIN, InvalidInput, "lat"),  # 莲塘 is not in 东湖区
        (mine, RiskPointUpdate(lat=28.5), ADMIN, InvalidInput, "lon"),
        (mine, RiskPointUpdate(needs=[RiskNeedIn(item_type_id=999_999, quantity=1)]), ADMIN, InvalidInput,
         "needs.0.item_type_id"),
        (999_999, RiskPointUpdate(weight=5), ADMIN, NotFound, None),
    ]
    for ident, change, who, error, field in refusals:
        with pytest.raises(error) as refused:
            async with db.write() as s:
                await service.update_risk_point(s, ident, change, who)
        assert getattr(refused.value, "field", None) == field, (change, refused.value)
    with pytest.raises(PermissionDenied, match=r"donghu.*360121"):
        async with db.write() as s:
            await service.delete_risk_point(s, mine, ELSEWHERE)
    assert snapshot.changed(before, await snapshot.state(db)) == []
    async with db.write() as s:  # an admin moves it, with coordinates in its new region
        await service.update_risk_point(s, mine, RiskPointUpdate(region_code="360102", lat=DONGHU[0], lon=DONGHU[1]),
                                        ADMIN)
    assert (await read(db, mine)).region_code == "360102"


async def test_many_points_are_read_with_their_own_needs(db: Database) -> None:
    items = await make_items(db)
    ids = [await create(db, body(f"NCX-{n:03d}", needs=[RiskNeedIn(item_type_id=items.sandbag, quantity=n + 1)]
                                 if n % 3 else [])) for n in range(30)]
    async with db.read() as s:
        points = list(await s.scalars(select(RiskPoint).where(RiskPoint.id.in_(ids)).order_by(RiskPoint.id)))
        reads = await service.risk_points_read(s, points)
    assert [[(x.item_code, x.quantity) for x in r.needs] for r in reads] == [
        [("SB-01", n + 1)] if n % 3 else [] for n in range(30)]


def row(number: int, code: str, point: tuple[float, float] = LIANTANG, **over: Any) -> RiskSheetRow:
    fields: dict[str, Any] = {"row": number, "code": code, "name": f"风险点{code}", "kind": "village",
                              "region_code": "360121", "lat": point[0], "lon": point[1], "weight": 100.0, **over}
    return RiskSheetRow(**fields)


async def run_import(db: Database, rows: list[RiskSheetRow], who: Principal = ADMIN, **kw: Any) -> Any:
    async with db.write() as s:
        return await import_risk_points(s, rows, who, **kw)


async def test_a_list_is_imported_by_code_and_the_same_list_again_changes_nothing(db: Database) -> None:
    await make_items(db)
    existing = await create(db, body("NCX-DF-01", needs=[]))
    glon, glat = wgs84_to_gcj02(XIANGTANG[1], XIANGTANG[0])
    rows = [
        row(4, "NCX-DF-01", kind="embankment", weight=1300.0, needs=(RiskSheetNeed("SB-01", 500),
                                                                      RiskSheetNeed("PUMP-300", 2, "移动泵车"))),
        row(5, "NCX-XT-01", (glat, glon), crs="gcj02", kind="underpass", note="易积水",
            needs=(RiskSheetNeed("BOAT-1", 1),)),
        row(6, "NCX-CZ-01", XIANGTANG, region_code="360121101000"),
    ]
    result = await run_import(db, rows, COMMANDER)
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 2, 1, 0)
    assert "新建 2" in result.summary
    page = await listed(db)
    assert [p.code for p in page.items] == ["NCX-DF-01", "NCX-XT-01", "NCX-CZ-01"]
    dike, underpass, village = page.items
    assert dike.id == existing and dike.weight == 1300.0 and dike.created_by == "admin"
    assert [(n.item_code, n.quantity) for n in dike.needs] == [("PUMP-300", 2), ("SB-01", 500)]
    assert (underpass.lat, underpass.lon) == (pytest.approx(XIANGTANG[0], abs=1e-6),
                                              pytest.approx(XIANGTANG[1], abs=1e-6))
    assert (underpass.note, village.region_code, village.created_by) == ("易积水", "360121101000", "commander")

    before = await snapshot.state(db)
    again = await run_import(db, rows, COMMANDER)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert snapshot.changed(before, await snapshot.state(db)) == []

    fewer = await run_import(db, [row(4, "NCX-DF-01", kind="embankment", weight=1300.0,
                                      needs=(RiskSheetNeed("SB-01", 800),))])
    assert (fewer.created, fewer.updated, fewer.unchanged) == (0, 1, 0)
    assert [(n.item_code, n.quantity) for n in (await read(db, existing)).needs] == [("SB-01", 800)]
    assert (await listed(db)).total == 3  # points not in the list stay


async def test_a_list_with_problems_is_refused_whole_with_every_row_and_column(db: Database) -> None:
    await make_items(db)
    await create(db, body("NCX-DF-01"))
    before = await snapshot.state(db)
    rows = [
        row(4, "GOOD-1"),  # good, refused with the rest
        row(5, "BAD-REGION", region_code="369999"),
        row(6, "FAR", (25.85, 114.93)),
        row(7, "NO-ITEM", needs=(RiskSheetNeed("NOPE", 3, "需求"),)),
        row(8, "TWICE", needs=(RiskSheetNeed("SB-01", 3, "沙袋"), RiskSheetNeed("SB-01", 5, "需求"))),
        row(9, "NCX-DF-01", (35.68, 139.69)),
    ]
    cells = [RiskSheetProblem(10, "类型", "菜市场", "类型：「菜市场」不是可识别的类型")]
    with pytest.raises(RiskSheetRejected) as refused:
        await run_import(db, rows, COMMANDER, problems=cells, problems_omitted=2)
    errors = refused.value.extra["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (5, "行政区划代码"), (6, "纬度"), (7, "需求"), (8, "需求"), (9, "纬度"), (10, "类型")]
    assert refused.value.field == "file" and refused.value.extra["errors_total"] == 8
    assert "369999" in errors[0]["message"] and "南昌县" in errors[1]["message"] and "NOPE" in errors[2]["message"]
    assert "沙袋" in errors[3]["message"] and "中国" in errors[4]["message"]
    assert "未导入任何数据" in refused.value.detail
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_a_list_naming_a_region_or_a_point_outside_the_scope_is_refused(db: Database) -> None:
    await make_items(db)
    theirs = await create(db, body("DHQ-1", DONGHU, region_code="360102"))
    before = await snapshot.state(db)
    with pytest.raises(PermissionDenied, match="第 5 行"):
        await run_import(db, [row(4, "NCX-1"), row(5, "DHQ-2", DONGHU, region_code="360102")], COMMANDER)
    with pytest.raises(PermissionDenied, match="DHQ-1"):  # moving 东湖区's point into 南昌县 by its code
        await run_import(db, [row(4, "DHQ-1")], COMMANDER)
    assert snapshot.changed(before, await snapshot.state(db)) == []
    assert (await read(db, theirs)).region_code == "360102"
