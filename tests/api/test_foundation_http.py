"""HTTP behaviour of the foundation: health, regions, locations, item types, assets, problem details."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.places.geo import haversine_km, wgs84_to_gcj02
from tests.api.helpers import assert_problem, count, item_type_body, location_body


async def test_health_and_ready_answer(client: Any) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_openapi_document_lists_the_resources(client: Any) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ("/api/v1/regions", "/api/v1/locations", "/api/v1/item-types", "/api/v1/assets"):
        assert p in paths


async def test_regions_under_nanchang_are_its_counties(client: Any) -> None:
    r = await client.get("/api/v1/regions", params={"parent": "3601", "limit": 100})
    body = r.json()
    names = {i["name"] for i in body["items"]}
    assert "南昌县" in names and "东湖区" in names
    assert all(i["parent_code"] == "3601" and i["level"] == 3 for i in body["items"])
    assert body["total"] == len(body["items"]) == 9
    towns = (await client.get("/api/v1/regions", params={"parent": "360121", "limit": 500})).json()
    assert towns["total"] > 10 and all(len(i["code"]) == 12 for i in towns["items"])


async def test_unknown_region_parent_is_404(client: Any) -> None:
    assert_problem(await client.get("/api/v1/regions", params={"parent": "3699"}), 404)


async def test_location_in_gcj02_is_stored_as_wgs84_and_keeps_its_source(client: Any) -> None:
    wlat, wlon = 28.5457, 115.9440
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    r = await client.post("/api/v1/locations", json=location_body(lat=glat, lon=glon, crs="gcj02"))
    assert r.status_code == 201, r.text
    loc = r.json()
    assert haversine_km(loc["lat"], loc["lon"], wlat, wlon) < 0.001
    assert (loc["source_crs"], loc["source_lat"], loc["source_lon"]) == ("gcj02", glat, glon)
    fetched = (await client.get(f"/api/v1/locations/{loc['id']}")).json()
    assert fetched == loc


async def test_location_in_bd09_is_converted(client: Any) -> None:
    r = await client.post("/api/v1/locations", json=location_body(lat=28.5518, lon=115.9505, crs="bd09"))
    assert r.status_code == 201
    loc = r.json()
    assert 0.3 < haversine_km(loc["lat"], loc["lon"], 28.5518, 115.9505) < 2.0


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"lat": 91.0}, "lat"),
        ({"lat": -95.0}, "lat"),
        ({"lon": 181.0}, "lon"),
        ({"lat": 0.0, "lon": 0.0}, "lat"),
        ({"lat": 115.94, "lon": 28.54}, "lat"),
        ({"lat": 39.99, "lon": 116.48}, "lat"),
        ({"lat": 28.5, "lon": None}, "lon"),
    ],
    ids=["lat>90", "lat<-90", "lon>180", "zero-zero", "swapped", "outside-jiangxi", "half-given"],
)
async def test_bad_coordinates_are_refused_and_nothing_is_written(
    client: Any, over: dict[str, Any], field: str
) -> None:
    r = await client.post("/api/v1/locations", json=location_body(**over))
    body = assert_problem(r, 422, field)
    assert await count(client, "/api/v1/locations") == 0
    if over.get("lon") == 28.54:
        assert "填反" in body["detail"]


async def test_unknown_fields_and_wrong_types_are_422_with_field_paths(client: Any) -> None:
    assert_problem(await client.post("/api/v1/locations", json=location_body(colour="red")), 422, "colour")
    assert_problem(await client.post("/api/v1/locations", json=location_body(lat="north")), 422, "lat")
    assert_problem(await client.post("/api/v1/locations", json=location_body(kind="castle")), 422, "kind")
    body = item_type_body(attributes={"flow_m3h": [300]})
    assert_problem(await client.post("/api/v1/item-types", json=body), 422)
    malformed = assert_problem(await client.post("/api/v1/locations", content=b"{not json"), 400)
    assert "JSON" in malformed["detail"]
    assert await count(client, "/api/v1/locations") == 0
    assert await count(client, "/api/v1/item-types") == 0


async def test_a_missing_required_query_parameter_is_422_naming_it(client: Any) -> None:
    body = assert_problem(await client.get("/api/v1/stock/card", params={"item_type_id": 1}), 422, "location_id")
    assert "缺少必填查询参数 location_id" in body["detail"]
    assert body["errors"][0]["source"] == "query"


async def test_unknown_region_code_is_422(client: Any) -> None:
    assert_problem(await client.post("/api/v1/locations", json=location_body(region_code="369999")), 422,
                   "region_code")


async def test_duplicate_location_code_is_409_and_the_first_is_kept(client: Any) -> None:
    assert (await client.post("/api/v1/locations", json=location_body())).status_code == 201
    assert_problem(await client.post("/api/v1/locations", json=location_body(name="另一个")), 409, "code")
    items = (await client.get("/api/v1/locations")).json()["items"]
    assert [i["name"] for i in items] == ["南昌县综合应急物资储备库"]


async def test_bin_needs_an_existing_parent(client: Any) -> None:
    no_parent = location_body("BIN-A", kind="bin", name="货架A")
    assert_problem(await client.post("/api/v1/locations", json=no_parent), 422, "parent_id")
    missing = location_body("BIN-A", kind="bin", name="货架A", parent_id=9999)
    assert_problem(await client.post("/api/v1/locations", json=missing), 422, "parent_id")
    assert await count(client, "/api/v1/locations") == 0


async def test_bin_inherits_its_depot_coordinates(client: Any) -> None:
    depot = (await client.post("/api/v1/locations", json=location_body())).json()
    body = location_body("BIN-A", kind="bin", name="货架A", parent_id=depot["id"])
    del body["lat"], body["lon"]
    b = (await client.post("/api/v1/locations", json=body)).json()
    assert (b["lat"], b["lon"]) == (depot["lat"], depot["lon"])
    children = (await client.get("/api/v1/locations", params={"parent": depot["id"]})).json()
    assert [c["code"] for c in children["items"]] == ["BIN-A"]


async def test_reparenting_that_would_form_a_cycle_is_refused(client: Any) -> None:
    depot = (await client.post("/api/v1/locations", json=location_body())).json()
    zone = (await client.post("/api/v1/locations",
                              json=location_body("ZONE-1", kind="bin", parent_id=depot["id"]))).json()
    shelf = (await client.post("/api/v1/locations",
                               json=location_body("SHELF-1", kind="bin", parent_id=zone["id"]))).json()
    body = assert_problem(await client.patch(f"/api/v1/locations/{depot['id']}",
                                             json={"parent_id": shelf["id"]}), 422, "parent_id")
    assert "循环" in body["detail"]
    assert_problem(await client.patch(f"/api/v1/locations/{zone['id']}", json={"parent_id": zone["id"]}), 422)
    assert (await client.get(f"/api/v1/locations/{depot['id']}")).json()["parent_id"] is None


async def test_patch_that_breaks_an_invariant_changes_nothing(client: Any) -> None:
    depot = (await client.post("/api/v1/locations", json=location_body())).json()
    assert_problem(await client.patch(f"/api/v1/locations/{depot['id']}", json={"kind": "bin"}), 422, "parent_id")
    assert_problem(await client.patch(f"/api/v1/locations/{depot['id']}", json={"lat": 0.0, "lon": 0.0}), 422)
    assert_problem(await client.patch(f"/api/v1/locations/{depot['id']}", json={"region_code": "110101"}), 422)
    after = (await client.get(f"/api/v1/locations/{depot['id']}")).json()
    assert after == depot


async def test_patch_location_changes_only_given_fields(client: Any) -> None:
    depot = (await client.post("/api/v1/locations", json=location_body())).json()
    r = await client.patch(f"/api/v1/locations/{depot['id']}", json={"contact_phone": "13800000000"})
    assert r.status_code == 200
    after = r.json()
    assert after["contact_phone"] == "13800000000"
    assert {k: v for k, v in after.items() if k not in ("contact_phone", "updated_at")} == {
        k: v for k, v in depot.items() if k not in ("contact_phone", "updated_at")
    }


async def test_location_filters_by_kind_region_prefix_and_paginate(client: Any) -> None:
    for i in range(5):
        await client.post("/api/v1/locations", json=location_body(f"D-{i}"))
    await client.post("/api/v1/locations", json=location_body("V-1", kind="vendor", region_code="360102",
                                                              lat=28.68, lon=115.90))
    page = (await client.get("/api/v1/locations", params={"kind": "depot", "limit": 2, "offset": 2})).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 2
    assert [i["code"] for i in page["items"]] == ["D-2", "D-3"]
    vendor = (await client.get("/api/v1/locations", params={"region": "360102"})).json()
    assert [i["code"] for i in vendor["items"]] == ["V-1"]
    assert_problem(await client.get("/api/v1/locations", params={"limit": 0}), 422, "limit")
    assert_problem(await client.get("/api/v1/locations", params={"offset": -1}), 422, "offset")


async def test_item_type_round_trip_and_filters(client: Any) -> None:
    r = await client.post("/api/v1/item-types", json=item_type_body())
    assert r.status_code == 201, r.text
    it = r.json()
    assert it["tags"] == ["fast"] and it["attributes"]["flow_m3h"] == 300
    await client.post("/api/v1/item-types", json=item_type_body("PUMP-90", attributes={"flow_m3h": 90},
                                                                tags=["small", "light"]))
    await client.post("/api/v1/item-types", json=item_type_body("TENT", tracking="bulk", category="shelter",
                                                                unit="顶", attributes={}, tags=[], gbt_code=None))

    async def codes(**params: Any) -> list[str]:
        r = await client.get("/api/v1/item-types", params=params)
        assert r.status_code == 200, r.text
        return [i["code"] for i in r.json()["items"]]

    assert await codes(attr="flow_m3h>=300") == ["PUMP-300"]
    assert await codes(attr=["flow_m3h>50", "head_m>=20"]) == ["PUMP-300"]
    assert await codes(attr="flow_m3h<100") == ["PUMP-90"]
    assert await codes(attr="fuel=diesel") == ["PUMP-300"]
    assert await codes(tag="light") == ["PUMP-90"]
    assert await codes(category="shelter") == ["TENT"]
    assert await codes(tracking="serial") == ["PUMP-300", "PUMP-90"]
    assert_problem(await client.get("/api/v1/item-types", params={"attr": "flow_m3h>>3"}), 422, "attr")
    assert_problem(await client.get("/api/v1/item-types", params={"tag": "huge"}), 422)


@pytest.mark.parametrize("gbt", ["204010", "20401011", "4040101", "2000101", "20a0101"])
async def test_malformed_gbt_code_is_422(client: Any, gbt: str) -> None:
    assert_problem(await client.post("/api/v1/item-types", json=item_type_body(gbt_code=gbt)), 422, "gbt_code")
    assert await count(client, "/api/v1/item-types") == 0


async def test_duplicate_item_type_code_is_409(client: Any) -> None:
    await client.post("/api/v1/item-types", json=item_type_body())
    assert_problem(await client.post("/api/v1/item-types", json=item_type_body(name="别的")), 409, "code")


async def test_item_type_patch_keeps_attributes_filterable(client: Any) -> None:
    it = (await client.post("/api/v1/item-types", json=item_type_body())).json()
    r = await client.patch(f"/api/v1/item-types/{it['id']}", json={"attributes": {"flow_m3h": 450}})
    assert r.status_code == 200 and r.json()["attributes"] == {"flow_m3h": 450}
    found = (await client.get("/api/v1/item-types", params={"attr": "flow_m3h>=400"})).json()["items"]
    assert [i["id"] for i in found] == [it["id"]]
    assert (await client.get("/api/v1/item-types", params={"attr": "head_m>=1"})).json()["total"] == 0


async def test_asset_lifecycle_and_invariants(client: Any) -> None:
    depot = (await client.post("/api/v1/locations", json=location_body())).json()
    pump = (await client.post("/api/v1/item-types", json=item_type_body())).json()
    tent = (await client.post("/api/v1/item-types", json=item_type_body("TENT", tracking="bulk"))).json()
    body = {"item_type_id": pump["id"], "serial_number": "SN-001", "location_id": depot["id"],
            "last_inspected_at": "2020-01-01T00:00:00Z", "battery_pct": 80}
    r = await client.post("/api/v1/assets", json=body)
    assert r.status_code == 201, r.text
    asset = r.json()
    assert asset["status"] == "available" and asset["inspection_overdue"] is True
    assert asset["next_inspection_due"] == "2020-03-31"
    assert_problem(await client.post("/api/v1/assets", json=body), 409, "serial_number")
    assert_problem(await client.post("/api/v1/assets", json={**body, "item_type_id": tent["id"]}), 422,
                   "item_type_id")
    assert_problem(await client.post("/api/v1/assets", json={**body, "serial_number": "X",
                                                             "location_id": 999}), 422, "location_id")
    assert_problem(await client.post("/api/v1/assets", json={**body, "serial_number": "Y", "battery_pct": 120}),
                   422, "battery_pct")
    assert_problem(await client.patch(f"/api/v1/assets/{asset['id']}", json={"status": "deployed"}), 422, "status")
    r = await client.patch(f"/api/v1/assets/{asset['id']}", json={"status": "maintenance", "readiness": "fault",
                                                                  "fault_note": "叶轮损坏"})
    assert r.status_code == 200 and r.json()["status"] == "maintenance"
    listed = (await client.get("/api/v1/assets", params={"status": "maintenance"})).json()
    assert [a["serial_number"] for a in listed["items"]] == ["SN-001"]
    assert_problem(await client.get("/api/v1/assets/424242"), 404)
