"""HTTP behaviour of availability: the commander's question on the 南昌 demo, the summary, and input errors."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.demo.loader import load_demo
from inventory.places.geo import wgs84_to_gcj02
from inventory.store.db import Database
from tests.api.helpers import PROBLEM, assert_problem, item_type_body, location_body

NEAREST = "/api/v1/availability/nearest"
SUMMARY = "/api/v1/availability/summary"
BREACH = {"lat": 28.55, "lon": 115.94}  # a levee breach in 南昌县
PUMPS_300 = {**BREACH, "category": "pump", "attr": "flow_m3h>=300", "quantity": 6}


@pytest.mark.parametrize(("params", "field"), [
    ({"lon": 115.94, "category": "pump"}, "lat"),
    ({**BREACH, "lat": "north", "category": "pump"}, "lat"),
    ({**BREACH, "lat": 95, "category": "pump"}, "lat"),
    ({**BREACH, "lon": 190, "category": "pump"}, "lon"),
    ({**BREACH, "lat": 0, "lon": 0, "category": "pump"}, "lat"),
    ({**BREACH, "crs": "utm", "category": "pump"}, "crs"),
    ({**BREACH, "quantity": 0, "category": "pump"}, "quantity"),
    ({**BREACH, "quantity": "six", "category": "pump"}, "quantity"),
    ({**BREACH, "limit": 0, "category": "pump"}, "limit"),
    ({**BREACH, "max_km": -5, "category": "pump"}, "max_km"),
    ({**BREACH, "attr": "flow_m3h>>300"}, "attr"),
    ({**BREACH, "attr": "flow_m3h>=many"}, "attr"),
    ({**BREACH, "tag": "huge"}, "tag"),
    ({**BREACH, "item_type": "NO-SUCH-ITEM"}, "item_type"),
    ({**BREACH, "item_type": "²"}, "item_type"),
    ({**BREACH, "item_type": "99999999999999999999"}, "item_type"),
    (BREACH, "item_type"),
])
async def test_a_bad_nearest_request_is_422_naming_the_field(client: Any, params: dict[str, Any], field: str) -> None:
    assert_problem(await client.get(NEAREST, params=params), 422, field)


@pytest.mark.parametrize(("params", "field"), [
    ({"category": "pump"}, "region"), ({"region": "36ab", "category": "pump"}, "region"),
    ({"region": "3699", "category": "pump"}, "region"), ({"region": "3601"}, "item_type"),
    ({"region": "3601", "attr": "flow"}, "attr"),
])
async def test_a_bad_summary_request_is_422_naming_the_field(client: Any, params: dict[str, Any], field: str) -> None:
    assert_problem(await client.get(SUMMARY, params=params), 422, field)


async def test_every_signed_in_role_may_ask(client: Any, client_as: Any) -> None:
    await catalogue(client)
    for role in ("commander", "keeper", "auditor"):
        c = await client_as(role, f"{role}-1", **({"scope_regions": ["360102"]} if role == "keeper" else {}))
        r = await c.get(NEAREST, params={**BREACH, "category": "pump"})
        assert r.status_code == 200, r.text
        assert r.json()["sources"] == []


async def catalogue(client: Any) -> None:
    """A pump (flow, head, fuel; tag fast) and a tent (no attributes, no tags): the catalogue the filters name."""
    for body in (item_type_body(), item_type_body("TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk",
                                                  category="shelter", gbt_code=None, attributes={}, tags=[])):
        r = await client.post("/api/v1/item-types", json=body)
        assert r.status_code == 201, r.text


def messages(r: Any) -> dict[str, str]:
    """Field → message of a 422 problem (one message per field, joined)."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    found: dict[str, str] = {}
    for e in r.json()["errors"]:
        found[e["field"]] = "；".join(filter(None, [found.get(e["field"]), e["message"]]))
    return found


ASKS = [(NEAREST, BREACH), (SUMMARY, {"region": "3601"})]


