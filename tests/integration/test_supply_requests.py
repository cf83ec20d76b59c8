"""Requests between units (物资调用申请) and own stock first, on the service layer, on SQLite and PostgreSQL:
acceptances reserve FEFO (never an expired lot) from the acceptor's own sites only, a county commander's own
order never reaches another county's nearer site, answers given at once never exceed what was asked, and the
settlement date is one calendar month after delivery on Beijing's calendar.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.availability.service import nearest_available
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput, PermissionDenied
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.response import dispatch, incidents
from inventory.response.schemas import Approval, DispatchCreate, DispatchLineRequest, IncidentCreate
from inventory.stock.ledger import post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import (
    Balance,
    Dispatch,
    DispatchLine,
    Lot,
    SupplyRequest,
    SupplyRequestAnswer,
    SupplyRequestLine,
)
from inventory.supply_requests import service as requests
from inventory.supply_requests.schemas import (
    AcceptLine,
    RequestAccept,
    RequestCreate,
    RequestDecline,
    RequestLineCreate,
)

ORAL = Approval(mode="oral", approved_by="区防指 陈指挥长")
# 新建区's lots of sandbags, received in an order that is not their expiry order; fresh: 90.
XJQ_LOTS = {"undated": 20, "later": 40, "soon": 30, "expired": 50}
NCX_LOTS = {"later": 5, "soon": 5, "expired": 10}  # 南昌县's own: fresh 10
INCIDENT = (28.62, 115.86)  # 南昌县's north-western edge: 新建区's depot is nearer than 南昌县's


def principal(username: str, role: str = "commander", regions: tuple[str, ...] = (),
              locations: tuple[int, ...] = ()) -> Principal:
    return Principal(0, username, username, role, regions, locations, 0)


COUNTY = principal("ncx-commander", regions=("360121",))
XJQ = principal("xjq-commander", regions=("360112",))
CITY = principal("nc-city-commander", regions=("3601",))


@dataclass
class World:
    """A depot in each county with lots of sandbags, and an open incident in 南昌县."""

    ncx: int
    xjq: int
    bags: int
    incident: int
    lots: dict[tuple[str, str], int]  # (depot, lot name) → lot id


async def make_world(db: Database) -> World:
    today = beijing_today()
    expiry = {"expired": today - dt.timedelta(days=3), "soon": today + dt.timedelta(days=10),
              "later": today + dt.timedelta(days=100), "undated": None}
    async with db.write() as s:
        ncx = await create_location(s, LocationCreate(code="D-NCX", name="南昌县储备库", kind="depot",
                                                       region_code="360121", lat=28.5457, lon=115.944))
        xjq = await create_location(s, LocationCreate(code="D-XJQ", name="新建区储备库", kind="depot",
                                                       region_code="360112", lat=28.66, lon=115.82))
        bags = await create_item_type(s, ItemTypeCreate(code="BAG", name="编织袋", unit="条", tracking="bulk",
                                                        category="flood_control"))
        for depot, code, stock in ((xjq, "XJQ", XJQ_LOTS), (ncx, "NCX", NCX_LOTS)):
            for name, quantity in stock.items():
                await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[MovementLine(
                    item_type_id=bags.id, quantity=quantity,
                    lot=LotSpec(number=f"{code}-{name}", expiry_date=expiry[name]))]), actor="keeper")
        inc = await incidents.create_incident(s, IncidentCreate(
            name="南昌县圩堤管涌", kind="flood", region_code="360121", lat=INCIDENT[0], lon=INCIDENT[1]),
            actor="ncx-commander")
        lots = {}
        for number, lot_id in (await s.execute(select(Lot.number, Lot.id))).all():
            code, _, name = str(number).partition("-")
            lots[(code, name)] = int(lot_id)
    return World(ncx.id, xjq.id, bags.id, inc.id, lots)


def ask(w: World, quantity: int, to_region: str = "360112") -> RequestCreate:
    return RequestCreate(
        incident_id=w.incident, to_region=to_region, purpose="圩堤管涌抢险",
        needed_by=dt.datetime.now(dt.UTC) + dt.timedelta(hours=4), transport="either", contact_name="县防指 刘干事",
        contact_phone="0791-85700001", lines=[RequestLineCreate(item_type="BAG", quantity=quantity)])


async def sent(db: Database, w: World, quantity: int, to_region: str = "360112") -> tuple[int, int]:
    """A request from 南昌县's commander: its id and its line's id."""
    async with db.write() as s:
        r = await requests.create_request(s, ask(w, quantity, to_region), COUNTY)
        line = await s.scalar(select(SupplyRequestLine.id).where(SupplyRequestLine.request_id == r.id))
        assert line is not None
        return r.id, line


async def accept(db: Database, request_id: int, line: int, quantity: int, who: Principal = XJQ,
                 source: int | None = None) -> int:
    """Accept ``quantity`` of the line; the dispatch order's id."""
    async with db.write() as s:
        await requests.accept_request(s, request_id, RequestAccept(approval=ORAL, lines=[
            AcceptLine(line_id=line, quantity=quantity, from_location_id=source)]), who)
        made = await s.scalar(select(func.max(SupplyRequestAnswer.dispatch_id)).where(
            SupplyRequestAnswer.request_id == request_id))
        assert made is not None
        return int(made)


