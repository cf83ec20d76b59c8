"""The one- or two-tap actions of the scan pages, each a thin wrapper over the ledger and asset services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.accounts import Principal, require_scope
from inventory.assets import get_asset, next_due
from inventory.errors import Conflict, InvalidInput
from inventory.ledger import post_document
from inventory.ledger_schemas import LotSpec, MovementCreate, MovementLine, ReceiveLine, TransferReceive
from inventory.models import Asset, Balance, Document, ItemType, Location, Lot, Movement, utcnow
from inventory.transfers import receive_transfer


def _top(path: str) -> str:
    """The outermost location of a path ("/3/9/" → "3")."""
    return path.strip("/").split("/")[0]


async def checkout(session: AsyncSession, p: Principal, asset_id: int, counterparty: str, reason: str) -> Document:
    """Issue a unit to a person, unit or incident (领用出库)."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    if not counterparty.strip():
        raise InvalidInput("请填写领用人、单位或事件", field="counterparty")
    assert asset.location_id is not None
    return await post_document(session, MovementCreate(
        kind="issue", location_id=asset.location_id, counterparty=counterparty.strip(), reason=reason,
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)


async def checkin(session: AsyncSession, p: Principal, asset_id: int, location_id: int, reason: str) -> Document:
    """Take a unit back into a location (归还入库)."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, location_id)
    return await post_document(session, MovementCreate(
        kind="return", location_id=location_id, reason=reason or "扫码归还",
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)


async def move(session: AsyncSession, p: Principal, asset_id: int, to_location_id: int) -> Document:
    """Move a unit: within one depot (shelf to shelf) at once, to another place as a transfer in transit."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    source = await session.get(Location, asset.location_id)
    target = await session.get(Location, to_location_id)
    if source is None or target is None:
        raise InvalidInput("目的地点不存在", field="to_location_id")
    doc = await post_document(session, MovementCreate(
        kind="transfer", location_id=source.id, to_location_id=target.id, reason="扫码移库",
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)
    if _top(source.path) == _top(target.path):
        await receive_transfer(session, doc.id, TransferReceive(), actor=p.username)
    return doc


async def receive_asset(session: AsyncSession, p: Principal, asset_id: int) -> Document:
    """Sign for a unit that arrived on a transfer (到货签收)."""
    asset = await get_asset(session, asset_id)
    if asset.status != "in_transit" or asset.location_id is None:
        raise Conflict("这件装备不在调拨途中")
    await require_scope(session, p, asset.location_id)
    transfer_id = await session.scalar(
        select(Movement.document_id).join(Document, Document.id == Movement.document_id)
        .where(Movement.asset_id == asset.id, Document.kind == "transfer", Movement.bucket == "in_transit")
        .order_by(Movement.id.desc()).limit(1))
    if transfer_id is None:
        raise Conflict("找不到这件装备的调拨单")
    return await receive_transfer(session, transfer_id, TransferReceive(lines=[
        ReceiveLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)


async def inspect(session: AsyncSession, p: Principal, asset_id: int, battery: int | None, fuel: int | None,
                  ok: bool, note: str) -> Asset:
    """Record an inspection: battery and fuel, OK or a fault note."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    for name, value in (("battery_pct", battery), ("fuel_pct", fuel)):
        if value is not None and not 0 <= value <= 100:
            raise InvalidInput("电量、油量须在 0–100 之间", field=name)
    if not ok and not note.strip():
        raise InvalidInput("有故障时请写明故障情况", field="note")
    it = await session.get(ItemType, asset.item_type_id)
    now = utcnow()
    asset.battery_pct = battery if battery is not None else asset.battery_pct
    asset.fuel_pct = fuel if fuel is not None else asset.fuel_pct
    asset.readiness = "ok" if ok else "fault"
    asset.fault_note = "" if ok else note.strip()[:200]
    asset.last_inspected_at = now
    asset.next_inspection_due = next_due(now, it.inspection_interval_days if it else None)
    if ok and asset.status == "maintenance":
        asset.status = "available"
    asset.updated_at = now
    await session.flush()
    return asset


async def damaged(session: AsyncSession, p: Principal, asset_id: int, note: str) -> Asset:
    """Report a unit damaged: it goes to maintenance and is no longer dispatched."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    if not note.strip():
        raise InvalidInput("请写明损坏情况", field="note")
    if asset.status not in ("available", "maintenance"):
        raise Conflict(f"装备当前状态为 {asset.status}，不能报损")
    asset.status, asset.readiness, asset.fault_note, asset.updated_at = "maintenance", "fault", note[:200], utcnow()
    await session.flush()
    return asset


async def lost(session: AsyncSession, p: Principal, asset_id: int, reason: str) -> Document:
    """Report a unit lost (报失): a 盘亏 adjustment takes it off the books."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    assert asset.location_id is not None
    return await post_document(session, MovementCreate(
        kind="adjustment", location_id=asset.location_id, reason=f"报失：{reason.strip() or '扫码报失'}",
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=-1, asset_ids=[asset.id])]), actor=p.username)


async def issue_lot(session: AsyncSession, p: Principal, lot_id: int, location_id: int, quantity: int,
                    counterparty: str) -> Document:
    """Issue a quantity of this lot from one location."""
    lot = await session.get(Lot, lot_id)
    assert lot is not None
    await require_scope(session, p, location_id)
    if not counterparty.strip():
        raise InvalidInput("请填写领用人、单位或事件", field="counterparty")
    return await post_document(session, MovementCreate(
        kind="issue", location_id=location_id, counterparty=counterparty.strip(), reason="扫码出库",
        lines=[MovementLine(item_type_id=lot.item_type_id, quantity=quantity, lot_id=lot.id)]), actor=p.username)


async def move_lot(session: AsyncSession, p: Principal, lot_id: int, location_id: int, to_location_id: int,
                   quantity: int) -> Document:
    """Move a quantity of this lot to another place (at once within one depot, else in transit)."""
    lot = await session.get(Lot, lot_id)
    assert lot is not None
    await require_scope(session, p, location_id)
    source, target = await session.get(Location, location_id), await session.get(Location, to_location_id)
    if source is None or target is None:
        raise InvalidInput("目的地点不存在", field="to_location_id")
    doc = await post_document(session, MovementCreate(
        kind="transfer", location_id=location_id, to_location_id=to_location_id, reason="扫码移库",
        lines=[MovementLine(item_type_id=lot.item_type_id, quantity=quantity, lot_id=lot.id)]), actor=p.username)
    if _top(source.path) == _top(target.path):
        await receive_transfer(session, doc.id, TransferReceive(), actor=p.username)
    return doc


async def receive_here(session: AsyncSession, p: Principal, location_id: int, item_type_id: int, quantity: int,
                       lot_number: str, expiry: dt.date | None, reason: str) -> Document:
    """Receive goods at this location (入库), optionally into a lot."""
    await require_scope(session, p, location_id)
    lot = LotSpec(number=lot_number.strip(), expiry_date=expiry) if lot_number.strip() else None
    return await post_document(session, MovementCreate(
        kind="receipt", location_id=location_id, reason=reason or "扫码入库",
        lines=[MovementLine(item_type_id=item_type_id, quantity=quantity, lot=lot)]), actor=p.username)


async def count_here(session: AsyncSession, p: Principal, location_id: int, item_type_id: int,
                     counted: int) -> Document | None:
    """A spot count of a bulk item at this location: the difference is posted as 盘盈/盘亏 (None if equal)."""
    await require_scope(session, p, location_id)
    it = await session.get(ItemType, item_type_id)
    if it is None or it.tracking != "bulk":
        raise InvalidInput("单件装备请逐件扫码盘点；此处只盘点按数量管理的物资", field="item_type_id")
    if counted < 0:
        raise InvalidInput("实盘数量不能为负", field="counted")
    book = int(await session.scalar(select(func.coalesce(func.sum(Balance.on_hand), 0)).where(
        Balance.location_id == location_id, Balance.item_type_id == item_type_id)) or 0)
    if counted == book:
        return None
    return await post_document(session, MovementCreate(
        kind="adjustment", location_id=location_id, reason=f"扫码盘点：账面 {book}，实盘 {counted}",
        lines=[MovementLine(item_type_id=item_type_id, quantity=counted - book)]), actor=p.username)
