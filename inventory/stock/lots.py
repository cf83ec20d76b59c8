"""Lots: resolving a lot on receipt, and picking first-expiring-first-out (先进先出、出陈存新)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import InvalidInput
from inventory.places.refs import Item
from inventory.stock.schemas import LotSpec
from inventory.store.db import dialect_name
from inventory.store.label_codes import ensure_label
from inventory.store.models import Lot, utcnow


class Candidate(NamedTuple):
    """Stock that could be picked: a lot (or lot-less stock) with what is available of it."""

    lot_id: int | None
    expiry_date: dt.date | None
    production_date: dt.date | None
    available: int


def is_expired(expiry: dt.date | None, today: dt.date) -> bool:
    """A lot is expired from the day after its expiry date."""
    return expiry is not None and expiry < today


def fefo_key(lot_id: int | None, expiry: dt.date | None,
             production: dt.date | None) -> tuple[dt.date, dt.date, bool, int]:
    """The FEFO rank of some stock: earliest expiry first, then oldest production, lot-less stock and undated lots
    last (issues, and the reservations of dispatch orders, pick in this order)."""
    far = dt.date.max
    return expiry or far, production or far, lot_id is None, lot_id or 0


def fefo_order(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Earliest expiry first, then oldest production, lot-less stock and undated lots last."""
    return sorted(candidates, key=lambda c: fefo_key(c.lot_id, c.expiry_date, c.production_date))


def pick_fefo(
    candidates: Sequence[Candidate], quantity: int, today: dt.date, *, include_expired: bool = False
) -> list[tuple[int | None, int]] | None:
    """Lots and quantities that make up ``quantity``, FEFO; None when there is not enough.

    Expired lots are never picked automatically unless ``include_expired`` (write-offs, losses).
    """
    picks: list[tuple[int | None, int]] = []
    remaining = quantity
    for c in fefo_order(candidates):
        if remaining == 0:
            break
        if c.available <= 0 or (not include_expired and is_expired(c.expiry_date, today)):
            continue
        take = min(c.available, remaining)
        picks.append((c.lot_id, take))
        remaining -= take
    return picks if remaining == 0 else None


def pickable(candidates: Sequence[Candidate], today: dt.date, *, include_expired: bool = False) -> int:
    """How much FEFO could pick in total."""
    return sum(
        c.available for c in candidates
        if c.available > 0 and (include_expired or not is_expired(c.expiry_date, today))
    )


async def resolve_lot(session: AsyncSession, item: Item, spec: LotSpec, field: str) -> Lot:
    """The lot with this number for the item type: reused if it exists (dates and quality must agree), else created."""
    if spec.production_date and spec.expiry_date and spec.expiry_date < spec.production_date:
        raise InvalidInput(
            f"批号 {spec.number} 的有效期 {spec.expiry_date} 早于生产日期 {spec.production_date}",
            field=f"{field}.expiry_date",
        )
    quality = spec.quality.strip()
    find = select(Lot).where(Lot.item_type_id == item.id, Lot.number == spec.number)
    lot = await session.scalar(find)
    if lot is None:
        expiry = spec.expiry_date
        if expiry is None and spec.production_date and item.shelf_life_days:
            expiry = spec.production_date + dt.timedelta(days=item.shelf_life_days)
        # A concurrent receipt may create the same lot first: then this one waits for it and reuses it.
        builder = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
        await session.execute(builder(Lot).values(
            item_type_id=item.id, number=spec.number, origin=spec.origin, quality=quality,
            production_date=spec.production_date, expiry_date=expiry, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=[Lot.item_type_id, Lot.number]))
        lot = await session.scalar(find)
        assert lot is not None
        if lot.label_code is None:
            await ensure_label(session, "lot", lot.id)
            await session.refresh(lot)
    for name in ("production_date", "expiry_date"):
        given = getattr(spec, name)
        if given is not None and getattr(lot, name) is not None and given != getattr(lot, name):
            raise InvalidInput(
                f"{item.name} 批号 {spec.number} 已存在，{name} 为 {getattr(lot, name)}，与填写的 {given} 不一致",
                field=f"{field}.{name}",
            )
    if quality and lot.quality and quality != lot.quality:
        raise InvalidInput(
            f"{item.name} 批号 {spec.number} 已存在，质量为“{lot.quality}”，与填写的“{quality}”不一致",
            field=f"{field}.quality",
        )
    if quality and not lot.quality:
        lot.quality = quality  # the first receipt that says what the quality is records it
    return lot
