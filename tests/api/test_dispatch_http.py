"""Incidents and dispatch orders over HTTP: who may do what, and what a refusal says."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.helpers import item_type_body, location_body


async def setup(client: Any) -> dict[str, int]:
    near = (await client.post("/api/v1/locations", json=location_body("D-NEAR"))).json()["id"]
    far = (await client.post("/api/v1/locations", json=location_body(
        "D-FAR", name="东湖区储备库", region_code="360102", lat=28.68, lon=115.90))).json()["id"]
    bag = (await client.post("/api/v1/item-types", json=item_type_body(
        "BAG", name="编织袋", unit="条", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[]))).json()["id"]
    for loc in (near, far):
        r = await client.post("/api/v1/movements", json={"kind": "receipt", "location_id": loc,
                                                         "lines": [{"item_type_id": bag, "quantity": 100}]})
        assert r.status_code == 201, r.text
    r = await client.post("/api/v1/incidents", json={"name": "向塘镇内涝", "kind": "waterlogging",
                                                     "region_code": "360121", "lat": 28.50, "lon": 115.95})
    assert r.status_code == 201, r.text
    return {"near": near, "far": far, "bag": bag, "incident": r.json()["id"]}


def order(source: int | None = None, quantity: int = 20) -> dict[str, Any]:
    line: dict[str, Any] = {"item_type": "BAG", "quantity": quantity}
    if source is not None:
        line["from_location_id"] = source
    return {"lines": [line], "approval": {"mode": "oral", "approved_by": "值班领导"}}


async def test_commander_orders_keeper_in_scope_executes(client: Any, client_as: Any) -> None:
    ids = await setup(client)
    commander = await client_as("commander", "cmd1", scope_regions=["3601"])
    keeper = await client_as("keeper", "k1", scope_regions=["360121"])
    far_keeper = await client_as("keeper", "k2", scope_regions=["360102"])
    r = await keeper.post(f"/api/v1/incidents/{ids['incident']}/dispatches", json=order(ids["near"]))
    assert r.status_code == 403
    r = await commander.post(f"/api/v1/incidents/{ids['incident']}/dispatches", json=order(ids["near"]))
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "reserved"
    assert d["paperwork_due_at"] is not None
    assert (await commander.post(f"/api/v1/dispatches/{d['id']}/execute", json={})).status_code == 403
    refused = await far_keeper.post(f"/api/v1/dispatches/{d['id']}/execute", json={})
    assert refused.status_code == 403
    assert "辖区" in refused.json()["detail"]
    r = await keeper.post(f"/api/v1/dispatches/{d['id']}/execute", json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_transit"
    stock = (await client.get("/api/v1/stock", params={"location_id": ids["near"], "item_type_id": ids["bag"]})).json()
    assert stock["items"][0]["on_hand"] == 80
    transfers = (await client.get("/api/v1/transfers", params={"status": "in_transit"})).json()
    assert transfers["total"] == 1


async def test_shortfall_answers_409_with_each_line_and_reserves_nothing(client: Any) -> None:
    ids = await setup(client)
    r = await client.post(f"/api/v1/incidents/{ids['incident']}/dispatches", json=order(quantity=500))
    assert r.status_code == 409
    body = r.json()
    assert body["shortfall"][0]["requested"] == 500
    assert body["shortfall"][0]["available"] == 200
    assert "库存不足" in body["detail"]
    stock = (await client.get("/api/v1/stock", params={"item_type_id": ids["bag"]})).json()
    assert all(row["reserved"] == 0 for row in stock["items"])
    assert (await client.get("/api/v1/dispatches")).json()["total"] == 0


async def test_bad_dispatch_input_is_422_with_the_field(client: Any) -> None:
    ids = await setup(client)
    body = order()
    body["approval"] = {"mode": "written", "approved_by": "县长"}
    r = await client.post(f"/api/v1/incidents/{ids['incident']}/dispatches", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "approval.document_no"
    for ref in ("NOPE", "²", "99999999999999999999"):  # "²" passes str.isdigit but not int(): was a 500
        r = await client.post(f"/api/v1/incidents/{ids['incident']}/dispatches",
                              json={"lines": [{"item_type": ref, "quantity": 1}],
                                    "approval": {"mode": "oral", "approved_by": "x"}})
        assert r.status_code == 422, (ref, r.text)
        assert r.json()["errors"][0]["field"] == "lines.0.item_type"
    r = await client.post("/api/v1/incidents", json={"name": "x", "kind": "flood", "region_code": "360121",
                                                     "lat": 115.95, "lon": 28.50})
    assert r.status_code == 422
    assert "填反" in r.json()["detail"]


async def test_paperwork_overdue_filter_and_recording(client: Any) -> None:
    ids = await setup(client)
    d = (await client.post(f"/api/v1/incidents/{ids['incident']}/dispatches", json=order())).json()
    missing = (await client.get("/api/v1/dispatches", params={"paperwork": "missing"})).json()
    assert [x["id"] for x in missing["items"]] == [d["id"]]
    assert (await client.get("/api/v1/dispatches", params={"paperwork": "overdue"})).json()["total"] == 0
    r = await client.post(f"/api/v1/dispatches/{d['id']}/paperwork", json={"document_no": "县防指〔2026〕3号"})
    assert r.status_code == 200
    assert r.json()["paperwork_received_at"] is not None
    assert (await client.get("/api/v1/dispatches", params={"paperwork": "missing"})).json()["total"] == 0


async def test_incidents_opened_at_the_same_moment_each_get_their_own_staging_place(client: Any) -> None:
    answers = await asyncio.gather(*(client.post("/api/v1/incidents", json={
        "name": f"同时登记的险情 {i}", "kind": "flood", "region_code": "360121", "lat": 28.50 + i / 100,
        "lon": 115.95}) for i in range(6)))
    assert [r.status_code for r in answers] == [201] * 6, [r.text for r in answers]
    assert len({r.json()["location_id"] for r in answers}) == 6
