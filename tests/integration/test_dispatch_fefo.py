"""Dispatch reservations follow FEFO as issues do: first-expiring lots first, lots without an expiry date last,
never an expired lot; an order larger than the fresh stock is a 409 naming the shortfall and sets nothing aside.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.response import dispatch, incidents
from inventory.response.schemas import Approval, DispatchCreate, DispatchLineRequest, IncidentCreate
from inventory.stock.ledger import post_document
from inventory.stock.lots import Candidate, pick_fefo
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import Balance, Dispatch, DispatchLine, Lot

ORAL = Approval(mode="oral", approved_by="县防指 王副指挥长")
STOCK = {"expired": 50, "soon": 30, "later": 40, "undated": 60}  # fresh: 130


@dataclass
class Depot:
    """南昌县's depot with four lots of sandbags, received in an order that is not their expiry order."""

    depot: int
    bags: int
    incident: int
    lots: dict[str, int]  # expired, soon, later, undated → lot id


async def make_depot(db: Database) -> Depot:
    today = beijing_today()
    expiry = {"expired": today - dt.timedelta(days=3), "soon": today + dt.timedelta(days=10),
              "later": today + dt.timedelta(days=100), "undated": None}
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(code="D-NCX", name="南昌县储备库", kind="depot",
                                                         region_code="360121", lat=28.55, lon=115.94))
        bags = await create_item_type(s, ItemTypeCreate(code="BAG", name="编织袋", unit="条", tracking="bulk",
                                                        category="flood_control"))
        # Received undated, later, soon, expired: the order of the balance rows says nothing about expiry.
        for name in ("undated", "later", "soon", "expired"):
            await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[MovementLine(
                item_type_id=bags.id, quantity=STOCK[name],
                lot=LotSpec(number=f"L-{name}", expiry_date=expiry[name]))]), actor="keeper")
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=28.50, lon=115.95), actor="commander")
        lots = {number.removeprefix("L-"): lot_id for number, lot_id in (await s.execute(
            select(Lot.number, Lot.id).where(Lot.item_type_id == bags.id))).all()}
    return Depot(depot.id, bags.id, inc.id, lots)


async def order(db: Database, d: Depot, quantity: int, *, named: bool = True) -> list[tuple[int | None, int]]:
    """Order ``quantity`` bags (from the depot by name, else the nearest source); the lines' (lot, quantity)."""
    async with db.write() as s:
        made = await dispatch.create_dispatch(s, d.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="BAG", quantity=quantity, from_location_id=d.depot if named else None)]),
            actor="commander")
    async with db.read() as s:
        lines = await s.scalars(select(DispatchLine).where(DispatchLine.dispatch_id == made.id)
                                .order_by(DispatchLine.id))
        return [(ln.lot_id, ln.quantity) for ln in lines if ln.location_id == d.depot]


async def reserved(db: Database, d: Depot) -> dict[str, tuple[int, int]]:
    """(on hand, reserved) per lot at the depot."""
    names = {lot_id: name for name, lot_id in d.lots.items()}
    async with db.read() as s:
        rows = (await s.execute(select(Balance.lot_id, Balance.on_hand, Balance.reserved).where(
            Balance.location_id == d.depot, Balance.item_type_id == d.bags))).all()
        return {names[lot_id]: (on_hand, held) for lot_id, on_hand, held in rows if lot_id is not None}


async def issue_would_pick(db: Database, d: Depot, quantity: int) -> list[tuple[int | None, int]] | None:
    """What an issue of ``quantity`` would take now (the ledger's FEFO), from the same balances."""
    async with db.read() as s:
        rows = (await s.execute(
            select(Balance.lot_id, Lot.expiry_date, Lot.production_date, Balance.on_hand - Balance.reserved)
            .outerjoin(Lot, Lot.id == Balance.lot_id)
            .where(Balance.location_id == d.depot, Balance.item_type_id == d.bags).order_by(Balance.id))).all()
        candidates = [Candidate(*row) for row in rows]
    return pick_fefo(candidates, quantity, beijing_today())


