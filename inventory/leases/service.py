"""Leases (租赁、借用) through the ledger: lend out, take back (in part), lease in, give back, extend, fees.

Lending out posts an issue (出库) from our depot naming the counterparty; serial units become ``leased_out`` and
point at a location standing for the counterparty (kind ``counterparty``, 借出在外 — not a site kind, so
``nearest`` never offers what is there). A return posts a return (归还) into the depot the keeper names; damaged
units go to maintenance, lost ones are returned on paper and a write-off request (报废申请) is raised for them, so
the usual second-person approval writes them off. Leasing in receives the units with ownership ``leased_in``;
giving them back issues them out (units end ``retired`` with a note: they are no longer ours).
Status is derived: draft (not handed over), active, overdue, returned, closed short (lost or damaged).

A handing over and a return take ``occurred_at``, when the goods really changed hands (a paper note from a day
without a phone, entered later): their documents carry it, and so do the lease's ``out_at`` and ``closed_at``,
since the fee counts the days between them. A return is never dated before the handing over; when returns are
entered out of order, ``closed_at`` is the latest of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, require_scope
from inventory.clock import BEIJING
from inventory.errors import Conflict, InvalidInput
from inventory.leases.queries import get_lease, lease_lines, reference
from inventory.leases.schemas import (
    LeaseCreate,
    LeaseExtend,
    LeaseHandOver,
    LeaseReturn,
)
from inventory.places.refs import load_item, load_place
from inventory.readiness.plans import refresh_due
from inventory.stock.assets import create_asset
from inventory.stock.documents import occurred_at_or_now
from inventory.stock.ledger import move_asset, post_document, posted_movements
from inventory.stock.schemas import AssetCreate, MovementCreate, MovementLine, MovementRead
from inventory.store.models import Asset, Document, Lease, LeaseExtension, LeaseLine, Location, utcnow
from inventory.write_offs.schemas import WriteOffCreate, WriteOffLineRequest
from inventory.write_offs.service import request_write_off

COUNTERPARTY_KIND = "counterparty"
HOLDABLE = ("available",)


async def _check_unit_free(session: AsyncSession, asset: Asset, field: str) -> None:
    if asset.status not in HOLDABLE:
        zh = {"reserved": "已预留", "deployed": "已动用", "maintenance": "维修保养中", "leased_out": "已借出",
              "in_transit": "调拨在途", "lost": "丢失", "retired": "已报废"}.get(asset.status, asset.status)
        raise Conflict(f"装备 {asset.serial_number} 当前{zh}（{asset.status}），不能借出", field=field,
                       extra={"asset_id": asset.id, "asset_status": asset.status})


async def create_lease(session: AsyncSession, data: LeaseCreate, principal: Principal) -> Lease:
    """Record a lease contract (draft until the goods change hands)."""
    if data.due_date < data.start_date:
        raise InvalidInput(f"到期日 {data.due_date} 早于起租日 {data.start_date}", field="due_date")
    depot = await load_place(session, data.location_id, field="location_id")
    await require_scope(session, principal, depot.id)
    lease = Lease(
        direction=data.direction, agreement_number=data.agreement_number.strip(),
        counterparty=data.counterparty.strip(), counterparty_kind=data.counterparty_kind,
        contact_name=data.contact_name, contact_phone=data.contact_phone, location_id=depot.id,
        start_date=data.start_date, due_date=data.due_date, fee_basis=data.fee_basis, rate=data.rate,
        deposit=data.deposit, notes=data.notes, created_by=principal.username, created_at=utcnow(),
    )
    session.add(lease)
    await session.flush()
    seen: set[int] = set()
    for i, line in enumerate(data.lines):
        f = f"lines.{i}"
        try:
            item = await load_item(session, line.item_type_id, field=f"{f}.item_type_id")
        except InvalidInput as exc:
            raise InvalidInput(f"第 {i + 1} 行：{exc.detail}", field=exc.field) from None
        if item.tracking == "serial":
            if line.quantity != 1:
                raise InvalidInput(f"第 {i + 1} 行：{item.name} 按单件管理，每行一件", field=f"{f}.quantity")
            if data.direction == "out":
                if line.asset_id is None:
                    raise InvalidInput(f"第 {i + 1} 行：借出 {item.name} 须指明装备 asset_id", field=f"{f}.asset_id")
                asset = await session.get(Asset, line.asset_id)
                if asset is None or asset.item_type_id != item.id:
                    raise InvalidInput(f"第 {i + 1} 行：装备 id={line.asset_id} 不存在或不是 {item.name}",
                                       field=f"{f}.asset_id")
                if asset.id in seen:
                    raise InvalidInput(f"装备 {asset.serial_number} 出现了两次", field=f"{f}.asset_id")
                seen.add(asset.id)
                await _check_unit_free(session, asset, f"{f}.asset_id")
            elif not line.serial_number.strip():
                raise InvalidInput(f"第 {i + 1} 行：租入 {item.name} 须填写序列号 serial_number",
                                   field=f"{f}.serial_number")
        elif line.asset_id is not None or line.serial_number:
            raise InvalidInput(f"第 {i + 1} 行：{item.name} 按数量管理，不填装备", field=f"{f}.asset_id")
        session.add(LeaseLine(lease_id=lease.id, item_type_id=item.id, lot_id=line.lot_id,
                              asset_id=line.asset_id if data.direction == "out" else None,
                              serial_number=line.serial_number.strip(), quantity=line.quantity, returned=0,
                              damaged=0, lost=0, condition_out=line.condition_out, condition_back=""))
    await session.flush()
    return lease


async def _counterparty_location(session: AsyncSession, lease: Lease) -> int:
    """The location standing for the counterparty (借出在外·name), created on first use."""
    code = "JCZW-" + hashlib.sha1(lease.counterparty.encode()).hexdigest()[:12].upper()
    found = await session.scalar(select(Location.id).where(Location.code == code))
    if found is not None:
        return int(found)
    depot = await load_place(session, lease.location_id)
    loc = Location(code=code, name=f"借出在外·{lease.counterparty}"[:100], kind=COUNTERPARTY_KIND, path="",
                   region_code=depot.region_code, contact_name=lease.contact_name,
                   contact_phone=lease.contact_phone, active=True)
    session.add(loc)
    await session.flush()
    loc.path = f"/{loc.id}/"
    loc.site_id = loc.id
    await session.flush()
    return loc.id


async def _locked_lease(session: AsyncSession, lease_id: int) -> Lease:
    lease = await session.scalar(select(Lease).where(Lease.id == lease_id).with_for_update()
                                 .execution_options(populate_existing=True))
    if lease is None:
        await get_lease(session, lease_id)  # NotFound
    assert lease is not None
    return lease


async def hand_over(session: AsyncSession, lease_id: int, principal: Principal,
                    data: LeaseHandOver | None = None) -> Lease:
    """The goods change hands: lend ours out (issue, units leased_out) or receive theirs (units leased_in);
    ``data.occurred_at`` is when that really happened (default now)."""
    occurred = occurred_at_or_now(data.occurred_at if data else None)
    lease = await _locked_lease(session, lease_id)
    await require_scope(session, principal, lease.location_id)
    if lease.out_at is not None:
        raise Conflict(f"租借合同 #{lease.id} 已交付，不能重复办理")
    lines = await lease_lines(session, lease.id)
    actor = principal.username
    why = f"租借合同 #{lease.id} {lease.agreement_number}".strip()
    if lease.direction == "out":
        cp = await _counterparty_location(session, lease)
        lease.counterparty_location_id = cp
        for i, ln in enumerate(lines):
            if ln.asset_id is not None:
                asset = await session.get(Asset, ln.asset_id)
                assert asset is not None
                await session.refresh(asset)
                await _check_unit_free(session, asset, f"lines.{i}.asset_id")
        doc = await post_document(session, MovementCreate(
            kind="issue", location_id=lease.location_id, reason=f"借出：{why}"[:200], reference=reference(lease.id),
            counterparty=lease.counterparty, occurred_at=occurred,
            lines=[MovementLine(item_type_id=ln.item_type_id, quantity=ln.quantity, lot_id=ln.lot_id,
                                asset_ids=[ln.asset_id] if ln.asset_id else []) for ln in lines],
        ), actor=actor)
        for i, ln in enumerate(lines):
            if ln.asset_id is not None:
                asset = await session.get(Asset, ln.asset_id)
                assert asset is not None
                await move_asset(session, asset, expect_status=("deployed",), expect_location=None,
                                 status="leased_out", location_id=cp, field=f"lines.{i}.asset_id")
        await _pin_lots(session, lines, posted_movements(session, doc.id) or [])
    else:
        bulk = [ln for ln in lines if ln.asset_id is None and not ln.serial_number]
        for ln in lines:
            if ln.serial_number:
                asset = await create_asset(session, AssetCreate(
                    item_type_id=ln.item_type_id, serial_number=ln.serial_number, location_id=lease.location_id,
                    ownership="leased_in", notes=f"租入：{lease.counterparty} {why}"[:200]), actor=actor,
                    occurred_at=occurred)
                await refresh_due(session, Asset.id == asset.id)  # its maintenance plans set the first due date
                ln.asset_id = asset.id
        if bulk:
            await post_document(session, MovementCreate(
                kind="receipt", location_id=lease.location_id, reason=f"租入：{why}"[:200],
                reference=reference(lease.id), counterparty=lease.counterparty, occurred_at=occurred,
                lines=[MovementLine(item_type_id=ln.item_type_id, quantity=ln.quantity, lot_id=ln.lot_id)
                       for ln in bulk],
            ), actor=actor)
    lease.out_at = occurred
    await session.flush()
    return lease


async def _pin_lots(session: AsyncSession, lines: list[LeaseLine], movements: list[MovementRead]) -> None:
    """Bulk lines lent without a lot: record the lots the ledger picked (a line split per lot)."""
    taken: dict[int, list[tuple[int | None, int]]] = defaultdict(list)
    for m in movements:
        if m.asset_id is None and m.bucket == "on_hand":
            taken[m.item_type_id].append((m.lot_id, -m.quantity))
    for ln in lines:
        if ln.asset_id is not None or ln.lot_id is not None or not taken.get(ln.item_type_id):
            continue
        need = ln.quantity
        picks = taken[ln.item_type_id]
        first = True
        while need > 0 and picks:
            lot_id, qty = picks[0]
            take = min(qty, need)
            if take == qty:
                picks.pop(0)
            else:
                picks[0] = (lot_id, qty - take)
            if first:
                ln.lot_id, ln.quantity, first = lot_id, take, False
            else:
                session.add(LeaseLine(lease_id=ln.lease_id, item_type_id=ln.item_type_id, lot_id=lot_id,
                                      quantity=take, serial_number="", returned=0, damaged=0, lost=0,
                                      condition_out=ln.condition_out, condition_back=""))
            need -= take
    await session.flush()


async def take_back(session: AsyncSession, lease_id: int, data: LeaseReturn, principal: Principal) -> Lease:
    """A return in full or in part: lent goods come back to a depot, leased-in goods go back to their owner;
    ``data.occurred_at`` is when that really happened (default now; not before the handing over)."""
    occurred = occurred_at_or_now(data.occurred_at)
    lease = await _locked_lease(session, lease_id)
    await require_scope(session, principal, lease.location_id)
    if lease.out_at is None:
        raise Conflict(f"租借合同 #{lease.id} 尚未交付，无可归还")
    if lease.closed_at is not None:
        raise Conflict(f"租借合同 #{lease.id} 已结案")
    if occurred < lease.out_at:
        if data.occurred_at is not None:
            raise InvalidInput(f"归还时间 {_shown(occurred)} 早于交付时间 {_shown(lease.out_at)}",
                               field="occurred_at")
        occurred = lease.out_at  # handed over "now" by a phone whose clock runs a few minutes fast
    depot_id = data.location_id or lease.location_id
    await load_place(session, depot_id, field="location_id")
    await require_scope(session, principal, depot_id)
    by_id = {ln.id: ln for ln in await lease_lines(session, lease.id)}
    asked: dict[int, int] = defaultdict(int)
    for i, r in enumerate(data.lines):
        ln = by_id.get(r.line_id)
        if ln is None:
            raise InvalidInput(f"第 {i + 1} 行：明细 id={r.line_id} 不属于租借合同 #{lease.id}",
                               field=f"lines.{i}.line_id")
        asked[ln.id] += r.quantity
        outstanding = ln.quantity - ln.returned - ln.lost
        if asked[ln.id] > outstanding:
            raise Conflict(f"第 {i + 1} 行：归还 {asked[ln.id]} 超过未还数量 {outstanding}",
                           field=f"lines.{i}.quantity", extra={"outstanding": outstanding, "requested": asked[ln.id]})
    why = f"租借合同 #{lease.id} {lease.agreement_number}".strip()
    actor = principal.username
    movement_lines: list[MovementLine] = []
    lost_lines: list[WriteOffLineRequest] = []
    damaged_units: list[tuple[int, str]] = []
    for i, r in enumerate(data.lines):
        ln = by_id[r.line_id]
        if lease.direction == "out" and ln.asset_id is not None:
            asset = await session.get(Asset, ln.asset_id)
            assert asset is not None
            await move_asset(session, asset, expect_status=("leased_out",),
                             expect_location=lease.counterparty_location_id, status="deployed", location_id=None,
                             field=f"lines.{i}.line_id")
        movement_lines.append(MovementLine(item_type_id=ln.item_type_id, quantity=r.quantity, lot_id=ln.lot_id,
                                           asset_ids=[ln.asset_id] if ln.asset_id else []))
        if r.condition == "lost":
            lost_lines.append(WriteOffLineRequest(item_type_id=ln.item_type_id, quantity=r.quantity, lot_id=ln.lot_id,
                                                  asset_ids=[ln.asset_id] if ln.asset_id else []))
            ln.lost += r.quantity
        else:
            ln.returned += r.quantity
            if r.condition == "damaged":
                ln.damaged += r.quantity
                if ln.asset_id is not None:
                    damaged_units.append((ln.asset_id, r.note))
        note = {"ok": "完好", "damaged": "损坏", "lost": "丢失"}[r.condition] + (f"：{r.note}" if r.note else "")
        ln.condition_back = note[:200]
    if lease.direction == "out":
        await post_document(session, MovementCreate(
            kind="return", location_id=depot_id, reason=f"借出归还：{why}"[:200], reference=reference(lease.id),
            counterparty=lease.counterparty, lines=movement_lines, occurred_at=occurred), actor=actor)
        for asset_id, note in damaged_units:
            asset = await session.get(Asset, asset_id)
            assert asset is not None
            await move_asset(session, asset, expect_status=("available",), expect_location=depot_id,
                             status="maintenance", location_id=depot_id, field="lines")
            asset.readiness, asset.fault_note = "fault", (note or "借出归还时损坏")[:200]
        if lost_lines:
            await request_write_off(session, WriteOffCreate(
                location_id=depot_id, lines=lost_lines,
                reason=f"租借合同 #{lease.id} 借出丢失（{lease.counterparty}）"[:200]), actor=actor)
    else:
        given = [ml for ml, r in zip(movement_lines, data.lines, strict=True) if r.condition != "lost"]
        if given:
            await _give_back(session, lease, given, why, actor, occurred)
        if lost_lines:
            await request_write_off(session, WriteOffCreate(
                location_id=lease.location_id, lines=lost_lines,
                reason=f"租借合同 #{lease.id} 租入物资丢失，须赔偿（{lease.counterparty}）"[:200]), actor=actor)
    if all(ln.returned + ln.lost >= ln.quantity for ln in by_id.values()):
        lease.closed_at = max(occurred, await _latest_document(session, lease) or occurred)
    await session.flush()
    return lease


def _shown(when: dt.datetime) -> str:
    return f"{when.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）"


async def _latest_document(session: AsyncSession, lease: Lease) -> dt.datetime | None:
    """When the lease's latest document happened (its returns may be entered out of order); only documents
    posted since the lease was recorded are read (``created_at`` is indexed, ``reference`` is not)."""
    await session.flush()
    return await session.scalar(select(func.max(Document.occurred_at)).where(
        Document.created_at >= lease.created_at, Document.reference == reference(lease.id)))


async def _give_back(session: AsyncSession, lease: Lease, lines: list[MovementLine], why: str, actor: str,
                     occurred: dt.datetime) -> None:
    """Leased-in goods go back to their owner: issued out; the units are no longer ours."""
    by_place: dict[int, list[MovementLine]] = defaultdict(list)
    for ml in lines:
        if ml.asset_ids:
            asset = await session.get(Asset, ml.asset_ids[0])
            assert asset is not None
            by_place[asset.location_id or lease.location_id].append(ml)
        else:
            by_place[lease.location_id].append(ml)
    for place, group in sorted(by_place.items()):
        await post_document(session, MovementCreate(
            kind="issue", location_id=place, reason=f"租入退还：{why}"[:200], reference=reference(lease.id),
            counterparty=lease.counterparty, lines=group, occurred_at=occurred), actor=actor)
        for ml in group:
            for asset_id in ml.asset_ids:
                asset = await session.get(Asset, asset_id)
                assert asset is not None
                await move_asset(session, asset, expect_status=("deployed",), expect_location=None,
                                 status="retired", location_id=None, field="lines")
                asset.notes = f"已退还出租方 {lease.counterparty}"[:200]


async def extend(session: AsyncSession, lease_id: int, data: LeaseExtend, principal: Principal) -> Lease:
    """Move the due date later; the old one stays in the extension history."""
    lease = await _locked_lease(session, lease_id)
    await require_scope(session, principal, lease.location_id)
    if lease.closed_at is not None:
        raise Conflict(f"租借合同 #{lease.id} 已结案，不能续租")
    if data.due_date <= lease.due_date:
        raise InvalidInput(f"新的到期日 {data.due_date} 须晚于当前到期日 {lease.due_date}", field="due_date")
    session.add(LeaseExtension(lease_id=lease.id, previous_due=lease.due_date, new_due=data.due_date,
                               reason=data.reason, actor=principal.username, created_at=utcnow()))
    lease.due_date = data.due_date
    await session.flush()
    return lease