@pytest.mark.parametrize(("path", "where"), ASKS)
async def test_an_unknown_category_tag_or_attribute_is_a_422_naming_it_with_the_known_ones(
    client: Any, path: str, where: dict[str, Any],
) -> None:
    await catalogue(client)
    category = messages(await client.get(path, params={**where, "category": "pum"}))
    assert list(category) == ["category"]
    assert "未知的物资类别 category：“pum”" in category["category"]
    assert "pump（排涝泵）" in category["category"] and "shelter（帐篷篷布）" in category["category"]

    tag = messages(await client.get(path, params={**where, "tag": "huge"}))
    assert list(tag) == ["tag"]
    assert "未知的能力标签 tag：“huge”" in tag["tag"]
    assert all(t in tag["tag"] for t in ("small（小）", "fast（快）", "light（轻）", "smart（智）"))

    attr = messages(await client.get(path, params={**where, "category": "pump", "attr": "flwo_m3h>=300"}))
    assert list(attr) == ["attr"]
    assert "未知的属性 attr：“flwo_m3h”（flwo_m3h>=300）" in attr["attr"]
    assert all(a in attr["attr"] for a in ("flow_m3h（流量）", "head_m（扬程）", "fuel（燃料）"))

    both = await client.get(path, params={**where, "category": "pum", "attr": ["flow_m3h>=300", "hed_m<30"]})
    assert set(messages(both)) == {"category", "attr"}
    assert "“pum”" in both.json()["detail"] and "“hed_m”" in both.json()["detail"]
    assert "“flow_m3h”" not in both.json()["detail"]


@pytest.mark.parametrize(("path", "where"), ASKS)
async def test_known_filters_that_together_match_nothing_are_still_an_empty_answer(
    client: Any, path: str, where: dict[str, Any],
) -> None:
    await catalogue(client)
    for nothing in ({"category": "pump", "attr": "flow_m3h>=5000"}, {"tag": "smart"},
                    {"category": "shelter", "attr": "flow_m3h>=1"}, {"category": "shelter", "tag": "fast"}):
        r = await client.get(path, params={**where, **nothing})
        assert r.status_code == 200, r.text
        assert r.json()["item_types"] == [], nothing


# 南昌县, and 乌鲁木齐: swapped, its longitude 87.6 is a valid latitude, yet the point is recognised.
@pytest.mark.parametrize("point", [BREACH, {"lat": 43.8, "lon": 87.6}])
async def test_swapped_latitude_and_longitude_get_the_same_hint_as_a_new_location(
    client: Any, point: dict[str, float],
) -> None:
    await catalogue(client)
    swapped = {"lat": point["lon"], "lon": point["lat"]}
    location = await client.post("/api/v1/locations", json=location_body(**swapped))
    hint = messages(location)["lat"]
    assert "填反" in hint
    for crs in ("wgs84", "gcj02", "bd09"):
        r = await client.get(NEAREST, params={**swapped, "crs": crs, "category": "pump"})
        assert messages(r) == {"lat": hint}, crs
        assert r.json()["detail"] == hint
    assert (await client.get(NEAREST, params={**point, "category": "pump"})).status_code == 200


@pytest.mark.parametrize(("path", "where"), ASKS)
async def test_an_unknown_category_is_named_even_beside_a_known_item_type(
    client: Any, path: str, where: dict[str, Any],
) -> None:
    await catalogue(client)
    r = await client.get(path, params={**where, "item_type": "PUMP-300", "category": "pumpz"})
    assert messages(r) == {"category": messages(r)["category"]}
    assert r.json()["detail"].startswith("未知的物资类别 category：“pumpz”")
    other = await client.get(path, params={**where, "item_type": "PUMP-300", "category": "shelter"})
    assert other.status_code == 200 and other.json()["item_types"] == [], "known, but not this item type's"


