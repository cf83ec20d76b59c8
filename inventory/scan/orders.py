"""The dispatch orders (动用指令) a scanned unit or lot is on, and the step each of its lines waits for.

A reserved unit waits to leave its depot (出库, by the keeper of that depot), a unit on its way waits to be
signed for at the incident (签收, by the keeper of the staging place), a unit delivered to the incident waits
to come back (归还, by the keeper it came from). A lot may be on several lines at once; only the ones that
concern the user are listed. The steps themselves are :mod:`inventory.response.dispatch`'s (one layer up):
this module only reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.access.permissions import allowed
from inventory.access.scope import Principal, in_scope
from inventory.store.models import Asset, Dispatch, DispatchLine, Incident, ItemType, Location, Lot

# A line's state → the scan action that takes its next step, the orders' statuses that step is open in,
# and what people read.
STEP_ACTION = {"reserved": "dispatch_execute", "executed": "dispatch_deliver", "delivered": "dispatch_return"}
ACTION_STATE = {action: state for state, action in STEP_ACTION.items()}
OPEN_FOR = {"reserved": ("reserved", "executing"), "executed": ("executing", "in_transit"),
            "delivered": ("executing", "in_transit", "delivered")}
STEP_ZH = {"reserved": "待出库", "executed": "已出库，在途待签收", "delivered": "已送达现场，待归还"}
LINE_STATE_ZH = {"reserved": "待出库", "executed": "在途", "delivered": "已送达", "returned": "已归还",
                 "released": "已释放"}
OPEN_ORDERS = ("reserved", "executing", "in_transit", "delivered")
EXECUTE = "dispatch.execute"
TASKS_SHOWN = 20  # a lot's lines listed on its page (it is rarely on more than a few)
ORDER_LINES_SHOWN = 12  # a unit's order: this many of its lines, the user's own first
LOT_LINES_READ = 200  # a lot's open dispatch lines read to find the user's among them
ORDER_LINES_READ = 500  # an order's lines read to tell the user's own from the others (an order is far smaller)


class DispatchTask(msgspec.Struct, kw_only=True):
    """A dispatch line the scanned unit or lot is on, and the step it waits for.

    ``action`` is the scan action that takes the step; ``mine``: this user may take it (role and scope). For
    ``dispatch_execute`` ``place_*`` is the source, else the incident's staging place.
    """

    action: str
    step_zh: str
    line_id: int
    dispatch_id: int
    incident_id: int
    incident_name: str
    ordered_at: dt.datetime
    quantity: int
    unit: str
    source_id: int
    source_name: str
    source_code: str
    staging_id: int
    staging_name: str
    mine: bool


class OrderLineView(msgspec.Struct, kw_only=True):
    """One line of the scanned unit's order: what, from where, where it stands, and whose it is."""

    line_id: int
    item_name: str
    quantity: int
    unit: str
    source_name: str
    detail: str  # lot number or serial number
    state: str
    state_zh: str
    mine: bool  # its source lies in the user's scope (本辖区): his to execute
    this: bool  # the scanned unit's own line


class DispatchPart(msgspec.Struct, kw_only=True):
    """What a scan shows of dispatch orders: the lines of this unit or lot that wait for a step and, for a
    unit, the other lines of its order (the user's own first, the other counties' after)."""

    tasks: list[DispatchTask] = msgspec.field(default_factory=list)
    order_lines: list[OrderLineView] = msgspec.field(default_factory=list)
    order_lines_total: int = 0
    order_lines_mine: int = 0


class _Scope:
    """``in_scope`` of one user, remembered per place (a page asks about the same few places again)."""

    def __init__(self, session: AsyncSession, principal: Principal | None) -> None:
        self.session, self.principal, self.known = session, principal, dict[int, bool]()

    async def __call__(self, location_id: int) -> bool:
        if self.principal is None:
            return False
        if location_id not in self.known:
            self.known[location_id] = await in_scope(self.session, self.principal, location_id)
        return self.known[location_id]


def _may_execute(principal: Principal | None) -> bool:
    return principal is not None and allowed(EXECUTE, principal.role)


_source, _site, _staging = aliased(Location), aliased(Location), aliased(Location)


# One row of _task_query: the line, when it was ordered, the incident's id and name, the item's unit, the
# source's name and code, its site's name (a bin's), the staging place's id and name.
TaskRow = tuple[DispatchLine, dt.datetime, int, str, str, str, str, str | None, int, str]


def _task_query() -> Select[*tuple[Any, ...]]:
    return (select(DispatchLine, Dispatch.created_at, Incident.id, Incident.name, ItemType.unit, _source.name,
                   _source.code, _site.name, _staging.id, _staging.name)
            .join(Dispatch, Dispatch.id == DispatchLine.dispatch_id)
            .join(Incident, Incident.id == Dispatch.incident_id)
            .join(ItemType, ItemType.id == DispatchLine.item_type_id)
            .join(_source, _source.id == DispatchLine.location_id)
            .outerjoin(_site, (_site.id == _source.site_id) & (_site.id != _source.id))
            .join(_staging, _staging.id == Incident.location_id))


