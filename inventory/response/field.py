"""The keeper's side of dispatch orders (动用指令): the orders waiting for him at his places.

An order waits for a keeper while a line of it is reserved at a place in his scope (he executes it: 出库) or
has left for an incident whose staging place is in his scope (he signs for it: 签收). An order spanning
several counties waits for each county's keeper for his own lines; the others are listed as other units'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import msgspec
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.access.scope import Principal
from inventory.response.order_views import DISPATCH_STATUS_ZH, LINE_STATE_ZH
from inventory.scan.resolve import scope_clause
from inventory.store.models import Asset, Dispatch, DispatchLine, Incident, ItemType, Location, Lot

WAITING_STATUSES = ("reserved", "executing", "in_transit")
ORDERS_SHOWN = 10
LINES_READ = 2000  # the lines of the orders shown, read at most (an order has a few dozen)


class WaitingLine(msgspec.Struct, kw_only=True):
    """One line of a waiting order: what, how many, from where; ``mine``: the keeper's to act on now."""

    line_id: int
    item_name: str
    quantity: int
    unit: str
    source_name: str
    detail: str  # the lot number or the serial number
    state: str
    state_zh: str
    mine: bool
    step: str = ""  # execute | deliver, for the keeper's own lines


class WaitingOrder(msgspec.Struct, kw_only=True):
    """An open order with lines the keeper must act on: to execute at his places, to sign for at his incident."""

    dispatch_id: int
    incident_id: int
    incident_name: str
    status: str
    status_zh: str
    ordered_at: dt.datetime
    lines: list[WaitingLine]
    to_execute: int  # his lines still reserved at his places
    to_deliver: int  # his lines on their way to his staging place
    others: int  # lines that are other keepers' (other counties') or already done


async def waiting_orders(session: AsyncSession, principal: Principal,
                         limit: int = ORDERS_SHOWN) -> list[WaitingOrder]:
    """The open orders (newest first, at most ``limit``) with lines this keeper must execute or sign for; an
    admin sees every such order. Each with its lines, the keeper's own first."""
    source, staging = aliased(Location), aliased(Location)
    execute = and_(DispatchLine.state == "reserved", scope_clause(principal, source))
    deliver = and_(DispatchLine.state == "executed", scope_clause(principal, staging))
    waiting = (select(DispatchLine.id).join(source, source.id == DispatchLine.location_id)
               .where(DispatchLine.dispatch_id == Dispatch.id, or_(execute, deliver)))
    orders = (await session.execute(
        select(Dispatch, Incident.name).join(Incident, Incident.id == Dispatch.incident_id)
        .join(staging, staging.id == Incident.location_id)
        .where(Dispatch.status.in_(WAITING_STATUSES), exists(waiting))
        .order_by(Dispatch.id.desc()).limit(limit))).all()
    if not orders:
        return []
    site = aliased(Location)
    rows = (await session.execute(
        select(DispatchLine, ItemType.name, ItemType.unit, source.name, site.name, Lot.number, Asset.serial_number,
               execute.label("execute"), deliver.label("deliver"))
        .join(Dispatch, Dispatch.id == DispatchLine.dispatch_id)
        .join(Incident, Incident.id == Dispatch.incident_id)
        .join(staging, staging.id == Incident.location_id)
        .join(ItemType, ItemType.id == DispatchLine.item_type_id)
        .join(source, source.id == DispatchLine.location_id)
        .outerjoin(site, and_(site.id == source.site_id, site.id != source.id))
        .outerjoin(Lot, Lot.id == DispatchLine.lot_id).outerjoin(Asset, Asset.id == DispatchLine.asset_id)
        .where(DispatchLine.dispatch_id.in_([d.id for d, _ in orders]), DispatchLine.state != "released")
        .order_by(DispatchLine.id).limit(LINES_READ))).all()
    lines: dict[int, list[WaitingLine]] = defaultdict(list)
    for ln, item, unit, place, site_name, lot, serial, to_execute, to_deliver in rows:
        step = "execute" if to_execute else "deliver" if to_deliver else ""
        lines[ln.dispatch_id].append(WaitingLine(
            line_id=ln.id, item_name=item, quantity=ln.quantity, unit=unit,
            source_name=f"{site_name} {place}" if site_name else place, detail=serial or lot or "",
            state=ln.state, state_zh=LINE_STATE_ZH.get(ln.state, ln.state), mine=bool(step), step=step))
    found = []
    for d, incident_name in orders:
        own = sorted(lines[d.id], key=lambda x: not x.mine)
        found.append(WaitingOrder(
            dispatch_id=d.id, incident_id=d.incident_id, incident_name=incident_name, status=d.status,
            status_zh=DISPATCH_STATUS_ZH.get(d.status, d.status), ordered_at=d.created_at, lines=own,
            to_execute=sum(1 for x in own if x.step == "execute"),
            to_deliver=sum(1 for x in own if x.step == "deliver"),
            others=sum(1 for x in own if not x.mine)))
    return found
