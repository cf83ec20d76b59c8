"""Pre-positioning plans over HTTP: the workflow with the keeper's scan page and transfer receipt, refusals,
retries of a write with the same Idempotency-Key, coverage and the audit log."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from inventory.store.db import Database
from inventory.store.models import RiskNeed, RiskPoint
from tests.api.helpers import assert_problem, item_type_body, location_body
from tests.api.test_leases_http import assert_verified
from tests.api.test_scan_pages_http import phone_as  # noqa: F401  (the signed-in phone fixture)

PLANS = "/api/v1/plans"


@dataclass
class Site:
    """南昌县's depot with 20 tents and two pumps, a staging site at 向塘, 东湖区's depot; three people."""

    depot: int
    staging: int
    other: int
    tent: int
    pump: int
    units: list[dict[str, Any]]
    author: Any
    approver: Any
    keeper: Any


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(admin: Any, client_as: Any) -> Site:
    depot = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    staging = (await created(admin, "/api/v1/locations", location_body(
        "S-XT", name="向塘镇前置点", kind="staging", lat=28.45, lon=115.98)))["id"]
    other = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90)))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    units = [await created(admin, "/api/v1/assets", {"item_type_id": pump, "serial_number": f"BC-{i}",
                                                     "location_id": depot}) for i in (1, 2)]
    for where in (depot, other):
        await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": where, "lines": [
            {"item_type_id": tent, "quantity": 20, "lot": {"number": "L1"}}]})
    return Site(depot, staging, other, tent, pump, units,
                await client_as("commander", "zhang", scope_regions=["360121"]),
                await client_as("commander", "li", scope_regions=["3601"]),
                await client_as("keeper", "wang", scope_regions=["360121"]))


def plan_body(s: Site, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "2027年主汛期向塘前置", "region_code": "360121", "season": "2027年主汛期",
                            "lines": [
        {"from_location_id": s.depot, "to_location_id": s.staging, "item_type_id": s.tent, "quantity": 12},
        {"from_location_id": s.depot, "to_location_id": s.staging, "item_type_id": s.pump,
         "asset_ids": [s.units[0]["id"]]}]}
    body.update(over)
    return body


async def stock(client: Any, location: int, item: int) -> tuple[int, int]:
    """(on hand, in transit)."""
    r = await client.get("/api/v1/stock", params={"location_id": location, "item_type_id": item})
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    return sum(x["on_hand"] for x in rows), sum(x["in_transit"] for x in rows)


async def test_a_plan_is_approved_by_another_commander_executed_received_by_scan_and_recalled(
        client: Any, client_as: Any, db: Database, phone_as: Any) -> None:  # noqa: F811
    s = await make_site(client, client_as)
    plan = await created(s.author, PLANS, plan_body(s))
    assert (plan["status"], plan["target_minutes"], plan["author"]) == ("draft", 360, "zhang")
    r = await s.author.patch(f"{PLANS}/{plan['id']}", json={"note": "向塘圩堤"})
    assert r.status_code == 200 and r.json()["note"] == "向塘圩堤"
    body = assert_problem(await s.author.post(f"{PLANS}/{plan['id']}/approve"), 403)
    assert "本人" in body["detail"]
    r = await s.approver.post(f"{PLANS}/{plan['id']}/approve")
    assert r.status_code == 200 and (r.json()["status"], r.json()["approved_by"]) == ("approved", "li")
    assert_problem(await s.author.patch(f"{PLANS}/{plan['id']}", json={"note": "再改"}), 409)

    # Executed twice with one key (a retry after a lost answer): one transfer, the same answer.
    key = {"Idempotency-Key": "plan-execute-1"}
    first = await s.approver.post(f"{PLANS}/{plan['id']}/execute", headers=key)
    again = await s.approver.post(f"{PLANS}/{plan['id']}/execute", headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    executing = first.json()
    assert executing["status"] == "executing"
    [transfer] = {ln["transfer_id"] for ln in executing["lines"]}
    moving = (await client.get("/api/v1/transfers", params={"status": "in_transit"})).json()
    assert [t["id"] for t in moving["items"]] == [transfer]
    assert await stock(client, s.depot, s.tent) == (8, 0)
    assert await stock(client, s.staging, s.tent) == (0, 12)
    assert_problem(await s.approver.post(f"{PLANS}/{plan['id']}/execute"), 409)

    # The keeper at the staging site signs for the pump on its scan page and receives the tents.
    phone = await phone_as("wang-phone", "keeper", ["360121"])
    label = s.units[0]["label_code"]
    r = await phone.send(label, "receive_transfer")
    assert r.status_code == 303 and r.headers["location"] == f"/s/{label}?done=receive_transfer", r.text
    assert (await client.get(f"{PLANS}/{plan['id']}")).json()["status"] == "executing"
    r = await s.keeper.post(f"/api/v1/transfers/{transfer}/receive", json={"lines": [
        {"item_type_id": s.tent, "quantity": 12}]})
    assert r.status_code == 201, r.text
    placed = (await client.get(f"{PLANS}/{plan['id']}")).json()
    assert (placed["status"], placed["status_zh"]) == ("in_place", "已就位") and placed["in_place_at"]
    assert [(ln["transfer_status"], ln["received"]) for ln in placed["lines"]] == [("received", 12), ("received", 1)]
    listed = (await s.keeper.get(PLANS, params={"status": "in_place", "region": "3601"})).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]] and listed["items"][0]["line_count"] == 2
    coverage = await s.keeper.get(f"{PLANS}/{plan['id']}/coverage")
    assert coverage.status_code == 200 and coverage.json()["sites"][0]["location_id"] == s.staging

    r = await s.approver.post(f"{PLANS}/{plan['id']}/recall", json={"reason": "汛期结束"})
    assert r.status_code == 200, r.text
    recalled = r.json()
    assert recalled["status"] == "recalled" and [ln["recalled"] for ln in recalled["lines"]] == [12, 1]
    [back] = {ln["recall_transfer_id"] for ln in recalled["lines"]}
    r = await s.keeper.post(f"/api/v1/transfers/{back}/receive", json={})
    assert r.status_code == 201, r.text
    assert await stock(client, s.depot, s.tent) == (20, 0)
    unit = (await client.get(f"/api/v1/assets/{s.units[0]['id']}")).json()
    assert (unit["status"], unit["location_id"]) == ("available", s.depot)
    await assert_verified(db)
    audit = (await client.get("/api/v1/audit", params={"target": f"plan:{plan['id']}", "limit": 50})).json()
    actions = sorted(e["action"] for e in audit["items"] if e["outcome"] == "ok")
    assert actions == ["plans.approve", "plans.execute", "plans.execute", "plans.write", "plans.write"]
    replayed = (await client.get("/api/v1/audit", params={"action": "plans.execute", "outcome": "replayed"})).json()
    assert replayed["total"] == 1


async def test_refusals_name_the_shortfall_the_scope_and_the_role(client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    assert_problem(await s.keeper.post(PLANS, json=plan_body(s)), 403)
    assert_problem(await s.author.post(PLANS, json=plan_body(s, region_code="360102")), 403)
    body = plan_body(s, lines=[{"from_location_id": s.other, "to_location_id": s.staging, "item_type_id": s.tent,
                                "quantity": 1}])
    assert_problem(await s.author.post(PLANS, json=body), 403)
    too_many = plan_body(s, lines=[{"from_location_id": s.depot, "to_location_id": s.staging,
                                    "item_type_id": s.tent, "quantity": 25}])
    problem = assert_problem(await s.author.post(PLANS, json=too_many), 409, "lines.0.quantity")
    assert "缺 5顶" in problem["detail"] and "南昌县综合应急物资储备库" in problem["detail"]
    assert [(x["location_id"], x["item_type_id"], x["requested"], x["available"], x["shortfall"])
            for x in problem["shortfall"]] == [(s.depot, s.tent, 25, 20, 5)]
    assert (await client.get(PLANS)).json()["total"] == 0
    assert_problem(await s.author.post(PLANS, json=plan_body(s, target_minutes=0)), 422, "target_minutes")

    plan = await created(s.author, PLANS, plan_body(s))
    assert_problem(await s.approver.post(f"{PLANS}/{plan['id']}/execute"), 409)
    assert_problem(await s.keeper.post(f"{PLANS}/{plan['id']}/approve"), 403)
    assert_problem(await s.approver.post(f"{PLANS}/{plan['id']}/recall", json={}), 409)
    far = await client_as("commander", "gan", scope_regions=["3607"])
    assert_problem(await far.post(f"{PLANS}/{plan['id']}/approve"), 403)
    assert_problem(await client.get(f"{PLANS}/999999"), 404)
    assert (await client.get(f"{PLANS}/{plan['id']}")).json()["status"] == "draft"
    assert (await client.get(PLANS, params={"status": "approved"})).json()["total"] == 0


async def test_coverage_over_http_counts_the_staged_stock_for_the_points_near_it(
        client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    async with db.write() as session:
        near = RiskPoint(code="NCX-1", name="向塘圩堤", kind="embankment", region_code="360121", lat=28.46,
                         lon=115.98, weight=500, note="", created_by="test")
        far = RiskPoint(code="NCX-2", name="远处村庄", kind="village", region_code="360121", lat=25.9, lon=114.9,
                        weight=100, note="", created_by="test")
        session.add_all([near, far])
        await session.flush()
        session.add_all([RiskNeed(risk_point_id=near.id, item_type_id=s.tent, quantity=18),
                         RiskNeed(risk_point_id=far.id, item_type_id=s.tent, quantity=1)])
    plan = await created(s.author, PLANS, plan_body(s, lines=plan_body(s)["lines"][:1]))  # 12 tents to 向塘
    r = await s.author.get(f"{PLANS}/{plan['id']}/coverage")
    assert r.status_code == 200, r.text
    c = r.json()
    points = {p["code"]: p for p in c["points"]}
    # 向塘圩堤 (1 km from the staging site, 10 km from the depot) needs 18 tents: the 12 staged, then 6 of the 8
    # left at the depot; 东湖区's stock is outside the plan's region. The village 300 km away is beyond 6 h.
    near_need = points["NCX-1"]["needs"][0]
    assert points["NCX-1"]["covered"] and near_need["covered"] == 18
    assert [(src["location_id"], src["quantity"]) for src in near_need["sources"]] == [(s.staging, 12), (s.depot, 6)]
    assert not points["NCX-2"]["covered"] and points["NCX-2"]["needs"][0]["shortfall"] == 1
    assert points["NCX-2"]["nearest_minutes"] > 360
    assert (c["total_weight"], c["covered_weight"], c["target_minutes"]) == (600, 500, 360)
    assert_problem(await s.author.get(f"{PLANS}/999999/coverage"), 404)


async def test_two_executions_at_once_post_the_plan_s_transfers_once(client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    plan = await created(s.author, PLANS, plan_body(s))
    assert (await s.approver.post(f"{PLANS}/{plan['id']}/approve")).status_code == 200
    other = await client_as("commander", "zhao", scope_regions=["360121"])
    answers = await asyncio.gather(s.approver.post(f"{PLANS}/{plan['id']}/execute"),
                                   other.post(f"{PLANS}/{plan['id']}/execute"))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    moving = (await client.get("/api/v1/transfers", params={"status": "in_transit"})).json()
    assert moving["total"] == 1
    assert await stock(client, s.depot, s.tent) == (8, 0)
    await assert_verified(db)
