"""The one write path for stock: post a document and its movements.

Every change of stock — API, phone pages, stocktake approval, dispatch, import, demo — comes
through here. Balances change in the same transaction as the movements, through guarded updates
that cannot take stock below zero (or below what is reserved). Posting validates the lines, takes
stock out (FEFO for bulk lines) or puts it in, and moves serial units under a concurrency guard;
the pieces are shared by reversal.py, transfers.py and the write-off, dispatch and stocktake services.
Voucher numbers and inserting documents are in documents.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput
from inventory.places.refs import Item, Place, load_place
from inventory.stock import balances
from inventory.stock.balances import Bucket
from inventory.stock.documents import KIND_ZH, insert_document, occurred_at_or_now
from inventory.stock.lots import Candidate, pick_fefo, pickable, resolve_lot
from inventory.stock.schemas import MovementCreate, MovementLine, MovementRead
from inventory.store.db import dialect_name, no_turn, wait_turn
from inventory.store.lookup import not_found
from inventory.store.models import Asset, Balance, Document, ItemType, Location, Lot, Movement, utcnow

POSTED = "inventory.posted_movements"
_INSERT_MOVEMENTS = insert(Movement).returning(Movement.id, sort_by_parameter_order=True)


@dataclass
class AssetMove:
    """A serial unit's status and place before and after a document."""

    status_before: str
    location_before: int | None
    status_after: str
    location_after: int | None


@dataclass
class Posting:
    """Movements being assembled for one document."""

    document_id: int
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, location_id: int, item_type_id: int, lot_id: int | None, bucket: str, qty: int,
            asset_id: int | None = None, move: AssetMove | None = None) -> None:
        """Queue one movement."""
        self.rows.append({
            "document_id": self.document_id, "location_id": location_id, "item_type_id": item_type_id,
            "lot_id": lot_id, "asset_id": asset_id, "bucket": bucket, "quantity": qty, "created_at": utcnow(),
            "asset_status_before": move.status_before if move else None,
            "asset_status_after": move.status_after if move else None,
            "asset_location_before": move.location_before if move else None,
            "asset_location_after": move.location_after if move else None,
        })

    async def write(self, session: AsyncSession) -> None:
        """Insert the queued movements in one statement; remember them so the answer needs no query."""
        ids: list[int] = []
        if self.rows:
            conn = await session.connection()
            result = await conn.execute(_INSERT_MOVEMENTS, self.rows)
            ids = list(result.scalars())
        session.info.setdefault(POSTED, {})[self.document_id] = [
            MovementRead(id=i, document_id=self.document_id, location_id=r["location_id"],  # type: ignore[arg-type]
                         item_type_id=r["item_type_id"], lot_id=r["lot_id"], asset_id=r["asset_id"],  # type: ignore[arg-type]
                         bucket=r["bucket"], quantity=r["quantity"], created_at=r["created_at"])  # type: ignore[arg-type]
            for i, r in zip(ids, self.rows, strict=True)
        ]


def posted_movements(session: AsyncSession, document_id: int) -> list[MovementRead] | None:
    """Movements this session just posted for a document (None when it posted none here)."""
    posted: dict[int, list[MovementRead]] = session.info.get(POSTED, {})
    return posted.get(document_id)


async def apply_change(session: AsyncSession, posting: Posting, location: Place, item: Item,
                  lot_id: int | None, bucket: Bucket, qty: int, *, field: str, asset_id: int | None = None,
                  move: AssetMove | None = None) -> None:
    """Apply one signed change to a balance and queue its movement; refuse to go below zero."""
    if bucket == "reserved" and qty > 0:
        ok = await balances.reserve(session, location.id, item.id, lot_id, qty)
        have_bucket: Bucket = "on_hand"  # reserving takes from what is available
    elif qty > 0:
        await balances.increase(session, location.id, item.id, lot_id, bucket, qty)
        ok, have_bucket = True, bucket
    else:
        ok = await balances.decrease(session, location.id, item.id, lot_id, bucket, -qty)
        have_bucket = bucket
    if not ok:
        raise await _short(session, location, item, lot_id, have_bucket, abs(qty), field)
    posting.add(location.id, item.id, lot_id, bucket, qty, asset_id, move)


