"""Which places answer for a thing, so that a keeper's scope is checked even when it has no location.

A serial unit that is out (issued, lent, lost, written off) has no location; a lot may lie in many
places. Scope used to be skipped for both, and a keeper could change another county's unit or label
through the API. Here a unit out of stock belongs to the place its latest movement was at (the place
it last left, the rule of the phone page's 归还入库), and a lot to every place that holds some of it.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLE_ZH
from inventory.access.scope import Principal, in_scope, require_scope
from inventory.errors import PermissionDenied
from inventory.stock.schemas import MovementCreate
from inventory.store.models import Asset, Balance, Lot, Movement


async def last_location(session: AsyncSession, asset: Asset) -> int | None:
    """Where a unit is or, while it is out, where its latest movement was (None: it never moved)."""
    if asset.location_id is not None:
        return asset.location_id
    return await session.scalar(select(Movement.location_id).where(Movement.asset_id == asset.id)
                                .order_by(Movement.id.desc()).limit(1))


async def require_unit_scope(session: AsyncSession, principal: Principal, asset: Asset) -> None:
    """PermissionDenied unless the unit is, or last was, at a place in the user's scope."""
    place = await last_location(session, asset)
    if place is None and principal.role != "admin":
        raise PermissionDenied(f"装备 {asset.serial_number} 没有出入库记录，无法确定所属辖区，只有管理员可以办理",
                               extra={"asset_id": asset.id})
    await require_scope(session, principal, place)


async def lot_places(session: AsyncSession, lot_id: int) -> list[int]:
    """The places holding some of a lot (on hand, reserved or on its way there)."""
    return list(await session.scalars(
        select(Balance.location_id).where(Balance.lot_id == lot_id, or_(Balance.on_hand > 0, Balance.in_transit > 0))
        .order_by(Balance.location_id)))


async def require_lot_scope(session: AsyncSession, principal: Principal, lot_id: int) -> None:
    """PermissionDenied unless some of the lot is held at a place in the user's scope."""
    if principal.role == "admin":
        return
    places = await lot_places(session, lot_id)
    for place in places:
        if await in_scope(session, principal, place):
            return
    number = await session.scalar(select(Lot.number).where(Lot.id == lot_id))
    where = "不在您的辖区内" if places else "已没有库存，无法确定所属辖区"
    raise PermissionDenied(
        f"{ROLE_ZH.get(principal.role, principal.role)} {principal.username}：批次 {number or lot_id} 的库存{where}，"
        "不能办理 (outside your scope)",
        extra={"lot_id": lot_id, "location_ids": places},
    )


async def require_target_scope(session: AsyncSession, principal: Principal, kind: str, target_id: int) -> None:
    """Scope for what a label names: a unit (where it is or last was), a lot (where it is held), a place."""
    if kind == "asset":
        asset = await session.get(Asset, target_id)
        if asset is not None:
            await require_unit_scope(session, principal, asset)
    elif kind == "lot":
        await require_lot_scope(session, principal, target_id)
    else:
        await require_scope(session, principal, target_id)


async def require_movement_scope(session: AsyncSession, principal: Principal, data: MovementCreate) -> None:
    """A document is posted only at a place in scope and names only units that are, or last were, in scope.

    Without the second rule a keeper could return (or receive) another county's unit that is out —
    deployed, lent, lost — into his own depot: such a unit has no location, so only the document's
    place was checked. A keeper may take back units that left from his own places.
    """
    await require_scope(session, principal, data.location_id)
    if principal.role == "admin":
        return
    for line in data.lines:
        for asset_id in line.asset_ids:
            asset = await session.get(Asset, asset_id)
            if asset is not None:  # an unknown unit is refused by the ledger with a 422 naming it
                await require_unit_scope(session, principal, asset)
