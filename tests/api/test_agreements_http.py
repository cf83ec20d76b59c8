"""Agreement reserves (协议储备) over HTTP: record, list, filter, checks and drills, call-offs by dispatch, errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from inventory.agreements.queries import add_month
from inventory.clock import beijing_today
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from tests.api.helpers import assert_problem, item_type_body, location_body

AGREEMENTS = "/api/v1/agreements"
NEAREST = "/api/v1/availability/nearest"
TODAY = beijing_today()  # the agreements count days by the server's date
INCIDENT_AT = {"lat": 28.50, "lon": 115.95}


@dataclass
class Site:
    """A firm's warehouse in 南昌县 and one in 东湖区, a depot, water and pumps, an incident in 南昌县."""

    market: int
    far_market: int
    depot: int
    water: int
    pump: int
    incident: int
    commander: Any


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(admin: Any, client_as: Any) -> Site:
    market = (await created(admin, "/api/v1/locations", location_body(
        "V-MKT", name="南昌县某超市配送中心", kind="vendor", lat=28.54, lon=115.93)))["id"]
    far_market = (await created(admin, "/api/v1/locations", location_body(
        "V-DHQ", name="东湖区某粮油公司", kind="vendor", region_code="360102", lat=28.68, lon=115.90)))["id"]
    depot = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    water = (await created(admin, "/api/v1/item-types", item_type_body(
        "WATER", name="瓶装饮用水", unit="箱", tracking="bulk", category="living", gbt_code=None, attributes={},
        tags=[])))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    incident = (await created(admin, "/api/v1/incidents", {"name": "向塘镇圩堤管涌", "kind": "flood",
                                                           "region_code": "360121", **INCIDENT_AT}))["id"]
    commander = await client_as("commander", "cmd-ncx", scope_regions=["360121"])
    return Site(market, far_market, depot, water, pump, incident, commander)


def days(n: int) -> str:
    return str(TODAY + dt.timedelta(days=n))


def agreement_body(s: Site, **over: Any) -> dict[str, Any]:
    """A physical agreement for 200 cases of water at 南昌县's supermarket, valid since 100 days, 6 hours' response."""
    body: dict[str, Any] = {
        "number": "XY-2026-01", "name": "生活物资协议代储", "vendor_location_id": s.market, "kind": "physical",
        "valid_from": days(-100), "valid_until": days(200), "response_hours": 6, "check_interval_days": 365,
        "lines": [{"item_type_id": s.water, "quantity": 200}], "contact_name": "周经理",
        "contact_phone": "13900000000",
    }
    body.update(over)
    return body


def order(line: dict[str, Any]) -> dict[str, Any]:
    return {"lines": [line], "approval": {"mode": "oral", "approved_by": "县防指 王副指挥长"}}


async def listed(client: Any, **params: Any) -> list[str]:
    r = await client.get(AGREEMENTS, params=params)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == len(page["items"])
    return [a["number"] for a in page["items"]]