async def test_an_order_spanning_two_lots_takes_the_soonest_fresh_ones_and_never_the_expired(db: Database) -> None:
    d = await make_depot(db)
    assert await issue_would_pick(db, d, 50) == [(d.lots["soon"], 30), (d.lots["later"], 20)]
    assert await order(db, d, 50) == [(d.lots["soon"], 30), (d.lots["later"], 20)]
    assert await reserved(db, d) == {"expired": (50, 0), "soon": (30, 30), "later": (40, 20), "undated": (60, 0)}
    # The next order goes on where this one stopped, and only then to the lot without an expiry date.
    assert await issue_would_pick(db, d, 30) == [(d.lots["later"], 20), (d.lots["undated"], 10)]
    assert await order(db, d, 30, named=False) == [(d.lots["later"], 20), (d.lots["undated"], 10)]
    assert await reserved(db, d) == {"expired": (50, 0), "soon": (30, 30), "later": (40, 40), "undated": (60, 10)}
    async with db.read() as s:
        assert (await verify_ledger(s)).ok


async def test_all_the_fresh_stock_can_be_set_aside_but_the_expired_lot_stays(db: Database) -> None:
    d = await make_depot(db)
    assert await order(db, d, 130) == [(d.lots["soon"], 30), (d.lots["later"], 40), (d.lots["undated"], 60)]
    assert await reserved(db, d) == {"expired": (50, 0), "soon": (30, 30), "later": (40, 40), "undated": (60, 60)}


async def test_more_than_the_fresh_stock_is_409_with_the_shortfall_and_nothing_reserved(
        db: Database, client: Any) -> None:
    d = await make_depot(db)
    for source in ({"from_location_id": d.depot}, {}):
        r = await client.post(f"/api/v1/incidents/{d.incident}/dispatches", json={
            "lines": [{"item_type": "BAG", "quantity": 131, **source}],
            "approval": {"mode": "oral", "approved_by": "值班领导"}})
        assert r.status_code == 409, r.text
        body = r.json()
        assert [(x["line"], x["item_type_id"], x["requested"], x["available"], x["shortfall"])
                for x in body["shortfall"]] == [(0, d.bags, 131, 130, 1)], source
        assert "库存不足" in body["detail"]
    assert await reserved(db, d) == {name: (quantity, 0) for name, quantity in STOCK.items()}
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Dispatch)) == 0
        assert await s.scalar(select(func.count()).select_from(DispatchLine)) == 0
        assert int(await s.scalar(select(func.coalesce(func.sum(Balance.reserved), 0))) or 0) == 0


async def test_on_a_tie_of_expiry_the_older_production_goes_first_as_an_issue_picks(db: Database) -> None:
    """Two lots expiring the same day, the newer one received first: the reservation takes the older production,
    like an issue (pick_fefo) does, not whichever balance row came first."""
    today = beijing_today()
    same_day = today + dt.timedelta(days=60)
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(code="D-TIE", name="进贤县储备库", kind="depot",
                                                         region_code="360124", lat=28.37, lon=116.24))
        quilts = await create_item_type(s, ItemTypeCreate(code="QUILT", name="棉被", unit="床", tracking="bulk",
                                                          category="bedding"))
        for number, produced in (("Q-NEW", today - dt.timedelta(days=10)), ("Q-OLD", today - dt.timedelta(days=200))):
            await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[MovementLine(
                item_type_id=quilts.id, quantity=20, lot=LotSpec(number=number, expiry_date=same_day,
                                                                 production_date=produced))]), actor="keeper")
        inc = await incidents.create_incident(s, IncidentCreate(
            name="三里乡内涝", kind="waterlogging", region_code="360124", lat=28.40, lon=116.20), actor="commander")
        rows = (await s.execute(select(Lot.number, Lot.id).where(Lot.item_type_id == quilts.id))).all()
        lots = {str(number): int(lot_id) for number, lot_id in rows}
        made = await dispatch.create_dispatch(s, inc.id, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="QUILT", quantity=25, from_location_id=depot.id)]), actor="commander")
    async with db.read() as s:
        got = [(ln.lot_id, ln.quantity) for ln in await s.scalars(
            select(DispatchLine).where(DispatchLine.dispatch_id == made.id).order_by(DispatchLine.id))]
        lot_rows = {lot.id: lot for lot in await s.scalars(select(Lot).where(Lot.item_type_id == quilts.id))}
    assert got == [(lots["Q-OLD"], 20), (lots["Q-NEW"], 5)]
    candidates = [Candidate(i, lot.expiry_date, lot.production_date, 20) for i, lot in sorted(lot_rows.items())]
    assert pick_fefo(candidates, 25, today) == got