async def _short(session: AsyncSession, location: Place, item: Item, lot_id: int | None, bucket: Bucket,
                 requested: int, field: str) -> InsufficientStock:
    """The refusal of a change a balance's bucket could not take, with what it has now."""
    have = await _bucket_value(session, location.id, item.id, lot_id, bucket)
    what = {"on_hand": "可用", "in_transit": "在途", "reserved": "已预留"}[bucket]
    return InsufficientStock(
        f"库存不足：{location.name} 的 {item.name} {what} {have}{item.unit}，需要 {requested}{item.unit}",
        field=field, extra={"available": have, "requested": requested, "location_id": location.id,
                            "item_type_id": item.id, "lot_id": lot_id},
    )


def _short_fefo(location: Place, ctx: LineContext, candidates: list[Candidate], include_expired: bool,
                today: dt.date) -> InsufficientStock:
    """The refusal of an issue that FEFO cannot make up from these lots."""
    qty = abs(ctx.line.quantity)
    have = pickable(candidates, today, include_expired=include_expired)
    expired_note = "" if include_expired else "（过期批次不自动出库）"
    return InsufficientStock(
        f"库存不足：{location.name} 的 {ctx.item.name} 可用 {have}{ctx.item.unit}，需要 {qty}{ctx.item.unit}"
        + expired_note,
        field=f"{ctx.field}.quantity",
        extra={"available": have, "requested": qty, "location_id": location.id, "item_type_id": ctx.item.id},
    )


async def _bucket_value(session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None,
                        bucket: Bucket) -> int:
    conn = await session.connection()
    row = (await conn.execute(select(Balance.on_hand, Balance.reserved, Balance.in_transit).where(
        Balance.location_id == location_id, Balance.item_type_id == item_type_id,
        Balance.lot_key == (lot_id or 0)))).first()
    if row is None:
        return 0
    on_hand, reserved, in_transit = row
    return int({"on_hand": on_hand - reserved, "reserved": reserved, "in_transit": in_transit}[bucket])


_CANDIDATES = (
    select(Balance.lot_id, Lot.expiry_date, Lot.production_date, Balance.on_hand - Balance.reserved)
    .outerjoin(Lot, Lot.id == Balance.lot_id)
    .where(Balance.location_id == bindparam("loc"), Balance.item_type_id == bindparam("item"))
    .order_by(Balance.lot_key)  # locked in lock_balances' order (the pick has an order of its own)
)
_CANDIDATES_LOCKED = _CANDIDATES.with_for_update(of=Balance)


async def _candidates(session: AsyncSession, location_id: int, item_type_id: int, *,
                      lock: bool = True) -> list[Candidate]:
    """Stock of an item at one location by lot, locked on PostgreSQL (unless not ``lock``) so the pick stays true."""
    stmt = _CANDIDATES_LOCKED if lock and dialect_name(session) == "postgresql" else _CANDIDATES
    conn = await session.connection()
    return [Candidate(*row) for row in (await conn.execute(stmt, {"loc": location_id, "item": item_type_id})).all()]


async def lock_balances(session: AsyncSession, keys: Iterable[tuple[int, int]]) -> None:
    """On PostgreSQL, lock the balance rows of these (item type, location) pairs in one global order.

    Writers that take row locks in different orders deadlock (a transfer A→B against one B→A);
    taking them up front ordered by item type, location and lot makes every writer queue the same way.
    """
    wanted = sorted(set(keys))
    no_turn(session)
    if wanted and dialect_name(session) == "postgresql":
        conn = await session.connection()
        await conn.execute(
            select(Balance.id).where(tuple_(Balance.item_type_id, Balance.location_id).in_(wanted))
            .order_by(Balance.item_type_id, Balance.location_id, Balance.lot_key).with_for_update()
        )


