"""Reading the ledger: balances with lots, the stock card (台账), movement lists and documents."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import ColumnElement, false, func, literal, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import beijing_today
from inventory.places.locations import get_location
from inventory.schemas import Page
from inventory.stock.documents import document_number, get_document, movements_by_document
from inventory.stock.ledger import posted_movements
from inventory.stock.lots import is_expired
from inventory.stock.schemas import DocumentRead, LotBalance, MovementRead, StockCard, StockCardLine, StockRow
from inventory.store.keyset import Order, after_row, check_paging, page_rows
from inventory.store.models import Balance, Document, ItemType, Location, Lot, Movement

_MOVEMENTS_ORDER: Order = ((Movement.id, True),)  # newest first
STOCK_KEY_BASE = 2**31
"""A row of list_stock has no id of its own: its key is location id × 2³¹ + item type id (its order)."""


def stock_key(location_id: int, item_type_id: int) -> int:
    """The key of a stock row (``next_after_id``, ``after_id``), in the order of :func:`list_stock`."""
    return location_id * STOCK_KEY_BASE + item_type_id


def movement_read(m: Movement) -> MovementRead:
    """The public view of a movement."""
    return MovementRead(m.id, m.document_id, m.location_id, m.item_type_id, m.lot_id, m.asset_id, m.bucket,
                        m.quantity, m.created_at)


async def document_read(session: AsyncSession, doc: Document) -> DocumentRead:
    """A document with its movements and, if reversed, the reversing document."""
    just_posted = posted_movements(session, doc.id)
    if just_posted is not None:
        movements, reversed_by = just_posted, None
    else:
        movements = [movement_read(m) for m in (await movements_by_document(session, [doc.id]))[doc.id]]
        reversed_by = await session.scalar(select(Document.id).where(Document.reverses_id == doc.id))
    return DocumentRead(
        id=doc.id, number=document_number(doc.kind, doc.created_at, doc.id), kind=doc.kind,
        location_id=doc.location_id, to_location_id=doc.to_location_id, actor=doc.actor, approver=doc.approver,
        created_at=doc.created_at, occurred_at=doc.occurred_at, reason=doc.reason, reference=doc.reference,
        counterparty=doc.counterparty, reverses_id=doc.reverses_id, reversed_by_id=reversed_by,
        transfer_id=doc.transfer_id, movements=movements,
    )


async def read_document(session: AsyncSession, document_id: int) -> DocumentRead:
    """One document by id."""
    return await document_read(session, await get_document(session, document_id))


async def _scope(session: AsyncSession, location_id: int | None, include_children: bool) -> ColumnElement[bool]:
    if location_id is None:
        return literal(True)
    loc = await get_location(session, location_id)
    if include_children:
        return Balance.location_id.in_(select(Location.id).where(Location.path.startswith(loc.path)))
    return Balance.location_id == loc.id


async def list_stock(
    session: AsyncSession, *, location_id: int | None, item_type_id: int | None, region: str | None,
    include_children: bool, limit: int, offset: int, today: dt.date | None = None, after_id: int | None = None,
) -> Page[StockRow]:
    """Balances per location and item type with their lots; bins roll up into the asked location.

    Rows in (location id, item type id) order; ``after_id`` (a row's key, :func:`stock_key`): the rows after it,
    read from the balances' (location, item type) index on.
    """
    check_paging(offset, after_id)
    today = today or beijing_today()
    rollup = location_id is not None and include_children
    where: list[ColumnElement[bool]] = [
        await _scope(session, location_id, include_children),
        or_(Balance.on_hand != 0, Balance.in_transit != 0, Balance.reserved != 0),
    ]
    if item_type_id is not None:
        where.append(Balance.item_type_id == item_type_id)
    if region:
        where.append(Location.region_code.startswith(region, autoescape=True))
    group_loc = literal(location_id) if rollup else Balance.location_id
    keys = (
        select(group_loc.label("loc"), Balance.item_type_id).join(Location, Location.id == Balance.location_id)
        .where(*where).group_by(group_loc, Balance.item_type_id)
    )
    total = await session.scalar(select(func.count()).select_from(keys.subquery())) or 0
    after: ColumnElement[bool] = true()
    if after_id is not None:
        after_loc, after_item = divmod(after_id, STOCK_KEY_BASE)
        if not rollup:
            after = tuple_(Balance.location_id, Balance.item_type_id) > tuple_(after_loc, after_item)
        elif after_loc == location_id:
            after = Balance.item_type_id > after_item
        elif after_loc > (location_id or 0):
            after = false()
    page_keys, next_id = page_rows((await session.execute(
        keys.where(after).order_by(group_loc, Balance.item_type_id).limit(limit + 1).offset(offset))).all(),
        limit, lambda k: stock_key(int(k[0] or 0), k[1]))
    if not page_keys:
        return Page([], total, limit, offset)
    item_ids = {k[1] for k in page_keys}
    loc_ids = {k[0] for k in page_keys}
    rows = (await session.execute(
        select(Balance, Lot, Location.id).join(Location, Location.id == Balance.location_id)
        .outerjoin(Lot, Lot.id == Balance.lot_id)
        .where(*where, Balance.item_type_id.in_(item_ids), *([] if rollup else [Balance.location_id.in_(loc_ids)]))
    )).all()
    lots: dict[tuple[int, int], dict[int, LotBalance]] = defaultdict(dict)
    for bal, lot, _ in rows:
        key = (location_id if rollup else bal.location_id, bal.item_type_id)
        assert key[0] is not None
        slot = lots[key].get(bal.lot_key)  # type: ignore[index]  # key[0] checked above
        if slot is None:
            slot = LotBalance(bal.lot_id, lot.number if lot else None, lot.expiry_date if lot else None,
                              is_expired(lot.expiry_date if lot else None, today), 0, 0, 0, 0)
            lots[key][bal.lot_key] = slot  # type: ignore[index]
        slot.on_hand += bal.on_hand
        slot.reserved += bal.reserved
        slot.in_transit += bal.in_transit
        slot.available = slot.on_hand - slot.reserved
    locations = {loc.id: loc for loc in await session.scalars(select(Location).where(Location.id.in_(loc_ids)))}
    items = {it.id: it for it in await session.scalars(select(ItemType).where(ItemType.id.in_(item_ids)))}
    result = []
    for raw_loc, item_id in page_keys:
        loc_id = int(raw_loc or 0)
        loc, it = locations[loc_id], items[item_id]
        lot_rows = sorted(lots[(loc_id, item_id)].values(),
                          key=lambda b: (b.expiry_date or dt.date.max, b.lot_id or 0))
        on_hand = sum(b.on_hand for b in lot_rows)
        reserved = sum(b.reserved for b in lot_rows)
        result.append(StockRow(
            location_id=loc.id, location_code=loc.code, location_name=loc.name, region_code=loc.region_code,
            item_type_id=it.id, item_code=it.code, item_name=it.name, unit=it.unit, on_hand=on_hand,
            reserved=reserved, available=on_hand - reserved, in_transit=sum(b.in_transit for b in lot_rows),
            lots=lot_rows,
        ))
    return Page(result, total, limit, offset, next_id)


async def stock_card(
    session: AsyncSession, *, location_id: int, item_type_id: int, include_children: bool = False,
    since: dt.datetime | None = None, until: dt.datetime | None = None, limit: int = 1000,
) -> StockCard:
    """Every on-hand and in-transit movement of an item at a location, with running balances.

    As in 收发存 and 台账 (:mod:`inventory.reports`), a movement counts at its document's ``occurred_at`` (when
    it really happened), not when it was entered: ``since``/``until`` select by it, the lines run in
    (``occurred_at``, movement id) order and the balances follow that order. The opening balance is everything
    that happened before ``since``.
    """
    loc = await get_location(session, location_id)
    if include_children:
        places: ColumnElement[bool] = Movement.location_id.in_(
            select(Location.id).where(Location.path.startswith(loc.path)))
    else:
        places = Movement.location_id == loc.id
    base = [places, Movement.item_type_id == item_type_id, Movement.bucket != "reserved"]
    in_range: list[ColumnElement[bool]] = []
    if since is not None:
        in_range.append(Document.occurred_at >= since)
    if until is not None:
        in_range.append(Document.occurred_at < until)
    opening = opening_transit = 0
    if since is not None:
        before = (await session.execute(
            select(Movement.bucket, func.coalesce(func.sum(Movement.quantity), 0))
            .join(Document, Document.id == Movement.document_id)
            .where(*base, Document.occurred_at < since).group_by(Movement.bucket))).all()
        sums = dict(before)
        opening, opening_transit = int(sums.get("on_hand", 0)), int(sums.get("in_transit", 0))
    stmt = select(Movement, Document).join(Document, Document.id == Movement.document_id).where(*base, *in_range)
    balance, transit = opening, opening_transit
    lines = []
    rows = (await session.execute(stmt.order_by(Document.occurred_at, Movement.id).limit(limit + 1))).all()
    truncated = len(rows) > limit
    for m, doc in rows[:limit]:
        if m.bucket == "on_hand":
            balance += m.quantity
        else:
            transit += m.quantity
        lines.append(StockCardLine(
            movement_id=m.id, document_id=doc.id, document_number=document_number(doc.kind, doc.created_at, doc.id),
            kind=doc.kind, created_at=m.created_at, occurred_at=doc.occurred_at, location_id=m.location_id,
            lot_id=m.lot_id, asset_id=m.asset_id, bucket=m.bucket, quantity=m.quantity, balance=balance,
            in_transit_balance=transit, reason=doc.reason,
        ))
    closing = balance
    if truncated:  # the lines stop early; the closing balance must not
        closing = opening + int(await session.scalar(
            select(func.coalesce(func.sum(Movement.quantity), 0)).select_from(Movement)
            .join(Document, Document.id == Movement.document_id)
            .where(*base, Movement.bucket == "on_hand", *in_range)) or 0)
    return StockCard(location_id=loc.id, item_type_id=item_type_id, include_children=include_children,
                     opening=opening, closing=closing, lines=lines, truncated=truncated)


async def list_movements(
    session: AsyncSession, *, location_id: int | None, item_type_id: int | None, kind: str | None,
    document_id: int | None, since: dt.datetime | None, until: dt.datetime | None, limit: int, offset: int,
    after_id: int | None = None,
) -> Page[MovementRead]:
    """Movements, newest first (by id; ``after_id``: the older ones after it), by location, item type, document
    kind, document and time range."""
    check_paging(offset, after_id)
    stmt = select(Movement)
    if kind is not None:
        stmt = stmt.join(Document, Document.id == Movement.document_id).where(Document.kind == kind)
    if location_id is not None:
        stmt = stmt.where(Movement.location_id == location_id)
    if item_type_id is not None:
        stmt = stmt.where(Movement.item_type_id == item_type_id)
    if document_id is not None:
        stmt = stmt.where(Movement.document_id == document_id)
    if since is not None:
        stmt = stmt.where(Movement.created_at >= since)
    if until is not None:
        stmt = stmt.where(Movement.created_at < until)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows, next_id = page_rows((await session.scalars(
        stmt.where(await after_row(session, _MOVEMENTS_ORDER, after_id)).order_by(Movement.id.desc())
        .limit(limit + 1).offset(offset))).all(), limit, lambda m: m.id)
    return Page([movement_read(m) for m in rows], total, limit, offset, next_id)