async def test_the_nearest_six_pumps_of_300_m3h_to_a_breach_in_nanchang_county(client: Any, db: Database) -> None:
    async with db.write() as session:
        await load_demo(session)
    flows = {it["id"]: it["attributes"].get("flow_m3h") for it in
             (await client.get("/api/v1/item-types", params={"category": "pump", "limit": 100})).json()["items"]}

    r = await client.get(NEAREST, params=PUMPS_300)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["origin"] == {"lat": 28.55, "lon": 115.94, "crs": "wgs84", "input_lat": 28.55, "input_lon": 115.94}
    sources = body["sources"]
    assert sources, body
    assert all(flows[s["item_type"]["id"]] >= 300 for s in sources)
    assert all(s["item_type"]["tracking"] == "serial" and s["item_type"]["unit"] == "台" for s in sources)
    etas = [s["eta_minutes"] for s in sources]
    assert etas == sorted(etas)
    assert [s["cumulative"] for s in sources] == [sum(x["available"] for x in sources[: i + 1])
                                                  for i in range(len(sources))]
    assert sources[-1]["cumulative"] >= 6 > sources[-1]["cumulative"] - sources[-1]["available"]
    assert (body["fulfilled"], body["shortfall"]) == (True, 0)
    # The 南昌县 depot is a couple of km from the breach; everything listed is within the city's reach.
    first = sources[0]
    assert first["location"]["region_code"].startswith("360121")
    assert first["distance_km"] < 5
    assert all(s["distance_km"] < 80 for s in sources)
    assert all(s["location"]["contact_name"] and s["location"]["contact_phone"] for s in sources)
    for s in sources:
        loc = s["location"]
        assert s["eta_minutes"] == pytest.approx(
            s["mobilisation_minutes"] + s["travel_minutes"] + s["agreement_lead_minutes"], abs=0.11)
        assert loc["kind"] != "bin"
    assert "直线距离" in body["eta_basis"]

    # The same point as a phone map (GCJ-02) reports it gives the same answer.
    glon, glat = wgs84_to_gcj02(115.94, 28.55)
    same = (await client.get(NEAREST, params={**PUMPS_300, "lat": glat, "lon": glon, "crs": "gcj02"})).json()
    assert [(s["location"]["id"], s["item_type"]["id"]) for s in same["sources"]] == [
        (s["location"]["id"], s["item_type"]["id"]) for s in sources]

    # Asking for more than the nearby depots hold reaches the pump vendor's agreement reserve (协议储备),
    # six hours away; without agreement reserves it does not.
    many = (await client.get(NEAREST, params={**PUMPS_300, "quantity": 200, "limit": 100})).json()
    assert "vendor" in {s["location"]["kind"] for s in many["sources"]}
    vendor = next(s for s in many["sources"] if s["location"]["kind"] == "vendor")
    assert vendor["agreement_lead_minutes"] == vendor["location"]["agreement_lead_hours"] * 60 > 0
    own = (await client.get(NEAREST, params={**PUMPS_300, "quantity": 200, "limit": 100,
                                             "include_agreement": "false"})).json()
    assert "vendor" not in {s["location"]["kind"] for s in own["sources"]}
    assert own["shortfall"] > 0

    near = (await client.get(NEAREST, params={**PUMPS_300, "quantity": 200, "max_km": 10})).json()
    assert near["sources"]
    assert all(s["distance_km"] <= 10 for s in near["sources"])

    summary = (await client.get(SUMMARY, params={"region": "3601", "category": "pump",
                                                 "attr": "flow_m3h>=300"})).json()
    regions = {r["region_code"]: r for r in summary["regions"]}
    assert len(regions) == 9
    assert regions["360121"]["available"] > 0
    assert summary["own"]["region_code"] == "3601"
    assert summary["own"]["available"] > 0  # the city depot
    total = summary["total"]
    assert total["available"] == sum(r["available"] for r in summary["regions"]) + summary["own"]["available"]
    assert total["available"] >= many["sources"][-1]["cumulative"]
    # Our own stock: what is available of it is on hand. The pump maker's capacity agreement (产能储备) adds to
    # what is available, but none of it is on our books.
    books = (await client.get(SUMMARY, params={"region": "3601", "category": "pump", "attr": "flow_m3h>=300",
                                               "include_agreement": "false"})).json()["total"]
    assert books["on_hand"] >= books["available"] > 0
    assert total["on_hand"] >= books["on_hand"]  # vendors' booked (consigned) units count only with agreements
    assert total["available"] > books["available"]


async def test_the_routes_are_in_the_openapi_document(client: Any) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/api/v1/availability/nearest", "/api/v1/availability/summary"} <= set(paths)
