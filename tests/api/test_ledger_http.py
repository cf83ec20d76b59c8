"""HTTP behaviour of the ledger: movements, documents, reversal, transfers, stock, idempotency, problems."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from inventory.clock import beijing_today
from tests.api.helpers import assert_problem, count, item_type_body, location_body

MOVEMENTS = "/api/v1/movements"


@dataclass
class Site:
    """A depot with a bin, a second depot, tents, water in lots, and two pumps at the depot."""

    depot: int
    bin: int
    jinxian: int
    tent: int
    water: int
    pump: int
    pumps: list[int]


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(client: Any) -> Site:
    """Everything through the API, as a keeper's phone would do it."""
    depot = await created(client, "/api/v1/locations", location_body("D-NCX"))
    shelf = await created(client, "/api/v1/locations", location_body(
        "D-NCX-A1", kind="bin", name="A区1号货架", parent_id=depot["id"]))
    jinxian = await created(client, "/api/v1/locations", location_body(
        "D-JXX", name="进贤县应急物资储备库", region_code="360124", lat=28.37, lon=116.24))
    tent = await created(client, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[]))
    water = await created(client, "/api/v1/item-types", item_type_body(
        "WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", gbt_code=None,
        attributes={}, tags=[], shelf_life_days=365))
    pump = await created(client, "/api/v1/item-types", item_type_body())
    pumps = [await created(client, "/api/v1/assets", {"item_type_id": pump["id"], "serial_number": f"BC-{n}",
                                                     "location_id": depot["id"]}) for n in (1, 2)]
    return Site(depot["id"], shelf["id"], jinxian["id"], tent["id"], water["id"], pump["id"],
                [p["id"] for p in pumps])