async def lines_of(db: Database, dispatch_id: int) -> list[tuple[int, int | None, int]]:
    """A dispatch's lines: (site, lot, quantity)."""
    async with db.read() as s:
        return [(ln.location_id, ln.lot_id, ln.quantity) for ln in await s.scalars(
            select(DispatchLine).where(DispatchLine.dispatch_id == dispatch_id).order_by(DispatchLine.id))]


async def held(db: Database, site: int) -> dict[int | None, tuple[int, int]]:
    """(on hand, reserved) per lot at a site."""
    async with db.read() as s:
        rows = (await s.execute(select(Balance.lot_id, Balance.on_hand, Balance.reserved).where(
            Balance.location_id == site))).all()
    return {lot: (on_hand, reserved) for lot, on_hand, reserved in rows}


async def test_an_acceptance_reserves_the_first_expiring_lots_of_the_acceptors_own_depot_never_an_expired_one(
    db: Database,
) -> None:
    w = await make_world(db)
    lot = {name: w.lots[("XJQ", name)] for name in XJQ_LOTS}
    request_id, line = await sent(db, w, 100)
    # The nearest of 新建区's own (his only depot), then by name: FEFO each time, the undated lot last.
    first = await accept(db, request_id, line, 50)
    assert await lines_of(db, first) == [(w.xjq, lot["soon"], 30), (w.xjq, lot["later"], 20)]
    second = await accept(db, request_id, line, 30, source=w.xjq)
    assert await lines_of(db, second) == [(w.xjq, lot["later"], 20), (w.xjq, lot["undated"], 10)]
    # 10 fresh bags are left beside 50 expired ones: 11 is a shortfall of 1, and nothing more is set aside.
    with pytest.raises(InsufficientStock) as refused:
        await accept(db, request_id, line, 11)
    assert [(x["requested"], x["available"], x["shortfall"]) for x in refused.value.extra["shortfall"]] == [
        (11, 10, 1)]
    assert await held(db, w.xjq) == {lot["expired"]: (50, 0), lot["soon"]: (30, 30), lot["later"]: (40, 40),
                                     lot["undated"]: (20, 10)}
    assert await held(db, w.ncx) == {w.lots[("NCX", n)]: (q, 0) for n, q in NCX_LOTS.items()}, \
        "南昌县's depot is not 新建区's to give"
    async with db.read() as s:
        assert (await s.get(SupplyRequestLine, line)).accepted == 80  # type: ignore[union-attr]
        assert (await verify_ledger(s)).ok


async def test_a_county_commanders_own_order_takes_his_own_depot_fefo_though_another_countys_is_nearer(
    db: Database,
) -> None:
    w = await make_world(db)
    async with db.read() as s:
        nearest = await nearest_available(s, lat=INCIDENT[0], lon=INCIDENT[1], item_type="BAG", quantity=1)
    assert nearest.sources[0].location.id == w.xjq, "新建区's depot is the nearest"
    assert (nearest.sources[0].own, nearest.sources[0].owner) == (None, None), "asked without a user: not said"

    async def order(quantity: int, source: int | None = None) -> int:
        async with db.write() as s:
            return (await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
                DispatchLineRequest(item_type="BAG", quantity=quantity, from_location_id=source)]),
                actor=COUNTY.username, principal=COUNTY)).id

    made = await order(8)
    assert await lines_of(db, made) == [(w.ncx, w.lots[("NCX", "soon")], 5), (w.ncx, w.lots[("NCX", "later")], 3)]
    with pytest.raises(InsufficientStock) as refused:
        await order(3)
    assert [(x["available"], x["shortfall"]) for x in refused.value.extra["shortfall"]] == [(2, 1)]
    with pytest.raises(PermissionDenied):
        await order(1, source=w.xjq)
    assert all(reserved == 0 for _, reserved in (await held(db, w.xjq)).values())
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Dispatch)) == 1


