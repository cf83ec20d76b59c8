"""Own stock first, and requests between units (物资调用申请) over HTTP, on SQLite and PostgreSQL.

A county commander orders dispatches from his own unit's sources only; another unit's stock he requests from
its owning unit or from the level above, whose commanders accept (a dispatch order from their own sources,
executed by their keepers) or decline. Every refused write changes nothing.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from inventory.store.db import Database
from tests.api import snapshot
from tests.api.helpers import assert_problem, created, item_type_body, location_body

REQUESTS = "/api/v1/requests"
CHINA = ZoneInfo("Asia/Shanghai")
ORAL = {"mode": "oral", "approved_by": "市防指 李指挥长"}
# 南昌县's north-western edge, where 新建区's depot (about 6 km) is nearer than 南昌县's own (about 12 km).
INCIDENT = {"lat": 28.62, "lon": 115.86}
XJQ = {"lat": 28.66, "lon": 115.82}
STOCK = {"ncx_bags": 100, "xjq_bags": 300, "xjq_tents": 50}


@dataclass
class World:
    """Two counties' depots, an open incident in 南昌县, and the people of the county, the city and 新建区."""

    admin: Any
    county: Any  # 南昌县 commander (360121)
    city: Any  # 南昌市 commander (3601)
    xjq: Any  # 新建区 commander (360112)
    xjq_keeper: Any
    ncx_keeper: Any
    ncx: int
    xjq_depot: int
    bag: int
    tent: int
    incident: int
    incident_name: str


async def world(admin: Any, client_as: Any) -> World:
    ncx = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    xjq = (await created(admin, "/api/v1/locations", location_body(
        "D-XJQ", name="新建区应急物资储备库", region_code="360112", address="长堎街道", **XJQ)))["id"]
    bag = (await created(admin, "/api/v1/item-types", item_type_body(
        "BAG", name="编织袋", unit="条", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[], inspection_interval_days=None)))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[], inspection_interval_days=None)))["id"]
    for where, item, quantity in ((ncx, bag, STOCK["ncx_bags"]), (xjq, bag, STOCK["xjq_bags"]),
                                  (xjq, tent, STOCK["xjq_tents"])):
        await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": where,
                                                   "lines": [{"item_type_id": item, "quantity": quantity}]})
    incident = await created(admin, "/api/v1/incidents", {"name": "南昌县圩堤管涌", "kind": "flood",
                                                          "region_code": "360121", **INCIDENT})
    return World(
        admin=admin,
        county=await client_as("commander", "ncx-commander", scope_regions=["360121"]),
        city=await client_as("commander", "nc-city-commander", scope_regions=["3601"]),
        xjq=await client_as("commander", "xjq-commander", scope_regions=["360112"]),
        xjq_keeper=await client_as("keeper", "xjq-keeper", scope_regions=["360112"]),
        ncx_keeper=await client_as("keeper", "ncx-keeper", scope_regions=["360121"]),
        ncx=ncx, xjq_depot=xjq, bag=bag, tent=tent, incident=incident["id"], incident_name=incident["name"])