def doc(kind: str, location: int, *lines: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A document body."""
    return {"kind": kind, "location_id": location, "lines": list(lines), **kw}


def ln(item: int, qty: int, **kw: Any) -> dict[str, Any]:
    """A line body."""
    return {"item_type_id": item, "quantity": qty, **kw}


async def on_hand(client: Any, location: int, item: int, *, include_children: bool = False) -> int:
    """On hand of an item at a location, as GET /stock tells it."""
    r = await client.get("/api/v1/stock", params={"location_id": location, "item_type_id": item,
                                                  "include_children": str(include_children).lower()})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) <= 1
    return int(items[0]["on_hand"]) if items else 0


async def test_openapi_lists_the_ledger_paths(client: Any) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for p in ("/api/v1/movements", "/api/v1/stock", "/api/v1/stock/card", "/api/v1/transfers",
              "/api/v1/transfers/{transfer_id}/receive", "/api/v1/documents/{document_id}/reverse"):
        assert p in paths


async def test_a_receipt_and_an_issue_answer_201_with_the_document_and_its_movements(client: Any) -> None:
    s = await make_site(client)
    receipt = await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 100), counterparty="省储备中心"))
    assert receipt["number"].startswith("RK")
    assert [(m["bucket"], m["quantity"]) for m in receipt["movements"]] == [("on_hand", 100)]
    issue = await created(client, MOVEMENTS, doc("issue", s.depot, ln(s.tent, 30), reference="动用令 2026-07"))
    assert (issue["kind"], issue["actor"], issue["reference"]) == ("issue", "admin", "动用令 2026-07")
    assert await on_hand(client, s.depot, s.tent) == 70
    fetched = await client.get(f"/api/v1/documents/{issue['id']}")
    assert fetched.json() == issue
    assert_problem(await client.get("/api/v1/documents/99999"), 404)


async def test_issue_of_more_than_available_is_409_with_what_is_available_and_writes_nothing(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 3)))
    before = await count(client, MOVEMENTS)
    body = assert_problem(await client.post(MOVEMENTS, json=doc("issue", s.depot, ln(s.tent, 5))), 409,
                          "lines.0.quantity")
    assert (body["available"], body["requested"]) == (3, 5)
    assert "3" in body["detail"]
    assert await count(client, MOVEMENTS) == before
    assert await on_hand(client, s.depot, s.tent) == 3


async def test_bad_documents_are_422_with_the_field_at_fault_and_write_nothing(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 10)))
    cases: list[tuple[dict[str, Any], str]] = [
        (doc("issue", s.depot, ln(s.tent, 0)), "lines.0.quantity"),
        (doc("issue", s.depot, ln(s.tent, 1), ln(s.tent, -2)), "lines.1.quantity"),
        (doc("receipt", s.depot, ln(4242, 1)), "lines.0.item_type_id"),
        (doc("issue", s.depot, ln(s.tent, 1, lot_id=4242)), "lines.0.lot_id"),
        (doc("issue", s.depot, ln(s.pump, 1, asset_ids=[4242])), "lines.0.asset_ids.0"),
        (doc("receipt", 4242, ln(s.tent, 1)), "location_id"),
        (doc("issue", s.depot, ln(s.tent, 1, asset_ids=[s.pumps[0]])), "lines.0.asset_ids"),
        (doc("issue", s.depot, ln(s.pump, 1)), "lines.0.asset_ids"),
        (doc("transfer", s.depot, ln(s.tent, 1), to_location_id=s.depot), "to_location_id"),
        (doc("issue", s.depot), "lines"),
        (doc("steal", s.depot, ln(s.tent, 1)), "kind"),
        (doc("issue", s.depot, {"item_type_id": s.tent, "quantity": "many"}), "lines.0.quantity"),
        ({**doc("issue", s.depot, ln(s.tent, 1)), "colour": "red"}, "colour"),
    ]
    before = await count(client, MOVEMENTS)
    for body, field in cases:
        assert_problem(await client.post(MOVEMENTS, json=body), 422, field)
    assert await count(client, MOVEMENTS) == before
    assert await on_hand(client, s.depot, s.tent) == 10


async def test_a_unit_in_maintenance_cannot_be_issued_and_the_answer_says_why(client: Any) -> None:
    s = await make_site(client)
    r = await client.patch(f"/api/v1/assets/{s.pumps[0]}", json={"status": "maintenance"})
    assert r.status_code == 200, r.text
    body = assert_problem(await client.post(MOVEMENTS, json=doc("issue", s.depot, ln(
        s.pump, 1, asset_ids=[s.pumps[0]]))), 409, "lines.0.asset_ids.0")
    assert body["asset_id"] == s.pumps[0]
    assert "maintenance" in body["detail"]
    asset = (await client.get(f"/api/v1/assets/{s.pumps[0]}")).json()
    assert (asset["status"], asset["location_id"]) == ("maintenance", s.depot)


async def test_a_write_off_posted_as_a_movement_is_refused_and_points_to_write_off_requests(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 10)))
    before = await count(client, MOVEMENTS)
    for extra in ({}, {"approver": "approver"}):
        body = assert_problem(await client.post(MOVEMENTS, json=doc("write_off", s.depot, ln(s.tent, 1), reason="霉变",
                                                                    **extra)), 422, "kind")
        assert "/api/v1/write-offs" in body["detail"]
    assert await on_hand(client, s.depot, s.tent) == 10
    assert await count(client, MOVEMENTS) == before


async def test_issue_picks_lots_first_expiring_first_out_unless_one_is_named(client: Any) -> None:
    s = await make_site(client)
    today = beijing_today()
    soon, late = (today + dt.timedelta(days=15)).isoformat(), (today + dt.timedelta(days=200)).isoformat()
    await created(client, MOVEMENTS, doc("receipt", s.depot,
                                         ln(s.water, 5, lot={"number": "W-LATE", "expiry_date": late}),
                                         ln(s.water, 5, lot={"number": "W-SOON", "expiry_date": soon})))
    stock = (await client.get("/api/v1/stock", params={"location_id": s.depot, "item_type_id": s.water})).json()
    lots = {lot["lot_number"]: lot["lot_id"] for lot in stock["items"][0]["lots"]}
    assert [lot["lot_number"] for lot in stock["items"][0]["lots"]] == ["W-SOON", "W-LATE"]
    fefo = await created(client, MOVEMENTS, doc("issue", s.depot, ln(s.water, 2)))
    assert [m["lot_id"] for m in fefo["movements"]] == [lots["W-SOON"]]
    named = await created(client, MOVEMENTS, doc("issue", s.depot, ln(s.water, 1, lot_id=lots["W-LATE"])))
    assert [m["lot_id"] for m in named["movements"]] == [lots["W-LATE"]]
    conflict = {"number": "W-LATE", "expiry_date": soon}
    assert_problem(await client.post(MOVEMENTS, json=doc("receipt", s.depot, ln(s.water, 1, lot=conflict))), 422,
                   "lines.0.lot.expiry_date")


async def test_transfers_in_transit_are_listed_until_received_in_full(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 40)))
    sent = await created(client, MOVEMENTS, doc("transfer", s.depot, ln(s.tent, 25), to_location_id=s.jinxian))
    assert sent["number"].startswith("DB")
    assert await on_hand(client, s.depot, s.tent) == 15

    async def in_transit() -> list[dict[str, Any]]:
        r = await client.get("/api/v1/transfers", params={"status": "in_transit"})
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    assert [(t["id"], t["status"], t["lines"][0]["outstanding"]) for t in await in_transit()] == [
        (sent["id"], "in_transit", 25)]
    path = f"/api/v1/transfers/{sent['id']}/receive"
    assert_problem(await client.post(path, json={"lines": [{"item_type_id": s.tent, "quantity": 26}]}), 422,
                   "lines.0.quantity")
    assert_problem(await client.post(path, json={"lines": [{"item_type_id": s.tent, "quantity": 0}]}), 422,
                   "lines.0.quantity")
    part = await created(client, path, {"lines": [{"item_type_id": s.tent, "quantity": 20}]})
    assert (part["kind"], part["transfer_id"]) == ("transfer_receipt", sent["id"])
    assert [t["lines"][0]["outstanding"] for t in await in_transit()] == [5]
    stock = (await client.get("/api/v1/stock", params={"location_id": s.jinxian})).json()["items"]
    assert [(r["on_hand"], r["available"], r["in_transit"]) for r in stock] == [(20, 20, 5)]
    assert_problem(await client.post(path, json={"lines": [], "close_short": True}), 422, "loss_reason")
    await created(client, path, {"lines": [], "close_short": True, "loss_reason": "途中破损 5 顶"})
    assert await in_transit() == []
    done = (await client.get(f"/api/v1/transfers/{sent['id']}")).json()
    assert done["status"] == "received"
    assert [(x["sent"], x["received"], x["lost"], x["outstanding"]) for x in done["lines"]] == [(25, 20, 5, 0)]
    assert len(done["receipts"]) == 2
    received = (await client.get(MOVEMENTS, params={"kind": "transfer_receipt"})).json()
    assert sorted((m["bucket"], m["quantity"]) for m in received["items"]) == [
        ("in_transit", -20), ("in_transit", -5), ("on_hand", 20)]
    assert_problem(await client.post(path, json={}), 409)
    assert_problem(await client.get("/api/v1/transfers", params={"status": "lost"}), 422)
    assert_problem(await client.get("/api/v1/transfers/99999"), 404)


async def test_reversal_undoes_a_document_once_and_refuses_a_received_transfer(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 10)))
    issue = await created(client, MOVEMENTS, doc("issue", s.depot, ln(s.tent, 4),
                                                 ln(s.pump, 1, asset_ids=[s.pumps[0]])))
    assert (await client.get(f"/api/v1/assets/{s.pumps[0]}")).json()["status"] == "deployed"
    undo = await created(client, f"/api/v1/documents/{issue['id']}/reverse", {"reason": "出库录错"})
    assert (undo["reverses_id"], undo["reason"], undo["reference"]) == (issue["id"], "出库录错", issue["number"])
    assert await on_hand(client, s.depot, s.tent) == 10
    asset = (await client.get(f"/api/v1/assets/{s.pumps[0]}")).json()
    assert (asset["status"], asset["location_id"]) == ("available", s.depot)
    assert (await client.get(f"/api/v1/documents/{issue['id']}")).json()["reversed_by_id"] == undo["id"]
    assert_problem(await client.post(f"/api/v1/documents/{issue['id']}/reverse", json={"reason": "再来"}), 409)
    assert_problem(await client.post(f"/api/v1/documents/{undo['id']}/reverse", json={"reason": "再来"}), 409)
    assert_problem(await client.post(f"/api/v1/documents/{issue['id']}/reverse", json={"reason": ""}), 422,
                   "reason")
    assert_problem(await client.post("/api/v1/documents/99999/reverse", json={"reason": "无"}), 404)
    sent = await created(client, MOVEMENTS, doc("transfer", s.depot, ln(s.tent, 2), to_location_id=s.jinxian))
    await created(client, f"/api/v1/transfers/{sent['id']}/receive", {})
    before = await count(client, MOVEMENTS)
    assert_problem(await client.post(f"/api/v1/documents/{sent['id']}/reverse", json={"reason": "取消"}), 409)
    assert await count(client, MOVEMENTS) == before


async def test_stock_in_a_bin_rolls_up_into_its_depot_only_with_include_children(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.bin, ln(s.tent, 6)))
    assert await on_hand(client, s.depot, s.tent) == 0
    assert await on_hand(client, s.depot, s.tent, include_children=True) == 6
    assert await on_hand(client, s.bin, s.tent) == 6
    rows = (await client.get("/api/v1/stock", params={"location_id": s.depot, "include_children": "true"})).json()
    assert [(r["location_id"], r["item_code"], r["on_hand"], r["available"]) for r in rows["items"]] == [
        (s.depot, "TENT-12", 6, 6), (s.depot, "PUMP-300", 2, 2)]
    by_region = (await client.get("/api/v1/stock", params={"region": "360121"})).json()
    assert {(r["location_id"], r["item_code"]) for r in by_region["items"]} == {
        (s.bin, "TENT-12"), (s.depot, "PUMP-300")}
    assert_problem(await client.get("/api/v1/stock", params={"region": "36x"}), 422, "region")


async def test_stock_card_and_movement_lists_follow_the_ledger(client: Any) -> None:
    s = await make_site(client)
    first = await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 12)))
    await created(client, MOVEMENTS, doc("issue", s.depot, ln(s.tent, 5)))
    await created(client, MOVEMENTS, doc("adjustment", s.depot, ln(s.tent, -2), reason="盘亏"))
    card = (await client.get("/api/v1/stock/card", params={"location_id": s.depot, "item_type_id": s.tent})).json()
    assert [(x["kind"], x["quantity"], x["balance"]) for x in card["lines"]] == [
        ("receipt", 12, 12), ("issue", -5, 7), ("adjustment", -2, 5)]
    assert card["closing"] == 5
    assert card["lines"][2]["reason"] == "盘亏"
    issues = (await client.get(MOVEMENTS, params={"kind": "issue"})).json()
    assert [(m["item_type_id"], m["quantity"]) for m in issues["items"]] == [(s.tent, -5)]
    of_first = (await client.get(MOVEMENTS, params={"document_id": first["id"]})).json()
    assert [m["id"] for m in of_first["items"]] == [m["id"] for m in first["movements"]]
    page = (await client.get(MOVEMENTS, params={"item_type_id": s.tent, "limit": 2, "offset": 1})).json()
    assert (page["total"], [m["quantity"] for m in page["items"]]) == (3, [-5, 12])
    assert_problem(await client.get(MOVEMENTS, params={"kind": "theft"}), 422, "kind")
    assert_problem(await client.get("/api/v1/stock/card", params={"location_id": 99999, "item_type_id": s.tent}),
                   404)


# --- Idempotency-Key ------------------------------------------------------------------------------------------


async def test_the_same_idempotency_key_and_body_replays_the_first_answer_and_writes_nothing(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 10)))
    body = doc("issue", s.depot, ln(s.tent, 3))
    key = {"Idempotency-Key": "scan-20260715-0001"}
    first = await client.post(MOVEMENTS, json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    before = await count(client, MOVEMENTS)
    again = await client.post(MOVEMENTS, json=body, headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await count(client, MOVEMENTS) == before
    assert await on_hand(client, s.depot, s.tent) == 7
    # Without the key the same body is a new issue.
    assert (await client.post(MOVEMENTS, json=body)).status_code == 201
    assert await on_hand(client, s.depot, s.tent) == 4


async def test_the_same_idempotency_key_with_another_request_is_409(client: Any) -> None:
    s = await make_site(client)
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 10)))
    key = {"Idempotency-Key": "scan-20260715-0002"}
    assert (await client.post(MOVEMENTS, json=doc("issue", s.depot, ln(s.tent, 3)), headers=key)).status_code == 201
    before = await count(client, MOVEMENTS)
    assert_problem(await client.post(MOVEMENTS, json=doc("issue", s.depot, ln(s.tent, 4)), headers=key), 409,
                   "Idempotency-Key")
    issue_id = (await client.get(MOVEMENTS, params={"kind": "issue"})).json()["items"][0]["document_id"]
    assert_problem(await client.post(f"/api/v1/documents/{issue_id}/reverse", json={"reason": "录错"},
                                     headers=key), 409, "Idempotency-Key")
    assert await count(client, MOVEMENTS) == before
    assert await on_hand(client, s.depot, s.tent) == 7


async def test_a_refused_write_with_an_idempotency_key_is_not_remembered(client: Any) -> None:
    s = await make_site(client)
    body = doc("issue", s.depot, ln(s.tent, 3))
    key = {"Idempotency-Key": "scan-20260715-0003"}
    assert_problem(await client.post(MOVEMENTS, json=body, headers=key), 409, "lines.0.quantity")
    await created(client, MOVEMENTS, doc("receipt", s.depot, ln(s.tent, 10)))
    retried = await client.post(MOVEMENTS, json=body, headers=key)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert await on_hand(client, s.depot, s.tent) == 7


async def test_idempotent_receipt_of_a_transfer_is_applied_once(client: Any) -> None:
    s = await make_site(client)
    sent = await created(client, MOVEMENTS, doc("transfer", s.depot, ln(s.pump, 1, asset_ids=[s.pumps[1]]),
                                                to_location_id=s.jinxian))
    path = f"/api/v1/transfers/{sent['id']}/receive"
    key = {"Idempotency-Key": "scan-20260715-0004"}
    first = await client.post(path, json={}, headers=key)
    again = await client.post(path, json={}, headers=key)
    assert [first.status_code, again.status_code] == [201, 201]
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await client.get(f"/api/v1/transfers/{sent['id']}")).json()["receipts"] == [first.json()["id"]]


async def test_an_unusable_idempotency_key_is_refused(client: Any) -> None:
    s = await make_site(client)
    for key in ("   ", "x" * 101):
        r = await client.post(MOVEMENTS, json=doc("receipt", s.depot, ln(s.tent, 1)),
                              headers={"Idempotency-Key": key})
        assert_problem(r, 422, "Idempotency-Key" if key.strip() == "" else None)
    assert await on_hand(client, s.depot, s.tent) == 0
