"""Write-off requests over HTTP: request, list, approve, reject, cancel; idempotency, 409s, scope and audit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api.helpers import assert_problem, item_type_body, location_body

WRITE_OFFS = "/api/v1/write-offs"
MOVEMENTS = "/api/v1/movements"


@dataclass
class Site:
    """南昌县's depot with 20 tents and a pump, 东湖区's depot; a keeper of 南昌县 and a commander of 南昌市."""

    depot: int
    other: int
    tent: int
    pump: int
    unit: int
    keeper: Any
    chief: Any


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(admin: Any, client_as: Any) -> Site:
    """Everything through the API."""
    depot = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    other = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90)))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    unit = (await created(admin, "/api/v1/assets", {"item_type_id": pump, "serial_number": "BC-1",
                                                     "location_id": depot}))["id"]
    for where in (depot, other):
        await created(admin, MOVEMENTS, {"kind": "receipt", "location_id": where,
                                         "lines": [{"item_type_id": tent, "quantity": 20}]})
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    chief = await client_as("commander", "chief", scope_regions=["3601"])
    return Site(depot, other, tent, pump, unit, keeper, chief)


def body(location: int, item: int, quantity: int, reason: str = "霉变", **line: Any) -> dict[str, Any]:
    """A one-line write-off request."""
    return {"location_id": location, "lines": [{"item_type_id": item, "quantity": quantity, **line}], "reason": reason}


async def stock(client: Any, location: int, item: int) -> tuple[int, int]:
    """(on hand, reserved) as GET /stock tells it."""
    r = await client.get("/api/v1/stock", params={"location_id": location, "item_type_id": item})
    assert r.status_code == 200, r.text
    [row] = r.json()["items"]
    return row["on_hand"], row["reserved"]


async def write_off_movements(client: Any) -> int:
    """How many movements 报废单 have posted."""
    r = await client.get(MOVEMENTS, params={"kind": "write_off", "limit": 1})
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


async def test_a_keeper_requests_a_write_off_and_a_commander_approves_it(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    r = await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 3, reason="仓库漏雨霉变"))
    assert r.status_code == 201, r.text
    pending = r.json()
    assert (pending["status"], pending["requested_by"], pending["reason"], pending["document_id"]) == (
        "pending", "wang", "仓库漏雨霉变", None)
    assert pending["lines"] == [{"item_type_id": s.tent, "location_id": s.depot, "lot_id": None, "asset_id": None,
                                 "quantity": 3}]
    assert pending["reservation_document_id"]
    assert await stock(client, s.depot, s.tent) == (20, 3)
    assert await write_off_movements(client) == 0
    listed = (await s.chief.get(WRITE_OFFS, params={"status": "pending"})).json()
    assert [(i["id"], i["status"]) for i in listed["items"]] == [(pending["id"], "pending")]
    assert (await s.chief.get(f"{WRITE_OFFS}/{pending['id']}")).json() == pending

    r = await s.chief.post(f"{WRITE_OFFS}/{pending['id']}/approve")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert (approved["status"], approved["decided_by"]) == ("approved", "chief")
    assert approved["document_number"].startswith("BF")
    document = (await client.get(f"/api/v1/documents/{approved['document_id']}")).json()
    assert (document["kind"], document["actor"], document["approver"], document["number"]) == (
        "write_off", "wang", "chief", approved["document_number"])
    assert await stock(client, s.depot, s.tent) == (17, 0)
    again = assert_problem(await s.chief.post(f"{WRITE_OFFS}/{pending['id']}/approve"), 409)
    assert again["request_status"] == "approved"
    assert "已批准" in again["detail"]
    assert await write_off_movements(client) == 1
    assert (await client.get(WRITE_OFFS, params={"status": "pending"})).json()["total"] == 0


async def test_a_retried_approval_with_its_idempotency_key_answers_the_first_response_and_posts_once(
    client: Any, client_as: Any,
) -> None:
    s = await make_site(client, client_as)
    key = {"Idempotency-Key": "wo-request-1"}
    first = await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 2), headers=key)
    replay = await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 2), headers=key)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    assert (await client.get(WRITE_OFFS)).json()["total"] == 1
    approve = f"{WRITE_OFFS}/{first.json()['id']}/approve"
    answers = [await s.chief.post(approve, headers={"Idempotency-Key": "wo-approve-1"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, "true", "true"]
    assert answers[1].json() == answers[0].json()
    assert await write_off_movements(client) == 1
    assert await stock(client, s.depot, s.tent) == (18, 0)
    assert_problem(await s.chief.post(approve, headers={"Idempotency-Key": "wo-approve-2"}), 409)


async def test_a_rejection_needs_a_reason_frees_the_stock_and_blocks_a_later_approval(
    client: Any, client_as: Any,
) -> None:
    s = await make_site(client, client_as)
    req = (await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.pump, 1, asset_ids=[s.unit]))).json()
    assert (await client.get(f"/api/v1/assets/{s.unit}")).json()["status"] == "reserved"
    reject = f"{WRITE_OFFS}/{req['id']}/reject"
    assert_problem(await s.chief.post(reject, json={}), 422, "reason")
    assert_problem(await s.chief.post(reject, json={"reason": ""}), 422, "reason")
    assert_problem(await s.chief.post(reject, json={"reason": "   "}), 422, "reason")
    r = await s.chief.post(reject, json={"reason": "尚可修复，送厂家检修"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["rejection_reason"]) == ("rejected", "尚可修复，送厂家检修")
    assert (await client.get(f"/api/v1/assets/{s.unit}")).json()["status"] == "available"
    body_409 = assert_problem(await s.chief.post(f"{WRITE_OFFS}/{req['id']}/approve"), 409)
    assert "已驳回" in body_409["detail"]
    assert await write_off_movements(client) == 0


async def test_only_the_requester_cancels_and_a_keeper_cannot_approve(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    colleague = await client_as("keeper", "zhao", scope_regions=["360121"])
    req = (await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 5))).json()
    assert_problem(await colleague.post(f"{WRITE_OFFS}/{req['id']}/cancel"), 403)
    assert_problem(await colleague.post(f"{WRITE_OFFS}/{req['id']}/approve"), 403)
    assert_problem(await s.keeper.post(f"{WRITE_OFFS}/{req['id']}/approve"), 403)
    r = await s.keeper.post(f"{WRITE_OFFS}/{req['id']}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert await stock(client, s.depot, s.tent) == (20, 0)
    assert_problem(await s.keeper.post(f"{WRITE_OFFS}/{req['id']}/cancel"), 409)


async def test_requests_outside_scope_bad_bodies_and_unknown_ids_are_refused_and_change_nothing(
    client: Any, client_as: Any,
) -> None:
    s = await make_site(client, client_as)
    assert_problem(await s.keeper.post(WRITE_OFFS, json=body(s.other, s.tent, 1)), 403)
    assert_problem(await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 0)), 422, "lines.0.quantity")
    assert_problem(await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 1, reason="")), 422, "reason")
    assert_problem(await s.keeper.post(WRITE_OFFS, json={**body(s.depot, s.tent, 1), "approver": "chief"}), 422,
                   "approver")
    assert_problem(await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 21)), 409, "lines.0.quantity")
    assert_problem(await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.pump, 1)), 422, "lines.0.asset_ids")
    assert_problem(await s.chief.post(WRITE_OFFS, json=body(s.depot, s.tent, 1)), 403)  # commanders do not request
    for verb in ("approve", "cancel"):
        assert_problem(await client.post(f"{WRITE_OFFS}/987654/{verb}"), 404)
    assert_problem(await client.get(f"{WRITE_OFFS}/987654"), 404)
    assert_problem(await client.get(WRITE_OFFS, params={"status": "lost"}), 422)
    assert (await client.get(WRITE_OFFS)).json()["total"] == 0
    assert await stock(client, s.depot, s.tent) == (20, 0)


async def test_every_decision_is_in_the_audit_log(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    req = (await s.keeper.post(WRITE_OFFS, json=body(s.depot, s.tent, 1))).json()
    assert_problem(await s.keeper.post(f"{WRITE_OFFS}/{req['id']}/approve"), 403)
    assert (await s.chief.post(f"{WRITE_OFFS}/{req['id']}/approve")).status_code == 200
    r = await client.get("/api/v1/audit", params={"target": f"writeoff:{req['id']}", "limit": 50})
    assert r.status_code == 200, r.text
    entries = r.json()["items"]
    assert [(e["username"], e["action"], e["outcome"], e["status_code"]) for e in reversed(entries)] == [
        ("wang", "movements.post", "ok", 201), ("chief", "writeoffs.approve", "ok", 200)]
    refused = (await client.get("/api/v1/audit", params={"user": "wang", "outcome": "denied"})).json()["items"]
    assert [(e["action"], e["path"]) for e in refused] == [("writeoffs.approve", f"{WRITE_OFFS}/{req['id']}/approve")]