async def test_agreements_are_recorded_listed_by_status_and_filtered(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    valid = await created(s.commander, AGREEMENTS, agreement_body(s))
    assert (valid["status"], valid["vendor_name"], valid["created_by"]) == ("valid", "南昌县某超市配送中心", "cmd-ncx")
    assert valid["days_left"] == 200 and valid["response_hours"] == 6
    assert [(ln["item_code"], ln["quantity"], ln["outstanding"], ln["available"]) for ln in valid["lines"]] == [
        ("WATER", 200, 0, 200)]
    await created(client, AGREEMENTS, agreement_body(s, number="XY-OLD", valid_from=days(-400), valid_until=days(-1)))
    await created(client, AGREEMENTS, agreement_body(s, number="XY-SOON", valid_until=days(10)))
    await created(client, AGREEMENTS, agreement_body(s, number="XY-NEXT", valid_from=days(1), valid_until=days(300)))
    await created(client, AGREEMENTS, agreement_body(
        s, number="CN-01", name="排涝泵产能储备", kind="capacity", vendor_location_id=s.far_market,
        check_interval_days=30, response_hours=24, lines=[{"item_type_id": s.pump, "quantity": 5}]))

    # Expiring first, then valid, pending, expired.
    assert await listed(client) == ["XY-SOON", "XY-2026-01", "CN-01", "XY-NEXT", "XY-OLD"]
    assert await listed(client, status="valid") == ["XY-2026-01", "CN-01"]  # the expired one never
    assert await listed(client, status="expired") == ["XY-OLD"]
    assert await listed(client, status="expiring") == ["XY-SOON"]
    assert await listed(client, status="pending") == ["XY-NEXT"]
    assert await listed(client, kind="capacity") == ["CN-01"]
    assert await listed(client, item_type_id=s.pump) == ["CN-01"]
    assert await listed(client, vendor="东湖区") == ["CN-01"]
    assert await listed(client, vendor="SOON") == ["XY-SOON"]
    # CN-01 was due a check 70 days ago (every 30 days since it began, never checked); the others every year.
    assert await listed(client, check_due="true") == ["CN-01"]
    assert "CN-01" not in await listed(client, check_due="false")
    page = (await client.get(AGREEMENTS, params={"limit": 2, "offset": 1})).json()
    assert (page["total"], [a["number"] for a in page["items"]]) == (5, ["XY-2026-01", "CN-01"])

    one = await s.commander.get(f"{AGREEMENTS}/{valid['id']}")
    assert one.status_code == 200 and one.json() == valid
    assert (await s.commander.get(f"{AGREEMENTS}/{valid['id'] + 1000}")).status_code == 404
    assert_problem(await client.get(AGREEMENTS, params={"status": "lapsed"}), 422, "status")
    assert_problem(await client.get(AGREEMENTS, params={"vendor": "x" * 101}), 422, "vendor")


async def test_bad_agreements_are_refused_naming_the_field_and_nothing_is_recorded(
        client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    await created(s.commander, AGREEMENTS, agreement_body(s))
    r = await s.commander.post(AGREEMENTS, json=agreement_body(s, number="X1", valid_from=days(0),
                                                               valid_until=days(-1)))
    assert_problem(r, 422, "valid_until")
    r = await s.commander.post(AGREEMENTS, json=agreement_body(s, number="X2", vendor_location_id=s.depot))
    assert "vendor" in assert_problem(r, 422, "vendor_location_id")["detail"]
    r = await s.commander.post(AGREEMENTS, json=agreement_body(s, number="X3", lines=[
        {"item_type_id": s.water, "quantity": 1}, {"item_type_id": 99999, "quantity": 1}]))
    assert_problem(r, 422, "lines.1.item_type_id")
    r = await s.commander.post(AGREEMENTS, json=agreement_body(s))
    assert "XY-2026-01" in assert_problem(r, 409, "number")["detail"]
    assert await listed(client) == ["XY-2026-01"]


async def test_only_admins_and_commanders_in_scope_record_agreements_checks_and_settlements(
        client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    far_commander = await client_as("commander", "cmd-dhq", scope_regions=["360102"])
    far_keeper = await client_as("keeper", "zhao", scope_regions=["360102"])
    assert_problem(await keeper.post(AGREEMENTS, json=agreement_body(s)), 403)
    r = await far_commander.post(AGREEMENTS, json=agreement_body(s))
    assert "辖区" in assert_problem(r, 403)["detail"]
    assert_problem(await far_keeper.post(AGREEMENTS, json=agreement_body(s)), 403)
    assert await listed(client) == []
    a = await created(s.commander, AGREEMENTS, agreement_body(s))
    check = {"checked_on": days(0), "method": "regular", "result": "pass"}
    for who in (keeper, far_commander, far_keeper):
        assert_problem(await who.post(f"{AGREEMENTS}/{a['id']}/checks", json=check), 403)
        assert_problem(await who.post(f"{AGREEMENTS}/{a['id']}/calloffs/1/settle", json={}), 403)
    assert (await client.get(f"{AGREEMENTS}/{a['id']}/checks")).json() == []
    # Reading is open to everyone signed in: an emergency crosses county lines.
    for who in (keeper, far_commander, far_keeper):
        assert (await who.get(f"{AGREEMENTS}/{a['id']}")).status_code == 200
        assert await listed(who) == ["XY-2026-01"]
    r = await far_commander.post(AGREEMENTS, json=agreement_body(s, number="DH-01", vendor_location_id=s.far_market))
    assert r.status_code == 201, r.text


async def test_a_retried_post_with_the_same_idempotency_key_applies_once(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    headers = {"Idempotency-Key": "agreement-retry-0001"}
    first = await s.commander.post(AGREEMENTS, json=agreement_body(s), headers=headers)
    again = await s.commander.post(AGREEMENTS, json=agreement_body(s), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers.get("Idempotent-Replayed")
    assert (await client.get(AGREEMENTS)).json()["total"] == 1
    a = first.json()["id"]
    check = {"checked_on": days(0), "method": "spot", "result": "pass"}
    check_headers = {"Idempotency-Key": "agreement-check-0001"}
    one = await s.commander.post(f"{AGREEMENTS}/{a}/checks", json=check, headers=check_headers)
    two = await s.commander.post(f"{AGREEMENTS}/{a}/checks", json=check, headers=check_headers)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert len((await client.get(f"{AGREEMENTS}/{a}/checks")).json()) == 1


async def test_a_drill_shows_the_measured_response_time_beside_the_promised_one(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    a = await created(s.commander, AGREEMENTS, agreement_body(s, response_hours=6))
    line = a["lines"][0]["id"]
    path = f"{AGREEMENTS}/{a['id']}/checks"
    late = await created(s.commander, path, {
        "checked_on": days(-10), "method": "drill", "result": "deficient", "deficiency": "晚到 1.5 小时",
        "requested_at": "2026-06-01T08:00:00+08:00", "arrived_at": "2026-06-01T15:30:00+08:00",
        "counts": [{"line_id": line, "counted": 180}]})
    assert (late["measured_response_hours"], late["promised_response_hours"], late["on_time"]) == (7.5, 6, False)
    assert [(c["line_id"], c["item_name"], c["promised"], c["counted"]) for c in late["counts"]] == [
        (line, "瓶装饮用水", 200, 180)]
    spot = await created(s.commander, path, {"checked_on": days(-5), "method": "spot", "result": "pass"})
    assert (spot["measured_response_hours"], spot["on_time"]) == (None, None)
    quick = await created(s.commander, path, {
        "checked_on": days(-1), "method": "drill", "result": "pass",
        "requested_at": "2026-07-01T08:00:00+08:00", "arrived_at": "2026-07-01T13:00:00+08:00"})
    assert (quick["measured_response_hours"], quick["on_time"]) == (5, True)
    checks = (await client.get(path)).json()
    assert [c["id"] for c in checks] == [quick["id"], spot["id"], late["id"]]
    assert checks[2] == late
    read = (await client.get(f"{AGREEMENTS}/{a['id']}")).json()
    assert read["last_check"]["id"] == read["last_drill"]["id"] == quick["id"]
    assert read["next_check_due"] == days(-1 + 365)

    r = await s.commander.post(path, json={"checked_on": days(0), "method": "drill", "result": "pass",
                                           "requested_at": "2026-07-01T08:00:00+08:00"})
    assert_problem(r, 422, "arrived_at")
    r = await s.commander.post(path, json={"checked_on": days(0), "method": "regular", "result": "fail"})
    assert_problem(r, 422, "deficiency")
    r = await s.commander.post(path, json={"checked_on": days(0), "method": "regular", "result": "pass",
                                           "counts": [{"line_id": line + 1000, "counted": 1}]})
    assert_problem(r, 422, "counts.0.line_id")
    assert_problem(await s.commander.post(f"{AGREEMENTS}/{a['id'] + 1000}/checks", json={
        "checked_on": days(0), "method": "spot", "result": "pass"}), 404)
    assert len((await client.get(path)).json()) == 3


async def test_a_dispatch_line_naming_an_agreement_reserves_from_it_and_an_expired_one_is_refused(
        client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    a = await created(s.commander, AGREEMENTS, agreement_body(s))
    old = await created(s.commander, AGREEMENTS, agreement_body(s, number="XY-OLD", valid_from=days(-400),
                                                                valid_until=days(-1)))
    dispatches = f"/api/v1/incidents/{s.incident}/dispatches"
    r = await s.commander.post(dispatches, json=order({"item_type": "WATER", "quantity": 150, "agreement_id": a["id"]}))
    assert r.status_code == 201, r.text
    (line,) = r.json()["lines"]
    assert (line["agreement_id"], line["location_id"], line["quantity"], line["state"]) == (
        a["id"], s.market, 150, "reserved")
    after = (await client.get(f"{AGREEMENTS}/{a['id']}")).json()["lines"][0]
    assert (after["outstanding"], after["available"]) == (150, 50)
    calloffs = (await client.get(f"{AGREEMENTS}/{a['id']}/calloffs")).json()
    assert [(c["state"], c["quantity"], c["dispatch_id"], c["settlement_due"]) for c in calloffs] == [
        ("reserved", 150, r.json()["id"], None)]

    total = (await client.get("/api/v1/dispatches")).json()["total"]
    r = await s.commander.post(dispatches, json=order({"item_type": "WATER", "quantity": 1, "agreement_id": old["id"]}))
    body = assert_problem(r, 409, "lines.0.agreement_id")
    assert "XY-OLD" in body["detail"] and "已过期" in body["detail"]
    r = await s.commander.post(dispatches, json=order({"item_type": "WATER", "quantity": 51, "agreement_id": a["id"]}))
    assert_problem(r, 409)  # only 50 left on the agreement
    assert (await client.get("/api/v1/dispatches")).json()["total"] == total
    assert (await client.get(f"{AGREEMENTS}/{old['id']}/calloffs")).json() == []
    assert (await client.get(f"{AGREEMENTS}/{a['id']}")).json()["lines"][0]["outstanding"] == 150
    async with db.read() as session:
        assert (await verify_ledger(session)).ok


async def test_nearest_shows_the_agreement_a_source_comes_from_and_never_an_expired_one(
        client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    a = await created(s.commander, AGREEMENTS, agreement_body(s, response_hours=6))
    await created(client, AGREEMENTS, agreement_body(s, number="XY-OLD", valid_from=days(-400), valid_until=days(-1),
                                                     vendor_location_id=s.far_market,
                                                     lines=[{"item_type_id": s.water, "quantity": 999}]))
    params = {**INCIDENT_AT, "item_type": "WATER", "quantity": 1000}
    r = await client.get(NEAREST, params=params)
    assert r.status_code == 200, r.text
    (src,) = r.json()["sources"]
    assert src["agreement"] == {"id": a["id"], "number": "XY-2026-01", "name": "生活物资协议代储",
                                "kind": "physical", "response_hours": 6}
    assert (src["location"]["id"], src["available"], src["agreement_lead_minutes"]) == (s.market, 200, 360)
    r = await client.get(NEAREST, params={**params, "include_agreement": "false"})
    assert r.json()["sources"] == []


async def test_a_call_off_falls_due_for_settlement_when_executed_and_is_settled_once(
        client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    a = await created(s.commander, AGREEMENTS, agreement_body(s))
    r = await s.commander.post(f"/api/v1/incidents/{s.incident}/dispatches",
                               json=order({"item_type": "WATER", "quantity": 40, "agreement_id": a["id"]}))
    assert r.status_code == 201, r.text
    d = r.json()["id"]
    calloffs = f"{AGREEMENTS}/{a['id']}/calloffs"
    (reserved,) = (await client.get(calloffs)).json()
    r = await s.commander.post(f"{calloffs}/{reserved['id']}/settle", json={})
    assert "尚未调用" in assert_problem(r, 409)["detail"]
    r = await client.post(f"/api/v1/dispatches/{d}/execute", json={})
    assert r.status_code == 200, r.text
    (called,) = (await client.get(calloffs)).json()
    assert called["state"] == "called_off" and called["called_at"] and called["settled_at"] is None
    assert called["settlement_due"] == str(add_month(dt.datetime.fromisoformat(called["called_at"]).date()))
    assert called["settlement_overdue"] is False
    r = await client.post(f"/api/v1/dispatches/{d}/deliver")
    assert r.status_code == 200, r.text
    (delivered,) = (await client.get(calloffs)).json()
    assert delivered["state"] == "delivered" and delivered["receipt_id"] is not None
    line = (await client.get(f"{AGREEMENTS}/{a['id']}")).json()["lines"][0]
    assert (line["outstanding"], line["available"]) == (0, 200)

    r = await s.commander.post(f"{AGREEMENTS}/{a['id'] + 1000}/calloffs/{called['id']}/settle", json={})
    assert_problem(r, 404)
    r = await s.commander.post(f"{calloffs}/{called['id'] + 1000}/settle", json={})
    assert_problem(r, 422, "calloff_id")
    r = await s.commander.post(f"{calloffs}/{called['id']}/settle", json={"note": "已付款"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == called["id"] and r.json()["settled_at"] is not None
    assert r.json()["settlement_note"] == "已付款"
    again = await s.commander.post(f"{calloffs}/{called['id']}/settle", json={})
    assert "已于" in assert_problem(again, 409)["detail"]
    assert (await client.get(calloffs)).json()[0]["settled_at"] == r.json()["settled_at"]
    assert_problem(await client.get(f"{AGREEMENTS}/{a['id'] + 1000}/calloffs"), 404)
    async with db.read() as session:
        assert (await verify_ledger(session)).ok