async def test_whose_stock_a_source_is_follows_the_users_regions_or_locations(db: Database) -> None:
    w = await make_world(db)

    async def nearest(who: Principal | None, own_only: bool = False) -> dict[int, bool | None]:
        async with db.read() as s:
            answer = await nearest_available(s, lat=INCIDENT[0], lon=INCIDENT[1], item_type="BAG", quantity=500,
                                             principal=who, own_only=own_only)
        assert answer.own_only is own_only
        return {src.location.id: src.own for src in answer.sources}

    assert await nearest(None) == {w.xjq: None, w.ncx: None}
    with pytest.raises(InvalidInput) as refused:
        await nearest(None, own_only=True)
    assert refused.value.field == "own_only"
    assert await nearest(COUNTY) == {w.xjq: False, w.ncx: True}
    assert await nearest(CITY) == {w.xjq: True, w.ncx: True}
    assert await nearest(principal("admin", "admin"), own_only=True) == {w.xjq: True, w.ncx: True}
    keeper = principal("xjq-keeper", "keeper", locations=(w.xjq,))  # a keeper scoped to his depot only
    assert await nearest(keeper) == {w.xjq: True, w.ncx: False}
    assert await nearest(keeper, own_only=True) == {w.xjq: True}
    assert await nearest(principal("nobody"), own_only=True) == {}


@pytest.mark.parametrize(("delivered", "due"), [
    # Beijing 2026-03-31 06:00 → 2026-04-30 06:00: the month is Beijing's, though the UTC date is the 30th.
    (dt.datetime(2026, 3, 30, 22, tzinfo=dt.UTC), dt.datetime(2026, 4, 29, 22, tzinfo=dt.UTC)),
    (dt.datetime(2026, 1, 31, 2, tzinfo=dt.UTC), dt.datetime(2026, 2, 28, 2, tzinfo=dt.UTC)),
    (dt.datetime(2028, 1, 31, 2, tzinfo=dt.UTC), dt.datetime(2028, 2, 29, 2, tzinfo=dt.UTC)),  # leap year
    (dt.datetime(2026, 12, 15, 3, 30, tzinfo=dt.UTC), dt.datetime(2027, 1, 15, 3, 30, tzinfo=dt.UTC)),
    # Beijing 2027-01-01 01:00 → 2027-02-01 01:00, which is 31 January in UTC.
    (dt.datetime(2026, 12, 31, 17, tzinfo=dt.UTC), dt.datetime(2027, 1, 31, 17, tzinfo=dt.UTC)),
])
def test_settlement_is_due_one_calendar_month_after_delivery_in_beijing(
    delivered: dt.datetime, due: dt.datetime,
) -> None:
    assert requests.one_month_after(delivered) == due


@pytest.mark.parametrize("parts", [(100, 100), (60, 60)])
async def test_answers_given_at_once_never_accept_more_than_was_asked(
    db: Database, parts: tuple[int, int],
) -> None:
    """Two commanders of the city accept the same open line at the same moment (each with its own session)."""
    w = await make_world(db)
    async with db.write() as s:  # enough fresh stock at 新建区 for both, so only the request can refuse
        await post_document(s, MovementCreate(kind="receipt", location_id=w.xjq, lines=[MovementLine(
            item_type_id=w.bags, quantity=200)]), actor="keeper")
    request_id, line = await sent(db, w, 100, to_region="3601")

    async def answer(quantity: int, who: str) -> str:
        try:
            await accept(db, request_id, line, quantity, who=principal(who, regions=("3601",)), source=w.xjq)
        except InvalidInput:
            return "422"
        except Conflict:
            return "409"
        return "ok"

    outcomes = await asyncio.gather(answer(parts[0], "duty-1"), answer(parts[1], "duty-2"))
    assert sorted(outcomes) in (["409", "ok"], ["422", "ok"]), outcomes
    async with db.read() as s:
        ln = await s.get(SupplyRequestLine, line)
        assert ln is not None and ln.accepted == parts[0] and ln.declined == 0
        assert await s.scalar(select(func.count()).select_from(SupplyRequestAnswer)) == 1
        assert await s.scalar(select(func.count()).select_from(Dispatch)) == 1
        assert int(await s.scalar(select(func.sum(Balance.reserved))) or 0) == parts[0]
        r = await s.get(SupplyRequest, request_id)
        assert r is not None and r.status == ("answered" if parts[0] == 100 else "open")


async def test_a_decline_closes_what_is_open_and_a_closed_request_takes_no_answer(db: Database) -> None:
    w = await make_world(db)
    request_id, line = await sent(db, w, 40)
    await accept(db, request_id, line, 15)
    async with db.write() as s:
        r = await requests.decline_request(s, request_id, RequestDecline(reason="区级储备不足"), XJQ)
        read = await requests.request_read(s, r)
    assert (read.status, read.outcome) == ("answered", "partly")
    assert [(ln.accepted, ln.declined, ln.open, ln.status) for ln in read.lines] == [(15, 25, 0, "partly")]
    with pytest.raises(Conflict):
        async with db.write() as s:
            await requests.decline_request(s, request_id, RequestDecline(reason="再次拒绝"), XJQ)
    with pytest.raises(Conflict):
        async with db.write() as s:
            await requests.accept_request(s, request_id, RequestAccept(approval=ORAL, lines=[
                AcceptLine(line_id=line, quantity=1)]), XJQ)
    async with db.read() as s:
        counts = await requests.request_counts(s, COUNTY)
        assert (counts.incoming_open, counts.outgoing_open) == (0, 0)
