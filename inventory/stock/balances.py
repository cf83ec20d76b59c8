"""Balance rows: guarded increments and decrements, the only code that changes stock figures.

The statements are built once with bind parameters: the write path runs them thousands of
times a second, and building and hashing a fresh statement costs more than executing it.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.store.db import dialect_name, no_turn
from inventory.store.models import Balance, utcnow

Bucket = Literal["on_hand", "in_transit", "reserved"]
BUCKETS: tuple[Bucket, ...] = ("on_hand", "in_transit", "reserved")


@cache
def _upsert(dialect: str, bucket: Bucket) -> Any:
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = builder(Balance).values(
        location_id=bindparam("loc"), item_type_id=bindparam("item"), lot_id=bindparam("lot"),
        lot_key=bindparam("b_lot_key"), on_hand=bindparam("on_hand"), reserved=0, in_transit=bindparam("in_transit"),
        updated_at=bindparam("now"),
    )
    return stmt.on_conflict_do_update(
        index_elements=[Balance.location_id, Balance.item_type_id, Balance.lot_key],
        set_={bucket: getattr(Balance, bucket) + bindparam("qty"), "updated_at": bindparam("now")},
    )


@cache
def _guarded_update(bucket: Bucket, taking: bool) -> Any:
    column = getattr(Balance, bucket)
    stmt = update(Balance).where(
        Balance.location_id == bindparam("loc"), Balance.item_type_id == bindparam("item"),
        Balance.lot_key == bindparam("b_lot_key"),
    )
    if bucket == "on_hand" or (bucket == "reserved" and not taking):  # on hand may only fall to what is reserved
        stmt = stmt.where(Balance.on_hand - Balance.reserved >= bindparam("need"))
    else:
        stmt = stmt.where(column >= bindparam("need"))
    return stmt.values({bucket: column + bindparam("delta"), "updated_at": bindparam("now")})


@cache
def _add(bucket: Bucket) -> Any:
    column = getattr(Balance, bucket)
    return update(Balance).where(
        Balance.location_id == bindparam("loc"), Balance.item_type_id == bindparam("item"),
        Balance.lot_key == bindparam("b_lot_key"),
    ).values({bucket: column + bindparam("qty"), "updated_at": bindparam("now")})


async def increase(
    session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None, bucket: Bucket, qty: int
) -> None:
    """Add ``qty`` to a bucket, creating the balance row when it does not exist yet.

    An UPDATE first, the upsert only when there is no row: on PostgreSQL an ``INSERT … ON CONFLICT DO
    UPDATE`` that finds the row locked by another writer starts over once that one commits, behind
    whoever came since, so receipts into busy stock waited far longer than the issues beside them; a
    plain UPDATE waits its turn in the row's queue.
    """
    assert qty > 0
    assert bucket != "reserved", "reserve() checks that the stock is free"
    no_turn(session)
    conn = await session.connection()
    now = utcnow()
    added = await conn.execute(_add(bucket), {"loc": location_id, "item": item_type_id, "b_lot_key": lot_id or 0,
                                              "qty": qty, "now": now})
    if added.rowcount == 1:
        return
    await conn.execute(_upsert(dialect_name(session), bucket), {
        "loc": location_id, "item": item_type_id, "lot": lot_id, "b_lot_key": lot_id or 0, "qty": qty,
        "on_hand": qty if bucket == "on_hand" else 0, "in_transit": qty if bucket == "in_transit" else 0,
        "now": now,
    })


async def reserve(
    session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None, qty: int
) -> bool:
    """Set ``qty`` aside for a dispatch only if that much is available; False (nothing changed) otherwise."""
    assert qty > 0
    return await _guarded(session, location_id, item_type_id, lot_id, "reserved", qty)


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
    no_turn(session)
    conn = await session.connection()
    result = await conn.execute(_guarded_update(bucket, delta < 0), {
        "loc": location_id, "item": item_type_id, "b_lot_key": lot_id or 0, "need": abs(delta), "delta": delta,
        "now": utcnow(),
    })
    return bool(result.rowcount == 1)