@dataclass
class LineContext:
    """A validated line with its item type and, for bulk lines, its lot."""

    index: int
    line: MovementLine
    item: Item
    lot_id: int | None
    assets: list[Asset]

    @property
    def field(self) -> str:
        """Path of this line in the request body."""
        return f"lines.{self.index}"


@lru_cache(maxsize=32)
def _place_and_items_query(count: int) -> Select[*tuple[Any, ...]]:
    """The place and ``count`` item types (plain bind parameters: an expanding IN costs more than the query)."""
    return (
        select(Location.id, Location.name, Location.kind, Location.path, Location.region_code,
               ItemType.id, ItemType.code, ItemType.name, ItemType.unit, ItemType.tracking, ItemType.shelf_life_days)
        .outerjoin(ItemType, ItemType.id.in_([bindparam(f"item_{n}") for n in range(count)]))
        .where(Location.id == bindparam("loc"))
    )


async def _place_and_items(session: AsyncSession, location_id: int, item_type_ids: Iterable[int],
                           ) -> tuple[Place, dict[int, Item]]:
    """The document's place (or the error of :func:`load_place`) and the line's item types that exist, in one query."""
    wanted = sorted(set(item_type_ids))
    if not wanted:
        return await load_place(session, location_id, field="location_id"), {}
    conn = await session.connection()
    params: dict[str, int] = {f"item_{n}": item_id for n, item_id in enumerate(wanted)}
    params["loc"] = location_id
    rows = (await conn.execute(_place_and_items_query(len(wanted)), params)).all()
    if not rows:
        raise not_found(f"地点 id={location_id}", input_field="location_id")
    items = {row[5]: Item(*row[5:]) for row in rows if row[5] is not None}
    return Place(*rows[0][:5]), items


async def _validate_lines(session: AsyncSession, data: MovementCreate, kind: str,
                          items: dict[int, Item]) -> list[LineContext]:
    contexts: list[LineContext] = []
    seen_assets: set[int] = set()
    for i, line in enumerate(data.lines):
        f = f"lines.{i}"
        found = items.get(line.item_type_id)
        if found is None:
            raise InvalidInput(f"第 {i + 1} 行：物资品目 id={line.item_type_id} 不存在", field=f"{f}.item_type_id")
        it = found
        if line.quantity == 0 or (line.quantity < 0 and kind != "adjustment"):
            raise InvalidInput(f"第 {i + 1} 行：数量必须为正整数（盘亏请用 adjustment 填负数）", field=f"{f}.quantity")
        if line.lot_id is not None and line.lot is not None:
            raise InvalidInput(f"第 {i + 1} 行：lot_id 与 lot 只能填一个", field=f"{f}.lot")
        lot_id: int | None = None
        assets: list[Asset] = []
        if it.tracking == "bulk":
            if line.asset_ids:
                raise InvalidInput(f"第 {i + 1} 行：{it.name} 按数量管理，不能填装备 asset_ids",
                                   field=f"{f}.asset_ids")
            if line.lot_id is not None:
                lot_item = await (await session.connection()).scalar(
                    select(Lot.item_type_id).where(Lot.id == line.lot_id))
                if lot_item != it.id:
                    raise InvalidInput(f"第 {i + 1} 行：批次 id={line.lot_id} 不存在或不属于 {it.name}",
                                       field=f"{f}.lot_id")
                lot_id = line.lot_id
            elif line.lot is not None:
                if line.quantity < 0 or kind not in ("receipt", "return", "adjustment"):
                    raise InvalidInput(f"第 {i + 1} 行：只有入库、归还和盘盈可以新建批次；出库请填 lot_id",
                                       field=f"{f}.lot")
                lot_id = (await resolve_lot(session, it, line.lot, f"{f}.lot")).id
        else:
            if line.lot_id is not None or line.lot is not None:
                raise InvalidInput(f"第 {i + 1} 行：{it.name} 按单件管理，不分批次", field=f"{f}.lot")
            if not line.asset_ids:
                raise InvalidInput(f"第 {i + 1} 行：{it.name} 按单件管理，必须列出装备 asset_ids",
                                   field=f"{f}.asset_ids")
            if len(line.asset_ids) != abs(line.quantity):
                raise InvalidInput(f"第 {i + 1} 行：数量 {line.quantity} 与装备件数 {len(line.asset_ids)} 不符",
                                   field=f"{f}.quantity")
            for j, asset_id in enumerate(line.asset_ids):
                asset = await session.get(Asset, asset_id)
                if asset is None or asset.item_type_id != it.id:
                    raise InvalidInput(f"第 {i + 1} 行：装备 id={asset_id} 不存在或不是 {it.name}",
                                       field=f"{f}.asset_ids.{j}")
                if asset_id in seen_assets:
                    raise InvalidInput(f"装备 id={asset_id} 在单据中出现了两次", field=f"{f}.asset_ids.{j}")
                seen_assets.add(asset_id)
                assets.append(asset)
        contexts.append(LineContext(i, line, it, lot_id, assets))
    # Lock and take stock in a fixed order so two documents cannot wait on each other.
    return sorted(contexts, key=lambda c: (c.item.id, c.lot_id or 0, c.index))