def soon(hours: float = 6) -> str:
    """A time wanted (时间要求) some hours from now."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).isoformat()


def request_body(w: World, to_region: str = "3601", lines: list[dict[str, Any]] | None = None,
                 **over: Any) -> dict[str, Any]:
    """A request toward the incident: 品种、数量、用途、时间要求、运输方式、联系方式."""
    return {"incident_id": w.incident, "to_region": to_region, "purpose": "圩堤管涌抢险，加固堤身",
            "needed_by": soon(), "transport": "lender_delivery", "contact_name": "县防指 刘干事",
            "contact_phone": "0791-85700001", "lines": lines or [{"item_type": "BAG", "quantity": 200}], **over}


def accept_body(*lines: dict[str, Any], approval: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"lines": list(lines), "approval": approval or ORAL}


def order(quantity: int, source: int | None = None, item: str = "BAG") -> dict[str, Any]:
    line: dict[str, Any] = {"item_type": item, "quantity": quantity}
    if source is not None:
        line["from_location_id"] = source
    return {"lines": [line], "approval": {"mode": "oral", "approved_by": "县防指 王副指挥长"}}


async def on_hand(w: World, location: int, item: int) -> tuple[int, int]:
    """(on hand, reserved) of one item at one site."""
    rows = (await w.admin.get("/api/v1/stock", params={"location_id": location, "item_type_id": item})).json()
    return sum(r["on_hand"] for r in rows["items"]), sum(r["reserved"] for r in rows["items"])


async def refused(db: Database, call: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """Send a write that must be refused with ``status`` (naming ``field``) and change nothing; its problem body."""
    before = await snapshot.state(db)
    body = assert_problem(await call, status, field)
    assert snapshot.changed(before, await snapshot.state(db)) == [], "a refused write changed something"
    return body


def month_later_in_beijing(t: dt.datetime) -> dt.datetime:
    """The same Beijing wall-clock time one calendar month later (clamped to the month's last day)."""
    local = t.astimezone(CHINA)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- the scenario


async def test_a_county_requests_another_countys_stock_the_city_accepts_and_the_lender_delivers(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    # 南昌县's commander may not order 新建区's stock himself: 403, and nothing is reserved.
    body = await refused(db, w.county.post(f"/api/v1/incidents/{w.incident}/dispatches",
                                           json=order(200, w.xjq_depot)), 403)
    assert "辖区" in body["detail"]
    assert await on_hand(w, w.xjq_depot, w.bag) == (300, 0)

    # He asks the city (逐级申请).
    r = await w.county.post(REQUESTS, json=request_body(w))
    assert r.status_code == 201, r.text
    sent = r.json()
    assert (sent["from_region_code"], sent["from_region_name"], sent["to_region_code"], sent["to_region_name"]) == (
        "360121", "南昌县", "3601", "南昌市")
    assert (sent["status"], sent["outcome"], sent["created_by"]) == ("open", "pending", "ncx-commander")
    assert sent["incident_id"] == w.incident and sent["destination"] == w.incident_name
    assert sent["transport"] == "lender_delivery" and sent["transport_zh"] == "出借单位送达"
    [line] = sent["lines"]
    assert (line["item_type_id"], line["item_name"], line["unit"], line["quantity"], line["open"], line["status"]) == (
        w.bag, "编织袋", "条", 200, 200, "pending")
    assert sent["answers"] == []

    # The city's commander accepts from 新建区's depot; the keeper of 南昌县 may not execute it, 新建区's does.
    r = await w.city.post(f"{REQUESTS}/{sent['id']}/accept", json=accept_body(
        {"line_id": line["id"], "quantity": 200, "from_location_id": w.xjq_depot}))
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert (accepted["status"], accepted["outcome"], accepted["answered_at"] is not None) == (
        "answered", "accepted", True)
    assert [(ln["status"], ln["accepted"], ln["open"]) for ln in accepted["lines"]] == [("accepted", 200, 0)]
    [answer] = accepted["answers"]
    assert (answer["kind"], answer["answered_by"], answer["dispatch_status"], answer["approval_mode"]) == (
        "accept", "nc-city-commander", "reserved", "oral")
    assert [(al["line_id"], al["item_type_id"], al["quantity"]) for al in answer["lines"]] == [(line["id"], w.bag, 200)]
    assert answer["delivered_at"] is None and answer["settlement_due_at"] is None
    dispatch_id = answer["dispatch_id"]
    d = (await w.admin.get(f"/api/v1/dispatches/{dispatch_id}")).json()
    assert (d["incident_id"], d["created_by"], d["status"]) == (w.incident, "nc-city-commander", "reserved")
    assert {ln["location_id"] for ln in d["lines"]} == {w.xjq_depot}
    assert sum(ln["quantity"] for ln in d["lines"]) == 200
    assert await on_hand(w, w.xjq_depot, w.bag) == (300, 200)

    r = await w.ncx_keeper.post(f"/api/v1/dispatches/{dispatch_id}/execute", json={})
    assert r.status_code == 403, r.text
    r = await w.xjq_keeper.post(f"/api/v1/dispatches/{dispatch_id}/execute", json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_transit"
    r = await w.ncx_keeper.post(f"/api/v1/dispatches/{dispatch_id}/deliver", json={})
    assert r.status_code == 200, r.text
    delivered = r.json()
    assert delivered["status"] == "delivered"
    assert await on_hand(w, w.xjq_depot, w.bag) == (100, 0)
    assert await on_hand(w, w.ncx, w.bag) == (100, 0), "南昌县's own depot is untouched"

    # The requester sees where each line stands and when the settlement is due.
    r = await w.county.get(f"{REQUESTS}/{sent['id']}")
    assert r.status_code == 200, r.text
    seen = r.json()
    assert [(ln["status"], ln["status_zh"]) for ln in seen["lines"]] == [("accepted", "已同意")]
    [answer] = seen["answers"]
    assert (answer["dispatch_id"], answer["dispatch_status"]) == (dispatch_id, "delivered")
    assert at(answer["delivered_at"]) == at(delivered["delivered_at"])
    assert at(answer["settlement_due_at"]) == month_later_in_beijing(at(delivered["delivered_at"]))


# --------------------------------------------------------------------------- own stock first


async def test_nearest_says_whose_stock_each_source_is_and_own_only_keeps_the_users_own(
    client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    point = await created(client, "/api/v1/locations", location_body(
        "P-XT", name="向塘镇应急物资储备点", kind="reserve_point", region_code="360121101000", lat=28.45, lon=115.97))
    await created(client, "/api/v1/movements", {"kind": "receipt", "location_id": point["id"],
                                                 "lines": [{"item_type_id": w.bag, "quantity": 20}]})
    query = {**INCIDENT, "item_type": "BAG", "quantity": 1000}

    r = await w.county.get("/api/v1/availability/nearest", params=query)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["own_only"] is False
    by_site = {s["location"]["id"]: s for s in answer["sources"]}
    assert answer["sources"][0]["location"]["id"] == w.xjq_depot, "新建区's depot is the nearest"
    assert set(by_site) == {w.xjq_depot, w.ncx, point["id"]}
    assert by_site[w.xjq_depot]["own"] is False
    assert by_site[w.xjq_depot]["owner"] == {"region_code": "360112", "region_name": "新建区", "level": 3,
                                             "level_name": "县级"}
    assert by_site[w.ncx]["own"] is True
    assert by_site[w.ncx]["owner"] == {"region_code": "360121", "region_name": "南昌县", "level": 3,
                                       "level_name": "县级"}
    assert by_site[point["id"]]["own"] is True, "his townships' reserve points are his own too"
    assert by_site[point["id"]]["owner"] == {"region_code": "360121101000", "region_name": "向塘镇", "level": 4,
                                             "level_name": "乡镇级"}

    r = await w.county.get("/api/v1/availability/nearest", params={**query, "own_only": "true"})
    assert r.status_code == 200, r.text
    mine = r.json()
    assert mine["own_only"] is True
    assert sorted(s["location"]["id"] for s in mine["sources"]) == sorted([w.ncx, point["id"]])
    assert all(s["own"] is True for s in mine["sources"])
    assert (mine["fulfilled"], mine["shortfall"]) == (False, 1000 - 120)

    # The city's commander owns both counties' stock; 新建区's owns only his.
    city = (await w.city.get("/api/v1/availability/nearest", params=query)).json()
    assert {s["location"]["id"]: s["own"] for s in city["sources"]} == {w.xjq_depot: True, w.ncx: True,
                                                                         point["id"]: True}
    xjq = (await w.xjq.get("/api/v1/availability/nearest", params={**query, "own_only": "true"})).json()
    assert [s["location"]["id"] for s in xjq["sources"]] == [w.xjq_depot]


async def test_a_county_commanders_own_order_reserves_only_his_own_sites_though_another_is_nearer(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await w.county.post(f"/api/v1/incidents/{w.incident}/dispatches", json=order(60))
    assert r.status_code == 201, r.text
    assert {ln["location_id"] for ln in r.json()["lines"]} == {w.ncx}
    assert await on_hand(w, w.xjq_depot, w.bag) == (300, 0)
    # His own depot has 40 left: 50 is a 409 naming the shortfall, though 新建区 (nearer) has 300.
    body = await refused(db, w.county.post(f"/api/v1/incidents/{w.incident}/dispatches", json=order(50)), 409)
    assert [(s["item_type_id"], s["requested"], s["available"], s["shortfall"]) for s in body["shortfall"]] == [
        (w.bag, 50, 40, 10)]
    assert "调用申请" in body["detail"]
    # The admin is not limited: his nearest is 新建区's depot.
    r = await client.post(f"/api/v1/incidents/{w.incident}/dispatches", json=order(50))
    assert r.status_code == 201, r.text
    assert {ln["location_id"] for ln in r.json()["lines"]} == {w.xjq_depot}


async def test_an_agreement_reserve_of_another_county_is_refused_to_a_county_commander(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    vendor = await created(client, "/api/v1/locations", location_body(
        "V-XJQ", name="新建区某物资公司仓库", kind="vendor", region_code="360112", lat=28.64, lon=115.84))
    today = dt.datetime.now(CHINA).date()
    agreement = await created(client, "/api/v1/agreements", {
        "number": "XY-XJQ-01", "name": "编织袋协议代储", "vendor_location_id": vendor["id"], "kind": "physical",
        "valid_from": str(today - dt.timedelta(days=30)), "valid_until": str(today + dt.timedelta(days=365)),
        "response_hours": 6, "lines": [{"item_type_id": w.bag, "quantity": 5000}]})
    body = {"lines": [{"item_type": "BAG", "quantity": 10, "agreement_id": agreement["id"]}],
            "approval": {"mode": "oral", "approved_by": "县防指 王副指挥长"}}
    await refused(db, w.county.post(f"/api/v1/incidents/{w.incident}/dispatches", json=body), 403)
    r = await w.xjq.post(f"/api/v1/incidents/{w.incident}/dispatches", json=body)
    assert r.status_code == 201, r.text


# --------------------------------------------------------------------------- refusals


async def test_a_request_to_ones_own_unit_is_refused_naming_to_region(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    for to in ("360121", "360121101000"):  # his county, and a township of it
        body = await refused(db, w.county.post(REQUESTS, json=request_body(w, to_region=to)), 422, "to_region")
        assert "本单位" in body["detail"]
    # The city's commander, asking in 南昌县's name, may not ask 新建区: it is in his own scope.
    await refused(db, w.city.post(REQUESTS, json=request_body(w, to_region="360112", from_region="360121")), 422,
                  "to_region")
    # Nor may a commander ask in the name of a unit outside his scope, or without any unit.
    await refused(db, w.county.post(REQUESTS, json=request_body(w, from_region="360112")), 403)
    nobody = await client_as("commander", "no-scope-commander")
    await refused(db, nobody.post(REQUESTS, json=request_body(w)), 403)
    await refused(db, w.xjq_keeper.post(REQUESTS, json=request_body(w)), 403)
    await refused(db, w.county.post(REQUESTS, json=request_body(w, to_region="369999")), 422, "to_region")
    assert (await client.get(REQUESTS)).json()["total"] == 0


async def test_an_unknown_or_closed_incident_is_refused(db: Database, client: Any, client_as: Any) -> None:
    w = await world(client, client_as)
    await refused(db, w.county.post(REQUESTS, json=request_body(w, incident_id=999_999)), 422, "incident_id")
    r = await w.county.post(REQUESTS, json=request_body(w))
    assert r.status_code == 201, r.text
    request_id, line_id = r.json()["id"], r.json()["lines"][0]["id"]
    assert (await client.post(f"/api/v1/incidents/{w.incident}/close")).status_code == 200
    body = await refused(db, w.county.post(REQUESTS, json=request_body(w)), 409)
    assert "已关闭" in body["detail"]
    # An acceptance is a dispatch order toward the incident: a closed one takes none.
    await refused(db, w.city.post(f"{REQUESTS}/{request_id}/accept", json=accept_body(
        {"line_id": line_id, "quantity": 10, "from_location_id": w.xjq_depot})), 409)


async def test_a_past_time_wanted_and_lines_that_name_nothing_are_422(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    await refused(db, w.county.post(REQUESTS, json=request_body(w, needed_by=soon(-3))), 422, "needed_by")
    await refused(db, w.county.post(REQUESTS, json=request_body(w, lines=[{"quantity": 5}])), 422,
                  "lines.0.item_type")
    await refused(db, w.county.post(REQUESTS, json=request_body(w, lines=[
        {"item_type": "BAG", "quantity": 5}, {"item_type": "NO-SUCH", "quantity": 5}])), 422, "lines.1.item_type")
    await refused(db, w.county.post(REQUESTS, json=request_body(w, lines=[
        {"item_type": "BAG", "category": "flood_control", "quantity": 5}])), 422, "lines.0.category")
    await refused(db, w.county.post(REQUESTS, json=request_body(w, lines=[{"category": "no_such", "quantity": 5}])),
                  422, "lines.0.category")
    await refused(db, w.county.post(REQUESTS, json=request_body(w, lines=[{"item_type": "BAG", "quantity": 0}])),
                  422)


async def test_accepting_more_than_is_open_is_422_and_beyond_ones_stock_409_with_the_shortfall(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await w.county.post(REQUESTS, json=request_body(w, to_region="360112", lines=[
        {"item_type": "BAG", "quantity": 400}]))
    assert r.status_code == 201, r.text
    request_id, line = r.json()["id"], r.json()["lines"][0]["id"]
    accept = f"{REQUESTS}/{request_id}/accept"
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 401})), 422,
                  "lines.0.quantity")
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 300},
                                                          {"line_id": line, "quantity": 101})), 422,
                  "lines.1.quantity")
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": 999_999, "quantity": 1})), 422,
                  "lines.0.line_id")
    # 新建区 holds 300: 350 is beyond his stock (the nearest of his own: 南昌县's depot is not his).
    body = await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 350})), 409)
    assert [(s["item_type_id"], s["requested"], s["available"], s["shortfall"]) for s in body["shortfall"]] == [
        (w.bag, 350, 300, 50)]
    # Nor may he give from 南昌县's depot: it is not his.
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 10,
                                                           "from_location_id": w.ncx})), 403)

    r = await w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 250}))
    assert r.status_code == 200, r.text
    partly = r.json()
    assert (partly["status"], partly["outcome"]) == ("open", "partly")
    assert [(ln["status"], ln["accepted"], ln["open"]) for ln in partly["lines"]] == [("partly", 250, 150)]
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 151})), 422,
                  "lines.0.quantity")
    body = await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 60})), 409)
    assert [(s["available"], s["shortfall"]) for s in body["shortfall"]] == [(50, 10)]
    assert await on_hand(w, w.xjq_depot, w.bag) == (300, 250)


