"""The one- or two-tap actions of the scan pages, each a thin wrapper over the ledger and asset services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, require_scope
from inventory.errors import Conflict, InvalidInput, NotFound
from inventory.readiness.checks import record_check
from inventory.readiness.schemas import CheckCreate
from inventory.scan.resolve import STATUS_ZH
from inventory.stock.assets import get_asset
from inventory.stock.ledger import move_asset, post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine, ReceiveLine, TransferReceive
from inventory.stock.transfers import receive_transfer
from inventory.store.label_codes import resolve
from inventory.store.models import Asset, Balance, Document, ItemType, Location, Lot, Movement
from labels.codes import InvalidCode, code_from_payload

COUNTERPARTY_MAX = 100
REASON_MAX = 200


def _top(path: str) -> str:
    """The outermost location of a path ("/3/9/" → "3")."""
    return path.strip("/").split("/")[0]


def _counterparty(text: str) -> str:
    """Who takes the goods: required, at most 100 characters."""
    text = text.strip()
    if not text:
        raise InvalidInput("请填写领用人、单位或事件", field="counterparty")
    if len(text) > COUNTERPARTY_MAX:
        raise InvalidInput(f"领用人、单位或事件最多 {COUNTERPARTY_MAX} 个字（现在 {len(text)} 个）",
                           field="counterparty")
    return text


async def resolve_place(session: AsyncSession, text: str) -> int:
    """The place a keeper named: a scanned or typed label code (or the QR's address), a location code or name."""
    text = text.strip()
    if not text:
        raise InvalidInput("请在“移到”中选择地点，或扫描、输入货架/地点标签上的编码", field="to")
    try:
        code: str | None = code_from_payload(text)
    except InvalidCode:
        code = None  # not a label: a location code or name
    if code is not None:
        try:
            found = await resolve(session, code)
        except NotFound:
            raise InvalidInput(f"标签 {code} 不是本系统打印的标签，请核对", field="to") from None
        if found.kind != "location":
            raise InvalidInput(f"标签 {code} 是装备或批次的标签，请扫描货架或地点的标签", field="to")
        if not found.active:
            raise InvalidInput(f"标签 {code} 已停用，请扫描新标签 {found.replaced_by}", field="to")
        return found.target_id
    by_code = await session.scalar(select(Location.id).where(func.upper(Location.code) == text.upper()))
    if by_code is not None:
        return by_code
    named = list(await session.scalars(select(Location.id).where(Location.name == text, Location.active.is_(True))
                                       .limit(2)))
    if len(named) == 1:
        return named[0]
    if named:
        raise InvalidInput(f"有多个地点名为“{text}”，请输入地点编码或扫描它的标签", field="to")
    raise InvalidInput(f"没有找到地点“{text}”：请从列表中选择，或扫描、输入货架/地点标签上的编码", field="to")


async def _target(session: AsyncSession, location_id: int) -> Location:
    target = await session.get(Location, location_id)
    if target is None or not target.active:
        raise InvalidInput("目的地点不存在或已停用", field="to")
    return target


async def checkout(session: AsyncSession, p: Principal, asset_id: int, counterparty: str, reason: str,
                   when: dt.datetime | None = None) -> Document:
    """Issue a unit to a person, unit or incident (领用出库)."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    who = _counterparty(counterparty)
    if len(reason.strip()) > REASON_MAX:
        raise InvalidInput(f"用途最多 {REASON_MAX} 个字（现在 {len(reason.strip())} 个）", field="reason")
    assert asset.location_id is not None
    return await post_document(session, MovementCreate(
        occurred_at=when, kind="issue", location_id=asset.location_id, counterparty=who, reason=reason.strip(),
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)


async def checkin(session: AsyncSession, p: Principal, asset_id: int, location_id: int, reason: str,
                  when: dt.datetime | None = None) -> Document:
    """Take a unit back into a location (归还入库)."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, location_id)
    return await post_document(session, MovementCreate(
        occurred_at=when, kind="return", location_id=location_id, reason=reason or "扫码归还",
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)


async def move(session: AsyncSession, p: Principal, asset_id: int, to_location_id: int,
               when: dt.datetime | None = None) -> Document:
    """Move a unit: within one depot (shelf to shelf) at once, to another place as a transfer in transit."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    source = await session.get(Location, asset.location_id)
    target = await _target(session, to_location_id)
    assert source is not None
    doc = await post_document(session, MovementCreate(
        occurred_at=when, kind="transfer", location_id=source.id, to_location_id=target.id, reason="扫码移库",
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)
    if _top(source.path) == _top(target.path):
        await receive_transfer(session, doc.id, TransferReceive(occurred_at=when), actor=p.username)
    return doc


async def receive_asset(session: AsyncSession, p: Principal, asset_id: int,
                        when: dt.datetime | None = None) -> Document:
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
    return await receive_transfer(session, transfer_id, TransferReceive(occurred_at=when, lines=[
        ReceiveLine(item_type_id=asset.item_type_id, quantity=1, asset_ids=[asset.id])]), actor=p.username)


async def inspect(session: AsyncSession, p: Principal, asset_id: int, data: CheckCreate) -> Asset:
    """Record a check (检查) from the phone: the task, the result and the readings, as an append-only record."""
    await record_check(session, asset_id, data, p)
    return await get_asset(session, asset_id)


async def damaged(session: AsyncSession, p: Principal, asset_id: int, note: str,
                  when: dt.datetime | None = None) -> Asset:
    """Report a unit damaged: a fault check is recorded and it goes to maintenance, no longer dispatched."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    if not note.strip():
        raise InvalidInput("请写明损坏情况", field="note")
    if asset.status not in ("available", "maintenance"):
        raise Conflict(f"装备当前状态为“{STATUS_ZH.get(asset.status, asset.status)}”，不能报损")
    await record_check(session, asset.id, CheckCreate(task="other", result="fault",
                                                      fault_description=note.strip()[:300], notes="扫码报损",
                                                      performed_at=when), p)
    if asset.status == "available":
        await move_asset(session, asset, expect_status=("available",), expect_location=asset.location_id,
                         status="maintenance", location_id=asset.location_id, field="asset_id")
    return asset


async def lost(session: AsyncSession, p: Principal, asset_id: int, reason: str,
               when: dt.datetime | None = None) -> Document:
    """Report a unit lost (报失): a 盘亏 adjustment takes it off the books."""
    asset = await get_asset(session, asset_id)
    await require_scope(session, p, asset.location_id)
    assert asset.location_id is not None
    return await post_document(session, MovementCreate(
        occurred_at=when, kind="adjustment", location_id=asset.location_id,
        reason=f"报失：{reason.strip()[:150] or '扫码报失'}",
        lines=[MovementLine(item_type_id=asset.item_type_id, quantity=-1, asset_ids=[asset.id])]), actor=p.username)


async def issue_lot(session: AsyncSession, p: Principal, lot_id: int, location_id: int, quantity: int,
                    counterparty: str, when: dt.datetime | None = None) -> Document:
    """Issue a quantity of this lot from one location."""
    lot = await session.get(Lot, lot_id)
    assert lot is not None
    await require_scope(session, p, location_id)
    who = _counterparty(counterparty)
    return await post_document(session, MovementCreate(
        occurred_at=when, kind="issue", location_id=location_id, counterparty=who, reason="扫码出库",
        lines=[MovementLine(item_type_id=lot.item_type_id, quantity=quantity, lot_id=lot.id)]), actor=p.username)


async def move_lot(session: AsyncSession, p: Principal, lot_id: int, location_id: int, to_location_id: int,
                   quantity: int, when: dt.datetime | None = None) -> Document:
    """Move a quantity of this lot to another place (at once within one depot, else in transit)."""
    lot = await session.get(Lot, lot_id)
    assert lot is not None
    await require_scope(session, p, location_id)
    source, target = await session.get(Location, location_id), await _target(session, to_location_id)
    if source is None:
        raise InvalidInput("出发地点不存在", field="location_id")
    doc = await post_document(session, MovementCreate(
        occurred_at=when, kind="transfer", location_id=location_id, to_location_id=to_location_id, reason="扫码移库",
        lines=[MovementLine(item_type_id=lot.item_type_id, quantity=quantity, lot_id=lot.id)]), actor=p.username)
    if _top(source.path) == _top(target.path):
        await receive_transfer(session, doc.id, TransferReceive(occurred_at=when), actor=p.username)
    return doc


async def receive_here(session: AsyncSession, p: Principal, location_id: int, item_type_id: int, quantity: int,
                       lot_number: str, expiry: dt.date | None, reason: str,
                       when: dt.datetime | None = None) -> Document:
    """Receive goods at this location (入库), optionally into a lot."""
    await require_scope(session, p, location_id)
    lot = LotSpec(number=lot_number.strip(), expiry_date=expiry) if lot_number.strip() else None
    return await post_document(session, MovementCreate(
        occurred_at=when, kind="receipt", location_id=location_id, reason=reason or "扫码入库",
        lines=[MovementLine(item_type_id=item_type_id, quantity=quantity, lot=lot)]), actor=p.username)


async def count_here(session: AsyncSession, p: Principal, location_id: int, item_type_id: int,
                     counted: int, when: dt.datetime | None = None) -> Document | None:
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
        occurred_at=when, kind="adjustment", location_id=location_id, reason=f"扫码盘点：账面 {book}，实盘 {counted}",
        lines=[MovementLine(item_type_id=item_type_id, quantity=counted - book)]), actor=p.username)
