"""The demo's pending write-off request, so the approver's page (/write-offs) has something to decide."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.store.models import ItemType, Location, WriteOffRequest
from inventory.write_offs.schemas import WriteOffCreate, WriteOffLineRequest
from inventory.write_offs.service import request_write_off

DEPOT, ITEM, QUANTITY = "D-360121", "BED-QUILT", 6
REQUESTER = "demo-keeper"
REASON = "库房屋顶漏雨，棉被受潮霉变，晾晒后仍有异味，无法发放"


async def ensure_demo_write_off(session: AsyncSession) -> tuple[int, int]:
    """Request one write-off at 南昌县's depot as the demo keeper unless the demo made it before; (created, skipped)."""
    depot = await session.scalar(select(Location.id).where(Location.code == DEPOT))
    item = await session.scalar(select(ItemType.id).where(ItemType.code == ITEM))
    if depot is None or item is None:
        return 0, 0
    if await session.scalar(select(WriteOffRequest.id).where(WriteOffRequest.location_id == depot,
                                                             WriteOffRequest.requested_by == REQUESTER)):
        return 0, 1
    await request_write_off(session, WriteOffCreate(location_id=depot, reason=REASON, lines=[
        WriteOffLineRequest(item_type_id=item, quantity=QUANTITY)]), actor=REQUESTER)
    return 1, 0
