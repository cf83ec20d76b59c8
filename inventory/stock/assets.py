"""Assets (装备单件): serial units with status, place, ownership and readiness."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.service import get_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InvalidInput
from inventory.places.locations import get_location
from inventory.schemas import Page
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, AssetRead, AssetUpdate, MovementCreate, MovementLine
from inventory.store.keyset import Order, after_row, check_paging, page_rows
from inventory.store.label_codes import issue_label
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Asset, ItemType, utcnow

_BY_ID: Order = ((Asset.id, False),)  # the order of list_assets
# Status changes a PATCH may make; every other change goes through the ledger or a dispatch.
PATCHABLE_STATUS = {("available", "maintenance"), ("maintenance", "available")}


def next_due(last: dt.datetime | None, interval_days: int | None) -> dt.date | None:
    """When the next inspection is due, from the last one and the item type's interval."""
    if last is None or interval_days is None:
        return None
    return (last + dt.timedelta(days=interval_days)).date()


def is_overdue(due: dt.date | None, today: dt.date | None = None) -> bool:
    """True when an inspection was due before today."""
    return due is not None and due < (today or beijing_today())


def asset_read(a: Asset) -> AssetRead:
    """The public view of an asset."""
    return AssetRead(
        id=a.id, item_type_id=a.item_type_id, serial_number=a.serial_number, label_code=a.label_code,
        status=a.status, location_id=a.location_id, ownership=a.ownership, readiness=a.readiness,
        battery_pct=a.battery_pct, fuel_pct=a.fuel_pct, fault_note=a.fault_note,
        last_inspected_at=a.last_inspected_at, next_inspection_due=a.next_inspection_due,
        inspection_overdue=is_overdue(a.next_inspection_due), notes=a.notes,
        created_at=a.created_at, updated_at=a.updated_at,
    )


async def get_asset(session: AsyncSession, asset_id: int) -> Asset:
    """The asset with this id, or NotFound."""
    return await get_or_not_found(session, Asset, asset_id, f"装备 id={asset_id}")


async def create_asset(session: AsyncSession, data: AssetCreate, *, actor: str = "system",
                       occurred_at: dt.datetime | None = None) -> Asset:
    """Register a serial unit and receive it at its location through the ledger (one write path);
    ``occurred_at``: when it really arrived (the receipt's time; default now)."""
    it = await get_item_type(session, data.item_type_id, field="item_type_id")
    if it.tracking != "serial":
        raise InvalidInput(f"物资品目 {it.code}（{it.name}）按数量管理，不能登记单件装备", field="item_type_id")
    if data.location_id is not None:
        await get_location(session, data.location_id, field="location_id")
    if data.status not in ("available", "maintenance"):
        raise InvalidInput("新登记的装备状态只能是 available 或 maintenance", field="status")
    if data.location_id is None:
        raise InvalidInput("新登记的装备必须指定存放地点 location_id", field="location_id")
    dup = select(Asset.id).where(Asset.item_type_id == it.id, Asset.serial_number == data.serial_number)
    if await session.scalar(dup):
        raise Conflict(f"{it.name} 序列号 {data.serial_number} 已登记", field="serial_number")
    asset = Asset(
        item_type_id=it.id, serial_number=data.serial_number, status="available",
        location_id=None, ownership=data.ownership, readiness=data.readiness,
        battery_pct=data.battery_pct, fuel_pct=data.fuel_pct, fault_note="",
        last_inspected_at=data.last_inspected_at,
        next_inspection_due=next_due(data.last_inspected_at, it.inspection_interval_days), notes=data.notes,
    )
    session.add(asset)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{it.name} 序列号 {data.serial_number} 已登记", field="serial_number") from exc
    await issue_label(session, "asset", asset.id)
    await post_document(session, MovementCreate(
        kind="receipt", location_id=data.location_id, reason="装备登记入库", occurred_at=occurred_at,
        lines=[MovementLine(item_type_id=it.id, quantity=1, asset_ids=[asset.id])],
    ), actor=actor)
    if data.status == "maintenance":
        asset.status = "maintenance"
    await session.flush()
    await session.refresh(asset)
    return asset


async def update_asset(session: AsyncSession, asset_id: int, data: AssetUpdate) -> Asset:
    """Change descriptive and readiness fields; status only between available and maintenance."""
    asset = await get_asset(session, asset_id)
    changes = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
    new_status = changes.get("status", asset.status)
    if new_status != asset.status and (asset.status, new_status) not in PATCHABLE_STATUS:
        raise InvalidInput(
            f"装备状态不能直接从 {asset.status} 改为 {new_status}：出库、调拨、动用、报废须通过单据办理",
            field="status",
        )
    if "serial_number" in changes and changes["serial_number"] != asset.serial_number:
        dup = select(Asset.id).where(
            Asset.item_type_id == asset.item_type_id, Asset.serial_number == changes["serial_number"]
        )
        if await session.scalar(dup):
            raise Conflict(f"序列号 {changes['serial_number']} 已登记", field="serial_number")
    for name, value in changes.items():
        setattr(asset, name, value)
    if "last_inspected_at" in changes:
        it = await session.get(ItemType, asset.item_type_id)
        asset.next_inspection_due = next_due(asset.last_inspected_at, it.inspection_interval_days if it else None)
    asset.updated_at = utcnow()
    await session.flush()
    return asset


async def list_assets(
    session: AsyncSession, *, item_type_id: int | None, location_id: int | None, status: str | None,
    serial: str | None, limit: int, offset: int, after_id: int | None = None,
) -> Page[AssetRead]:
    """Assets filtered by item type, location, status and serial number text, by id (``after_id``: after that one)."""
    check_paging(offset, after_id)
    stmt = select(Asset)
    if item_type_id is not None:
        stmt = stmt.where(Asset.item_type_id == item_type_id)
    if location_id is not None:
        stmt = stmt.where(Asset.location_id == location_id)
    if status:
        stmt = stmt.where(Asset.status == status)
    if serial:
        stmt = stmt.where(Asset.serial_number.contains(serial, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows, next_id = page_rows((await session.scalars(
        stmt.where(await after_row(session, _BY_ID, after_id)).order_by(Asset.id).limit(limit + 1).offset(offset)
    )).all(), limit, lambda r: r.id)
    return Page(items=[asset_read(r) for r in rows], total=total or 0, limit=limit, offset=offset,
                next_after_id=next_id)