async def test_answering_a_request_addressed_outside_ones_scope_is_403(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await w.county.post(REQUESTS, json=request_body(w))
    assert r.status_code == 201, r.text
    request_id, line = r.json()["id"], r.json()["lines"][0]["id"]
    accept = accept_body({"line_id": line, "quantity": 10})
    for who in (w.county, w.xjq):  # the city's request is answered by the city only
        body = await refused(db, who.post(f"{REQUESTS}/{request_id}/accept", json=accept), 403)
        assert "辖区" in body["detail"]
        await refused(db, who.post(f"{REQUESTS}/{request_id}/decline", json={"reason": "无库存"}), 403)
    await refused(db, w.xjq_keeper.post(f"{REQUESTS}/{request_id}/accept", json=accept), 403)
    assert_problem(await w.city.post(f"{REQUESTS}/999999/decline", json={"reason": "无库存"}), 404)
    assert (await w.county.get(f"{REQUESTS}/{request_id}")).json()["status"] == "open"


async def test_a_category_line_is_answered_with_an_item_type_of_that_category(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await w.county.post(REQUESTS, json=request_body(w, to_region="360112", lines=[
        {"category": "shelter", "quantity": 10}, {"item_type": "BAG", "quantity": 20}]))
    assert r.status_code == 201, r.text
    sent = r.json()
    shelter, bags = (ln["id"] for ln in sent["lines"])
    assert (sent["lines"][0]["item_type_id"], sent["lines"][0]["category"]) == (None, "shelter")
    accept = f"{REQUESTS}/{sent['id']}/accept"
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": shelter, "quantity": 10})), 422,
                  "lines.0.item_type")
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": shelter, "quantity": 10, "item_type": "BAG"})),
                  422, "lines.0.item_type")
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": bags, "quantity": 20},
                                                          {"line_id": bags, "quantity": 0})), 422)
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": bags, "quantity": 20, "item_type": "TENT-12"})),
                  422, "lines.0.item_type")
    r = await w.xjq.post(accept, json=accept_body({"line_id": shelter, "quantity": 10, "item_type": "TENT-12"},
                                                  {"line_id": bags, "quantity": 20, "item_type": str(w.bag)}))
    assert r.status_code == 200, r.text
    answered = r.json()
    assert (answered["status"], answered["outcome"]) == ("answered", "accepted")
    assert [(al["line_id"], al["item_type_id"], al["item_name"], al["quantity"])
            for al in answered["answers"][0]["lines"]] == [(shelter, w.tent, "12平方米单帐篷", 10),
                                                           (bags, w.bag, "编织袋", 20)]
    d = (await client.get(f"/api/v1/dispatches/{answered['answers'][0]['dispatch_id']}")).json()
    assert sorted((ln["item_type_id"], ln["location_id"], ln["quantity"]) for ln in d["lines"]) == sorted(
        [(w.tent, w.xjq_depot, 10), (w.bag, w.xjq_depot, 20)])