async def move_asset(session: AsyncSession, asset: Asset, *, expect_status: tuple[str, ...],
                      expect_location: int | tuple[int, ...] | None, status: str, location_id: int | None,
                      field: str) -> AssetMove:
    """Change a unit's status and place only if it is still where and as expected (concurrency guard)."""
    await session.refresh(asset)
    where = [Asset.id == asset.id, Asset.status.in_(expect_status)]
    if expect_location is None:
        where.append(Asset.location_id.is_(None))
    elif isinstance(expect_location, tuple):
        where.append(Asset.location_id.in_(expect_location))
    else:
        where.append(Asset.location_id == expect_location)
    before = AssetMove(asset.status, asset.location_id, status, location_id)
    result = await session.execute(
        update(Asset).where(*where).values(status=status, location_id=location_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(asset)
        place = f"位于地点 id={asset.location_id}" if asset.location_id else "不在库"
        raise Conflict(
            f"装备 {asset.serial_number} 当前状态为 {asset.status}（{place}），不能办理此操作", field=field,
            extra={"asset_id": asset.id, "asset_status": asset.status, "location_id": asset.location_id},
        )
    await session.refresh(asset)
    return before


async def _subtree(session: AsyncSession, location: Place) -> tuple[int, ...]:
    ids = await session.scalars(select(Location.id).where(Location.path.startswith(location.path)))
    return tuple(ids)


async def post_document(session: AsyncSession, data: MovementCreate, *, actor: str) -> Document:
    """Post a receipt, issue, transfer, adjustment or return with all its movements.

    A write-off is not posted here directly: it is requested (inventory/write_offs/service.py) and posted once a
    commander or admin other than the requester approves it.
    """
    if data.kind == "write_off":
        raise InvalidInput("报废须先提交报废申请（POST /api/v1/write-offs），经指挥人员或管理员批准后才过账",
                           field="kind")
    location, items = await _place_and_items(session, data.location_id, (line.item_type_id for line in data.lines))
    to_location: Place | None = None
    if data.kind == "transfer":
        if data.to_location_id is None:
            raise InvalidInput("调拨必须填写目的地点 to_location_id", field="to_location_id")
        if data.to_location_id == data.location_id:
            raise InvalidInput("调拨的目的地点不能与出发地点相同", field="to_location_id")
        to_location = await load_place(session, data.to_location_id, field="to_location_id")
    elif data.to_location_id is not None:
        raise InvalidInput(f"{KIND_ZH[data.kind]}单不填 to_location_id（只有调拨需要）", field="to_location_id")
    if data.kind in ("adjustment", "write_off") and not data.reason.strip():
        raise InvalidInput(f"{KIND_ZH[data.kind]}必须填写原因 reason", field="reason")
    approver = (data.approver or "").strip() or None
    if approver is not None and approver == actor:
        raise InvalidInput("审批人不能是申请人本人", field="approver")
    occurred = occurred_at_or_now(data.occurred_at)
    lines = await _validate_lines(session, data, data.kind, items)
    # Everything that takes no balance lock comes first: on PostgreSQL a writer holds its balance rows until it
    # commits, so every statement after the first lock lengthens the queue of writers of the same stock.
    doc = await insert_document(
        session, kind=data.kind, location_id=location.id, to_location_id=to_location.id if to_location else None,
        actor=actor, approver=approver, occurred_at=occurred, reason=data.reason, reference=data.reference,
        counterparty=data.counterparty,
    )
    pairs = {(ctx.item.id, loc) for ctx in lines
             for loc in (location.id, to_location.id if to_location else None, *(a.location_id for a in ctx.assets))
             if loc is not None}
    if len(pairs) > 1 or any(ctx.item.tracking != "bulk" for ctx in lines):
        await lock_balances(session, pairs)
    elif pairs:
        # Bulk stock of one item type at one place, whose rows the statements below lock in the same order as
        # lock_balances would (the candidates by lot, the lines sorted by lot): no up-front lock, one statement
        # fewer. Writers of that stock in this process go to PostgreSQL in arrival order (db.Turns).
        await wait_turn(session, ("balances", *next(iter(pairs))))
    posting = Posting(doc.id)
    if len(pairs) == 1 and all(ctx.item.tracking == "bulk" for ctx in lines) and await _post_at_one_place(
            session, posting, data.kind, location, lines):
        return doc
    for ctx in lines:
        if _inbound_line(data.kind, ctx):
            await _inbound(session, posting, data.kind, location, ctx)
        else:
            await _outbound(session, posting, data.kind, location, to_location, ctx)
    await posting.write(session)
    return doc


def _inbound_line(kind: str, ctx: LineContext) -> bool:
    return kind in ("receipt", "return") or (kind == "adjustment" and ctx.line.quantity > 0)


async def _post_at_one_place(session: AsyncSession, posting: Posting, kind: str, location: Place,
                             lines: list[LineContext]) -> bool:
    """Bulk stock of one item type at one place: the movements first, the balances last. False: not done here.

    On PostgreSQL a writer holds the balance rows it changes until it commits, and the writers of the same stock
    queue for them: every statement between the first change and the commit lengthens that queue. So the picks
    are made from an unlocked read and the movements inserted before any balance changes; the guarded changes,
    in the lines' order, come last. That read may be stale only in what the guard checks: an issue picks from a
    read that shows a single balance row (lot-less stock, or one lot), so the guard refusing it means that row
    has too little now, the same refusal as a locked read would give. When FEFO would choose among several lots,
    or finds too little in the read, nothing has been done and the caller posts the document the usual way
    (locked reads, then changes).
    """
    today = beijing_today()
    include_expired = kind in ("write_off", "adjustment")
    changes: list[tuple[LineContext, int | None, int, bool]] = []  # line, lot, signed quantity, picked by FEFO
    for ctx in lines:
        qty = abs(ctx.line.quantity)
        if _inbound_line(kind, ctx):
            changes.append((ctx, ctx.lot_id, qty, False))
        elif ctx.lot_id is not None:
            changes.append((ctx, ctx.lot_id, -qty, False))
        else:
            candidates = await _candidates(session, location.id, ctx.item.id, lock=False)
            found = pick_fefo(candidates, qty, today, include_expired=include_expired)
            if len(candidates) != 1 or found is None:
                return False
            ((lot_id, take),) = found
            changes.append((ctx, lot_id, -take, True))
    for ctx, lot_id, qty, _ in changes:
        posting.add(location.id, ctx.item.id, lot_id, "on_hand", qty)
    await posting.write(session)
    for ctx, lot_id, qty, picked in changes:
        if qty > 0:
            await balances.increase(session, location.id, ctx.item.id, lot_id, "on_hand", qty)
        elif not await balances.decrease(session, location.id, ctx.item.id, lot_id, "on_hand", -qty):
            if not picked:
                raise await _short(session, location, ctx.item, lot_id, "on_hand", -qty, f"{ctx.field}.quantity")
            now_there = await _candidates(session, location.id, ctx.item.id, lock=False)
            raise _short_fefo(location, ctx, now_there, include_expired, today)
    return True


async def _inbound(session: AsyncSession, posting: Posting, kind: str, location: Place, ctx: LineContext) -> None:
    if ctx.item.tracking == "bulk":
        await apply_change(session, posting, location, ctx.item, ctx.lot_id, "on_hand", abs(ctx.line.quantity),
                      field=f"{ctx.field}.quantity")
        return
    allowed = {"receipt": ("available", "deployed", "lost", "leased_out"),
               "return": ("deployed", "leased_out", "lost"), "adjustment": ("lost",)}[kind]
    for j, asset in enumerate(ctx.assets):
        move = await move_asset(session, asset, expect_status=allowed, expect_location=None, status="available",
                                 location_id=location.id, field=f"{ctx.field}.asset_ids.{j}")
        await apply_change(session, posting, location, ctx.item, None, "on_hand", 1, asset_id=asset.id, move=move,
                      field=f"{ctx.field}.asset_ids.{j}")


async def _outbound(session: AsyncSession, posting: Posting, kind: str, location: Place,
                    to_location: Place | None, ctx: LineContext) -> None:
    qty = abs(ctx.line.quantity)
    if ctx.item.tracking == "serial":
        await _outbound_assets(session, posting, kind, location, to_location, ctx)
        return
    if ctx.lot_id is not None:
        picks: list[tuple[int | None, int]] = [(ctx.lot_id, qty)]
    else:
        candidates = await _candidates(session, location.id, ctx.item.id)
        include_expired = kind in ("write_off", "adjustment")
        today = beijing_today()
        found = pick_fefo(candidates, qty, today, include_expired=include_expired)
        if found is None:
            raise _short_fefo(location, ctx, candidates, include_expired, today)
        picks = found
    for lot_id, take in picks:
        await apply_change(session, posting, location, ctx.item, lot_id, "on_hand", -take,
                           field=f"{ctx.field}.quantity")
        if to_location is not None:
            await apply_change(session, posting, to_location, ctx.item, lot_id, "in_transit", take,
                          field=f"{ctx.field}.quantity")


async def _outbound_assets(session: AsyncSession, posting: Posting, kind: str, location: Place,
                           to_location: Place | None, ctx: LineContext) -> None:
    places = await _subtree(session, location)
    status_after = {"issue": "deployed", "transfer": "in_transit", "write_off": "retired", "adjustment": "lost"}[kind]
    allowed = ("available",) if kind in ("issue", "transfer") else ("available", "maintenance")
    for j, asset in enumerate(ctx.assets):
        f = f"{ctx.field}.asset_ids.{j}"
        if asset.location_id not in places:
            await session.refresh(asset)
        if asset.location_id not in places:
            raise Conflict(f"装备 {asset.serial_number} 不在 {location.name}（当前状态 {asset.status}）", field=f,
                           extra={"asset_id": asset.id, "location_id": asset.location_id})
        source = await load_place(session, asset.location_id or location.id)
        move = await move_asset(
            session, asset, expect_status=allowed, expect_location=source.id, status=status_after,
            location_id=to_location.id if to_location else None, field=f,
        )
        await apply_change(session, posting, source, ctx.item, None, "on_hand", -1, asset_id=asset.id, move=move,
                           field=f)
        if to_location is not None:
            await apply_change(session, posting, to_location, ctx.item, None, "in_transit", 1, asset_id=asset.id,
                          move=move, field=f)
