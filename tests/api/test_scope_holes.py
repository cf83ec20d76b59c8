"""A keeper of 南昌县 (360121) could change another county's things through the API where they have no location.

A unit out of stock (deployed, lent, lost) has no location and a lot lies in many places, so the scope
check was skipped for them; a dispatch's return checked only where the goods went, not where they came
from. Each hole: refused with 403 and nothing changed, and the same call on the keeper's own things works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from inventory.store.db import Database
from inventory.store.models import Asset, LabelCode, Lot
from tests.api.helpers import item_type_body, location_body
from tests.api.snapshot import changed, state

MOVEMENTS = "/api/v1/movements"
PROBLEM = "application/problem+json"
REGION = {"in": "360121", "out": "360102"}  # 南昌县 is the keeper's, 东湖区 is not
POINT = {"in": (28.5457, 115.944), "out": (28.68, 115.90)}


@dataclass
class World:
    """Two depots on either side of the keeper's scope line, a pump (serial) and a tent (bulk)."""

    admin: Any
    keeper: Any
    db: Database
    depot: dict[str, int]
    pump: int
    tent: int
    serials: int = 0

    async def unit(self, where: str) -> dict[str, Any]:
        """A new pump registered at a depot."""
        self.serials += 1
        return await created(self.admin, "/api/v1/assets", {
            "item_type_id": self.pump, "serial_number": f"BC-H{self.serials}", "location_id": self.depot[where]})

    async def deployed_unit(self, where: str) -> dict[str, Any]:
        """A pump issued from a depot: out of stock, with no location."""
        unit = await self.unit(where)
        await created(self.admin, MOVEMENTS, {
            "kind": "issue", "location_id": self.depot[where], "counterparty": "县防汛抢险队",
            "lines": [{"item_type_id": self.pump, "quantity": 1, "asset_ids": [unit["id"]]}]})
        return unit

    async def asset(self, asset_id: int) -> Asset:
        """The unit as stored."""
        async with self.db.read() as session:
            found = await session.get(Asset, asset_id)
        assert found is not None
        return found


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A write that must succeed; its body."""
    r = await client.post(path, json=body)
    assert r.status_code in (200, 201), f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def world(client: Any, client_as: Any, db: Database) -> World:
    """The depots, item types and a keeper of 360121."""
    depot = {
        "in": (await created(client, "/api/v1/locations", location_body("D-IN")))["id"],
        "out": (await created(client, "/api/v1/locations", location_body(
            "D-OUT", name="东湖区应急物资储备库", region_code=REGION["out"], lat=28.68, lon=115.90)))["id"],
    }
    pump = (await created(client, "/api/v1/item-types", item_type_body()))["id"]
    tent = (await created(client, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    keeper = await client_as("keeper", "keeper-360121", scope_regions=[REGION["in"]])
    return World(client, keeper, db, depot, pump, tent)


async def refused_and_unchanged(w: World, method: str, path: str, json: Any = None) -> dict[str, Any]:
    """The keeper's request answers 403 (a problem naming the scope) and no table changed."""
    before = await state(w.db)
    r = await w.keeper.request(method, path, json=json)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "辖区" in r.json()["detail"]
    assert changed(before, await state(w.db)) == []
    body: dict[str, Any] = r.json()
    return body