async def test_declining_what_is_already_answered_is_409(db: Database, client: Any, client_as: Any) -> None:
    w = await world(client, client_as)
    r = await w.county.post(REQUESTS, json=request_body(w, lines=[{"item_type": "BAG", "quantity": 50},
                                                                  {"item_type": "TENT-12", "quantity": 5}]))
    assert r.status_code == 201, r.text
    request_id, (bags, tents) = r.json()["id"], (ln["id"] for ln in r.json()["lines"])
    decline = f"{REQUESTS}/{request_id}/decline"
    await refused(db, w.city.post(decline, json={"reason": "无库存", "line_ids": [999_999]}), 422, "line_ids.0")
    await refused(db, w.city.post(decline, json={"reason": ""}), 422)
    r = await w.city.post(decline, json={"reason": "市级编织袋已全部调出", "line_ids": [bags]})
    assert r.status_code == 200, r.text
    assert [ln["status"] for ln in r.json()["lines"]] == ["declined", "pending"]
    assert r.json()["status"] == "open"
    await refused(db, w.city.post(decline, json={"reason": "再次拒绝", "line_ids": [bags]}), 409)
    r = await w.city.post(decline, json={"reason": "帐篷不足"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["outcome"], done["outcome_zh"]) == ("answered", "declined", "已拒绝")
    assert [(a["kind"], a["reason"], [al["line_id"] for al in a["lines"]]) for a in done["answers"]] == [
        ("decline", "市级编织袋已全部调出", [bags]), ("decline", "帐篷不足", [tents])]
    await refused(db, w.city.post(decline, json={"reason": "再次拒绝"}), 409)
    await refused(db, w.city.post(f"{REQUESTS}/{request_id}/accept", json=accept_body(
        {"line_id": tents, "quantity": 1, "from_location_id": w.xjq_depot})), 409)


# --------------------------------------------------------------------------- answers, counts and boxes


async def test_a_partial_accept_then_a_decline_of_the_rest_and_the_counts_and_boxes_of_each_unit(
    client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await w.county.post(REQUESTS, json=request_body(w, lines=[{"item_type": "BAG", "quantity": 100},
                                                                  {"item_type": "TENT-12", "quantity": 20}]))
    assert r.status_code == 201, r.text
    to_city = r.json()
    r = await w.xjq.post(REQUESTS, json=request_body(w, to_region="360121", lines=[
        {"item_type": "BAG", "quantity": 30}], contact_name="新建区应急局 周干事"))
    assert r.status_code == 201, r.text
    to_county = r.json()
    assert to_county["from_region_code"] == "360112"

    async def counts(c: Any) -> tuple[int, int]:
        r = await c.get(f"{REQUESTS}/counts")
        assert r.status_code == 200, r.text
        return r.json()["incoming_open"], r.json()["outgoing_open"]

    async def box(c: Any, which: str, **query: Any) -> list[int]:
        r = await c.get(REQUESTS, params={"box": which, **query})
        assert r.status_code == 200, r.text
        assert "limit" in query or r.json()["total"] == len(r.json()["items"])
        return [x["id"] for x in r.json()["items"]]

    assert await counts(w.county) == (1, 1)
    assert await counts(w.xjq) == (0, 1)
    assert await counts(w.city) == (2, 2), "the city's scope holds both counties: what they send and receive"
    assert await counts(client) == (2, 2)
    assert await box(w.county, "incoming") == [to_county["id"]]
    assert await box(w.county, "outgoing") == [to_city["id"]]
    assert sorted(await box(w.county, "all")) == sorted([to_city["id"], to_county["id"]])
    assert await box(w.xjq, "incoming") == []
    assert await box(w.xjq, "outgoing") == [to_county["id"]]
    assert await box(w.ncx_keeper, "incoming") == [to_county["id"]], "a keeper reads his unit's requests"
    assert await box(await client_as("commander", "ganzhou", scope_regions=["3607"]), "all") == []

    bags, tents = (ln["id"] for ln in to_city["lines"])
    r = await w.city.post(f"{REQUESTS}/{to_city['id']}/accept", json=accept_body(
        {"line_id": bags, "quantity": 60, "from_location_id": w.xjq_depot}))
    assert r.status_code == 200, r.text
    partly = r.json()
    assert (partly["status"], partly["outcome"], partly["outcome_zh"]) == ("open", "partly", "部分同意")
    assert [(ln["status"], ln["accepted"], ln["declined"], ln["open"]) for ln in partly["lines"]] == [
        ("partly", 60, 0, 40), ("pending", 0, 0, 20)]
    assert await counts(w.county) == (1, 1), "still open"

    r = await w.city.post(f"{REQUESTS}/{to_city['id']}/decline", json={"reason": "市级储备不足，请向省厅申请"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["outcome"]) == ("answered", "partly")
    assert [(ln["status"], ln["accepted"], ln["declined"], ln["open"]) for ln in done["lines"]] == [
        ("partly", 60, 40, 0), ("declined", 0, 20, 0)]
    assert [a["kind"] for a in done["answers"]] == ["accept", "decline"]
    assert [(al["line_id"], al["quantity"]) for al in done["answers"][1]["lines"]] == [(bags, 40), (tents, 20)]
    assert done["answers"][1]["dispatch_id"] is None

    assert await counts(w.county) == (1, 0)
    assert await counts(w.city) == (1, 1)
    assert await box(w.county, "outgoing", status="answered") == [to_city["id"]]
    assert await box(w.county, "outgoing", status="open") == []
    assert await box(w.city, "all") == [to_county["id"], to_city["id"]], "open ones first"
    assert await box(w.county, "all", incident=w.incident, limit=1) == [to_county["id"]]


async def test_an_oral_acceptance_owes_its_paperwork_in_48_hours_and_a_retry_creates_one_order(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await w.county.post(REQUESTS, json=request_body(w, to_region="360112"))
    assert r.status_code == 201, r.text
    request_id, line = r.json()["id"], r.json()["lines"][0]["id"]
    accept = f"{REQUESTS}/{request_id}/accept"
    await refused(db, w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 50}, approval={
        "mode": "written", "approved_by": "区长"})), 422, "approval.document_no")
    headers = {"Idempotency-Key": "accept-xjq-0001"}
    body = accept_body({"line_id": line, "quantity": 50}, approval={"mode": "oral", "approved_by": "区防指 陈指挥长"})
    first = await w.xjq.post(accept, json=body, headers=headers)
    again = await w.xjq.post(accept, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json() and again.headers.get("Idempotent-Replayed")
    [answer] = first.json()["answers"]
    assert answer["approval_mode"] == "oral"
    d = (await client.get(f"/api/v1/dispatches/{answer['dispatch_id']}")).json()
    assert d["approved_by"] == "区防指 陈指挥长"
    assert at(d["paperwork_due_at"]) - at(d["ordered_at"]) == dt.timedelta(hours=48)
    assert at(answer["paperwork_due_at"]) == at(d["paperwork_due_at"])
    assert (await client.get("/api/v1/dispatches", params={"incident": w.incident})).json()["total"] == 1
    seen = (await w.county.get(f"{REQUESTS}/{request_id}")).json()
    assert [(ln["accepted"], ln["open"]) for ln in seen["lines"]] == [(50, 150)]
    assert len(seen["answers"]) == 1
    # A written acceptance owes nothing.
    r = await w.xjq.post(accept, json=accept_body({"line_id": line, "quantity": 10}, approval={
        "mode": "written", "approved_by": "区长", "document_no": "新应急〔2026〕7号"}))
    assert r.status_code == 200, r.text
    written = r.json()["answers"][1]
    assert (written["approval_mode"], written["paperwork_due_at"]) == ("written", None)


# --------------------------------------------------------------------------- concurrency


async def test_two_commanders_accepting_the_same_open_line_at_once_never_give_more_than_asked(
    client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    city2 = await client_as("commander", "nc-city-duty", scope_regions=["3601"])
    r = await w.county.post(REQUESTS, json=request_body(w, lines=[{"item_type": "BAG", "quantity": 100}]))
    assert r.status_code == 201, r.text
    request_id, line = r.json()["id"], r.json()["lines"][0]["id"]
    body = accept_body({"line_id": line, "quantity": 100, "from_location_id": w.xjq_depot})
    answers = await asyncio.gather(*(c.post(f"{REQUESTS}/{request_id}/accept", json=body) for c in (w.city, city2)))
    assert sorted(a.status_code for a in answers) in ([200, 409], [200, 422]), [a.text for a in answers]
    seen = (await client.get(f"{REQUESTS}/{request_id}")).json()
    assert [(ln["accepted"], ln["open"]) for ln in seen["lines"]] == [(100, 0)]
    assert len(seen["answers"]) == 1
    assert (await client.get("/api/v1/dispatches", params={"incident": w.incident})).json()["total"] == 1
    assert await on_hand(w, w.xjq_depot, w.bag) == (300, 100)

    # Two parts that together exceed what is open: one is given, the other is more than is left.
    r = await w.county.post(REQUESTS, json=request_body(w, lines=[{"item_type": "BAG", "quantity": 100}]))
    request_id, line = r.json()["id"], r.json()["lines"][0]["id"]
    body = accept_body({"line_id": line, "quantity": 60, "from_location_id": w.xjq_depot})
    answers = await asyncio.gather(*(c.post(f"{REQUESTS}/{request_id}/accept", json=body) for c in (w.city, city2)))
    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    seen = (await client.get(f"{REQUESTS}/{request_id}")).json()
    assert [(ln["accepted"], ln["open"]) for ln in seen["lines"]] == [(60, 40)]
    assert await on_hand(w, w.xjq_depot, w.bag) == (300, 160)


async def test_an_acceptance_naming_no_source_never_gives_the_requester_his_own_stock(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    r = await created(w.county, REQUESTS, request_body(w, lines=[{"item_type": "BAG", "quantity": 250}]))
    line = r["lines"][0]["id"]
    # 南昌县's own depot is nearest the incident and in the city's scope, but 南昌县 asked because it is short:
    # the city gives from 新建区.
    accepted = (await w.city.post(f"{REQUESTS}/{r['id']}/accept", json=accept_body(
        {"line_id": line, "quantity": 250}))).json()
    dispatch = (await w.admin.get(f"/api/v1/dispatches/{accepted['answers'][0]['dispatch_id']}")).json()
    assert {ln["location_id"] for ln in dispatch["lines"]} == {w.xjq_depot}
    assert sum(ln["quantity"] for ln in dispatch["lines"]) == 250
    assert await on_hand(w, w.ncx, w.bag) == (STOCK["ncx_bags"], 0)


async def test_an_acceptance_beyond_the_stock_outside_the_requesting_unit_is_a_409(
    db: Database, client: Any, client_as: Any,
) -> None:
    w = await world(client, client_as)
    more = STOCK["xjq_bags"] + 50  # 新建区 has 300; with 南昌县's 100 the city's scope would hold 400
    r = await created(w.county, REQUESTS, request_body(w, lines=[{"item_type": "BAG", "quantity": more}]))
    problem = await refused(db, w.city.post(f"{REQUESTS}/{r['id']}/accept", json=accept_body(
        {"line_id": r["lines"][0]["id"], "quantity": more})), 409)
    assert problem["shortfall"] == [{"line": 0, "item_type_id": w.bag, "item_name": "编织袋", "requested": more,
                                     "available": STOCK["xjq_bags"], "shortfall": 50}]
