"""Balance rows: guarded increments and decrements, the only code that changes stock figures."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.db import dialect_name
from inventory.models import Balance, utcnow

Bucket = Literal["on_hand", "in_transit", "reserved"]


async def increase(
    session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None, bucket: Bucket, qty: int
) -> None:
    """Add ``qty`` to a bucket, creating the balance row when it does not exist yet."""
    assert qty > 0
    if bucket == "reserved":
        ok = await _guarded(session, location_id, item_type_id, lot_id, "reserved", qty)
        if not ok:
            raise LookupError("not enough unreserved stock")
        return
    dialect = dialect_name(session)
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    column = getattr(Balance, bucket)
    stmt = builder(Balance).values(
        location_id=location_id, item_type_id=item_type_id, lot_id=lot_id, lot_key=lot_id or 0,
        on_hand=qty if bucket == "on_hand" else 0, reserved=0, in_transit=qty if bucket == "in_transit" else 0,
        updated_at=utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Balance.location_id, Balance.item_type_id, Balance.lot_key],
        set_={bucket: column + qty, "updated_at": utcnow()},
    )
    await session.execute(stmt)


async def decrease(
    session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None, bucket: Bucket, qty: int
) -> bool:
    """Take ``qty`` from a bucket only if enough is there; False (and nothing changed) otherwise.

    On hand can only fall to what is reserved: reserved stock is not free to leave.
    """
    assert qty > 0
    return await _guarded(session, location_id, item_type_id, lot_id, bucket, -qty)


async def _guarded(
    session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None, bucket: Bucket, delta: int
) -> bool:
    column = getattr(Balance, bucket)
    stmt = update(Balance).where(
        Balance.location_id == location_id, Balance.item_type_id == item_type_id, Balance.lot_key == (lot_id or 0)
    )
    if bucket == "on_hand":
        stmt = stmt.where(Balance.on_hand - Balance.reserved >= -delta)
    elif bucket == "reserved" and delta > 0:
        stmt = stmt.where(Balance.on_hand - Balance.reserved >= delta)
    else:
        stmt = stmt.where(column >= -delta)
    result = await session.execute(
        stmt.values({bucket: column + delta, "updated_at": utcnow()}).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