def _open_step(state: str) -> ColumnElement[bool]:
    return (DispatchLine.state == state) & Dispatch.status.in_(OPEN_FOR[state])


async def _tasks(rows: list[TaskRow], scope: _Scope, principal: Principal | None) -> list[DispatchTask]:
    tasks = []
    for ln, ordered, incident_id, incident, unit, source, source_code, site, staging_id, staging in rows:
        # Executing and returning are the source's keeper's; signing for, the staging place's.
        place = staging_id if ln.state == "executed" else ln.location_id
        tasks.append(DispatchTask(
            action=STEP_ACTION[ln.state], step_zh=STEP_ZH[ln.state], line_id=ln.id, dispatch_id=ln.dispatch_id,
            incident_id=incident_id, incident_name=incident, ordered_at=ordered, quantity=ln.quantity, unit=unit,
            source_id=ln.location_id, source_name=f"{site} {source}" if site else source, source_code=source_code,
            staging_id=staging_id, staging_name=staging, mine=_may_execute(principal) and await scope(place)))
    return tasks


async def unit_part(session: AsyncSession, asset: Asset, principal: Principal | None) -> DispatchPart | None:
    """The dispatch line a unit waits on (reserved, on its way, or delivered and still at the incident) and the
    lines of its order; None when it is on none."""
    state = {"reserved": "reserved", "in_transit": "executed", "available": "delivered"}.get(asset.status)
    if state is None or asset.location_id is None:
        return None
    stmt = _task_query().where(DispatchLine.asset_id == asset.id, _open_step(state))
    if state != "reserved":  # on its way to, or still at, the incident's staging place
        stmt = stmt.where(Incident.location_id == asset.location_id)
    rows: list[TaskRow] = list((await session.execute(stmt.order_by(DispatchLine.id.desc()).limit(1))).all())
    if not rows:
        return None
    scope = _Scope(session, principal)
    part = DispatchPart(tasks=await _tasks(rows, scope, principal))
    await _order_lines(session, part, rows[0][0].dispatch_id, rows[0][0].id, scope)
    return part


async def _order_lines(session: AsyncSession, part: DispatchPart, dispatch_id: int, this_line: int,
                       scope: _Scope) -> None:
    rows = (await session.execute(
        select(DispatchLine, ItemType.name, ItemType.unit, _source.name, _site.name, Lot.number,
               Asset.serial_number)
        .join(ItemType, ItemType.id == DispatchLine.item_type_id)
        .join(_source, _source.id == DispatchLine.location_id)
        .outerjoin(_site, (_site.id == _source.site_id) & (_site.id != _source.id))
        .outerjoin(Lot, Lot.id == DispatchLine.lot_id).outerjoin(Asset, Asset.id == DispatchLine.asset_id)
        .where(DispatchLine.dispatch_id == dispatch_id, DispatchLine.state != "released")
        .order_by(DispatchLine.id).limit(ORDER_LINES_READ))).all()
    lines = [OrderLineView(
        line_id=ln.id, item_name=item, quantity=ln.quantity, unit=unit,
        source_name=f"{site} {source}" if site else source, detail=serial or lot or "", state=ln.state,
        state_zh=LINE_STATE_ZH.get(ln.state, ln.state), mine=await scope(ln.location_id), this=ln.id == this_line)
        for ln, item, unit, source, site, lot, serial in rows]
    lines.sort(key=lambda x: (not x.this, not x.mine))
    part.order_lines = lines[:ORDER_LINES_SHOWN]
    part.order_lines_total = len(lines)
    part.order_lines_mine = sum(1 for x in lines if x.mine)


async def lot_part(session: AsyncSession, lot_id: int, principal: Principal | None) -> DispatchPart | None:
    """The dispatch lines of a lot that concern the user: reserved at his places (to execute), on their way to
    his incidents' staging places (to sign for), delivered from his places or to his staging places (to
    return). None when there are none."""
    if principal is None:
        return None
    stmt = _task_query().where(DispatchLine.lot_id == lot_id,
                               _open_step("reserved") | _open_step("executed") | _open_step("delivered"))
    rows: list[TaskRow] = list((await session.execute(stmt.order_by(DispatchLine.id).limit(LOT_LINES_READ))).all())
    scope = _Scope(session, principal)
    tasks = []
    for task in await _tasks(rows, scope, principal):
        if task.mine or (task.action == "dispatch_return" and await scope(task.staging_id)):
            tasks.append(task)
    return DispatchPart(tasks=tasks[:TASKS_SHOWN]) if tasks else None


async def line_on(session: AsyncSession, kind: str, target_id: int, line_id: int) -> tuple[int, str] | None:
    """(order id, state) of a dispatch line of this unit or lot; None when the line is not one of its lines."""
    column = DispatchLine.asset_id if kind == "asset" else DispatchLine.lot_id
    if kind not in ("asset", "lot"):
        return None
    row = (await session.execute(select(DispatchLine.dispatch_id, DispatchLine.state)
                                 .where(DispatchLine.id == line_id, column == target_id))).first()
    return (int(row[0]), str(row[1])) if row else None