async def test_a_keeper_cannot_edit_another_countys_unit_while_it_is_deployed(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.deployed_unit("out")
    await refused_and_unchanged(w, "PATCH", f"/api/v1/assets/{unit['id']}", {"notes": "已借给南昌县"})
    assert (await w.asset(unit["id"])).notes == ""


async def test_a_keeper_edits_his_own_unit_while_it_is_deployed(client: Any, client_as: Any, db: Database) -> None:
    w = await world(client, client_as, db)
    unit = await w.deployed_unit("in")
    r = await w.keeper.patch(f"/api/v1/assets/{unit['id']}", json={"notes": "现场检查正常"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["location_id"], r.json()["notes"]) == ("deployed", None, "现场检查正常")


async def test_a_keeper_cannot_reissue_the_label_of_another_countys_deployed_unit(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.deployed_unit("out")
    await refused_and_unchanged(w, "POST", f"/api/v1/labels/{unit['label_code']}/reissue")
    assert (await w.asset(unit["id"])).label_code == unit["label_code"]


async def test_a_keeper_reissues_the_label_of_his_own_deployed_unit(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.deployed_unit("in")
    r = await w.keeper.post(f"/api/v1/labels/{unit['label_code']}/reissue")
    assert r.status_code == 201, r.text
    assert (await w.asset(unit["id"])).label_code == r.json()["new_code"] != unit["label_code"]


async def test_a_keeper_cannot_return_another_countys_deployed_unit_into_his_depot(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.deployed_unit("out")
    for kind in ("return", "receipt"):
        body = await refused_and_unchanged(w, "POST", MOVEMENTS, {
            "kind": kind, "location_id": w.depot["in"],
            "lines": [{"item_type_id": w.pump, "quantity": 1, "asset_ids": [unit["id"]]}]})
        assert body["location_id"] == w.depot["out"], body  # the place that answers for the unit
    stored = await w.asset(unit["id"])
    assert (stored.status, stored.location_id) == ("deployed", None)


async def test_a_keeper_cannot_count_another_countys_lost_unit_back_into_his_depot(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.unit("out")
    await created(w.admin, MOVEMENTS, {"kind": "adjustment", "location_id": w.depot["out"], "reason": "盘点未找到",
                                       "lines": [{"item_type_id": w.pump, "quantity": -1, "asset_ids": [unit["id"]]}]})
    await refused_and_unchanged(w, "POST", MOVEMENTS, {
        "kind": "adjustment", "location_id": w.depot["in"], "reason": "找到了",
        "lines": [{"item_type_id": w.pump, "quantity": 1, "asset_ids": [unit["id"]]}]})
    assert (await w.asset(unit["id"])).status == "lost"


async def test_a_keeper_takes_back_a_unit_that_left_from_his_own_depot(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.deployed_unit("in")
    r = await w.keeper.post(MOVEMENTS, json={
        "kind": "return", "location_id": w.depot["in"], "reason": "抢险结束归还",
        "lines": [{"item_type_id": w.pump, "quantity": 1, "asset_ids": [unit["id"]]}]})
    assert r.status_code == 201, r.text
    stored = await w.asset(unit["id"])
    assert (stored.status, stored.location_id) == ("available", w.depot["in"])


async def test_a_keeper_cannot_name_another_countys_unit_in_a_document_at_his_depot(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    unit = await w.unit("out")
    await refused_and_unchanged(w, "POST", MOVEMENTS, {
        "kind": "issue", "location_id": w.depot["in"], "counterparty": "县防汛抢险队",
        "lines": [{"item_type_id": w.pump, "quantity": 1, "asset_ids": [unit["id"]]}]})


async def delivered_dispatch(w: World, source: str) -> int:
    """A dispatch of three tents from a depot to an incident in its region, executed and delivered."""
    await created(w.admin, MOVEMENTS, {"kind": "receipt", "location_id": w.depot[source],
                                       "lines": [{"item_type_id": w.tent, "quantity": 10}]})
    lat, lon = POINT[source]
    incident = await created(w.admin, "/api/v1/incidents", {
        "name": f"{source} 堤段管涌", "kind": "flood", "region_code": REGION[source], "lat": lat, "lon": lon})
    d = await created(w.admin, f"/api/v1/incidents/{incident['id']}/dispatches", {
        "lines": [{"item_type": "TENT-12", "quantity": 3, "from_location_id": w.depot[source]}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    for step in ("execute", "deliver"):
        await created(w.admin, f"/api/v1/dispatches/{d['id']}/{step}", {})
    dispatch_id: int = d["id"]
    return dispatch_id


async def tents_at(w: World, where: str) -> int:
    """Tents on hand at a depot."""
    r = await w.admin.get("/api/v1/stock", params={"location_id": w.depot[where], "item_type_id": w.tent})
    return sum(int(row["on_hand"]) for row in r.json()["items"])


async def test_a_keeper_cannot_return_another_countys_dispatch_into_his_depot(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    dispatch_id = await delivered_dispatch(w, "out")
    body = await refused_and_unchanged(w, "POST", f"/api/v1/dispatches/{dispatch_id}/return",
                                       {"to_location_id": w.depot["in"]})
    assert body["location_id"] == w.depot["out"]
    assert (await w.admin.get(f"/api/v1/dispatches/{dispatch_id}")).json()["status"] == "delivered"
    assert await tents_at(w, "in") == 0


async def test_a_keeper_returns_a_dispatch_from_his_own_depot(client: Any, client_as: Any, db: Database) -> None:
    w = await world(client, client_as, db)
    dispatch_id = await delivered_dispatch(w, "in")
    r = await w.keeper.post(f"/api/v1/dispatches/{dispatch_id}/return", json={"to_location_id": w.depot["in"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned"
    assert await tents_at(w, "in") == 10


async def lot_label(w: World, where: dict[str, int]) -> str:
    """The label of a new lot of tents received at the depots given (quantity per depot)."""
    for place, quantity in where.items():
        await created(w.admin, MOVEMENTS, {"kind": "receipt", "location_id": w.depot[place], "lines": [
            {"item_type_id": w.tent, "quantity": quantity, "lot": {"number": "T-2026-01"}}]})
    async with w.db.read() as session:
        code = await session.scalar(select(Lot.label_code).where(Lot.number == "T-2026-01"))
    assert code
    return code


async def test_a_keeper_cannot_reissue_the_label_of_a_lot_held_only_in_another_county(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    code = await lot_label(w, {"out": 5})
    body = await refused_and_unchanged(w, "POST", f"/api/v1/labels/{code}/reissue")
    assert body["location_ids"] == [w.depot["out"]]
    async with db.read() as session:
        assert (await session.get(LabelCode, code)).retired_at is None  # type: ignore[union-attr]


async def test_a_keeper_reissues_the_label_of_a_lot_his_county_holds_some_of(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await world(client, client_as, db)
    code = await lot_label(w, {"out": 5, "in": 1})
    r = await w.keeper.post(f"/api/v1/labels/{code}/reissue")
    assert r.status_code == 201, r.text
    assert r.json()["old_code"] == code != r.json()["new_code"]
