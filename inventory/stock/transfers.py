"""Transfers (调拨单): what is in transit, and receiving it in full or in part at the destination."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict, InvalidInput
from inventory.places.refs import load_item, load_place
from inventory.schemas import Page
from inventory.stock.documents import document_number, insert_document, occurred_at_or_now
from inventory.stock.ledger import Posting, apply_change, lock_balances, move_asset
from inventory.stock.schemas import TransferLine, TransferRead, TransferReceive
from inventory.store.keyset import check_paging, page_rows
from inventory.store.lookup import scalar_or_not_found
from inventory.store.models import Asset, Document, Movement

Key = tuple[int, int | None, int | None]  # item type, lot, asset


@dataclass
class Standing:
    """Where a transfer stands, line by line."""

    sent: dict[Key, int]
    received: dict[Key, int]
    consumed: dict[Key, int]
    cancelled: bool

    def outstanding(self, key: Key) -> int:
        """Quantity of a line still in transit."""
        return self.sent.get(key, 0) - self.consumed.get(key, 0)


async def _standing(session: AsyncSession, transfer: Document) -> Standing:
    sent: dict[Key, int] = defaultdict(int)
    received: dict[Key, int] = defaultdict(int)
    consumed: dict[Key, int] = defaultdict(int)
    dest = transfer.to_location_id
    for m in await session.scalars(select(Movement).where(Movement.document_id == transfer.id)):
        if m.bucket == "in_transit" and m.location_id == dest:
            sent[(m.item_type_id, m.lot_id, m.asset_id)] += m.quantity
    receipt_docs = select(Document.id).where(Document.transfer_id == transfer.id)
    for m in await session.scalars(select(Movement).where(Movement.document_id.in_(receipt_docs))):
        key = (m.item_type_id, m.lot_id, m.asset_id)
        if m.bucket == "in_transit":
            consumed[key] -= m.quantity
        elif m.bucket == "on_hand":
            received[key] += m.quantity
    cancelled = bool(await session.scalar(select(Document.id).where(Document.reverses_id == transfer.id)))
    return Standing(dict(sent), dict(received), dict(consumed), cancelled)


def _transfer_read(transfer: Document, standing: Standing, receipts: list[int]) -> TransferRead:
    lines = []
    for key, sent in sorted(standing.sent.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)):
        received = standing.received.get(key, 0)
        consumed = standing.consumed.get(key, 0)
        outstanding = 0 if standing.cancelled else sent - consumed
        lines.append(TransferLine(key[0], key[1], key[2], sent, received, consumed - received, outstanding))
    if standing.cancelled:
        status = "cancelled"
    elif any(line.outstanding for line in lines):
        status = "in_transit"
    else:
        status = "received"
    assert transfer.to_location_id is not None
    return TransferRead(
        id=transfer.id, number=document_number(transfer.kind, transfer.created_at, transfer.id),
        from_location_id=transfer.location_id, to_location_id=transfer.to_location_id, status=status,  # type: ignore[arg-type]
        created_at=transfer.created_at, occurred_at=transfer.occurred_at, actor=transfer.actor,
        reason=transfer.reason, lines=lines, receipts=receipts,
    )


async def get_transfer(session: AsyncSession, transfer_id: int, *, lock: bool = False) -> Document:
    """The transfer document with this id (not a reversal), or NotFound; ``lock`` as in get_document."""
    stmt = select(Document).where(Document.id == transfer_id, Document.kind == "transfer",
                                  Document.reverses_id.is_(None))
    if lock:
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    return await scalar_or_not_found(session, stmt, f"调拨单 id={transfer_id}")


async def transfer_read(session: AsyncSession, transfer: Document) -> TransferRead:
    """A transfer with sent, received, lost and outstanding quantities."""
    receipts = list(await session.scalars(
        select(Document.id).where(Document.transfer_id == transfer.id).order_by(Document.id)))
    return _transfer_read(transfer, await _standing(session, transfer), receipts)


async def list_transfers(
    session: AsyncSession, *, status: str | None, location_id: int | None, limit: int, offset: int,
    after_id: int | None = None,
) -> Page[TransferRead]:
    """Transfers, newest first (by id; ``after_id``: the older ones after it); status is derived from the ledger,
    so it is filtered after reading."""
    check_paging(offset, after_id)
    stmt = select(Document).where(Document.kind == "transfer", Document.reverses_id.is_(None))
    if location_id is not None:
        stmt = stmt.where((Document.location_id == location_id) | (Document.to_location_id == location_id))
    if status is None:
        total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if after_id is not None:
            stmt = stmt.where(Document.id < after_id)
        docs, next_id = page_rows((await session.scalars(
            stmt.order_by(Document.id.desc()).limit(limit + 1).offset(offset))).all(), limit, lambda d: d.id)
        return Page([await transfer_read(session, d) for d in docs], total, limit, offset, next_id)
    matching = []
    for d in await session.scalars(stmt.order_by(Document.id.desc())):
        read = await transfer_read(session, d)
        if read.status == status:
            matching.append(read)
    after = [t for t in matching if t.id < after_id] if after_id is not None else matching[offset:]
    page, next_id = page_rows(after[:limit + 1], limit, lambda t: t.id)
    return Page(page, len(matching), limit, offset, next_id)


async def receive_transfer(session: AsyncSession, transfer_id: int, data: TransferReceive, *, actor: str) -> Document:
    """Receive what arrived; with ``close_short`` the rest is recorded as lost with a reason."""
    # Locked so that concurrent receipts (or a reversal) of one transfer take their turns and see each other.
    transfer = await get_transfer(session, transfer_id, lock=True)
    standing = await _standing(session, transfer)
    number = document_number(transfer.kind, transfer.created_at, transfer.id)
    if standing.cancelled:
        raise Conflict(f"调拨单 {number} 已冲销，不能收货")
    remaining = {k: standing.outstanding(k) for k in standing.sent if standing.outstanding(k) > 0}
    if not remaining:
        raise Conflict(f"调拨单 {number} 已全部收货")
    receive = _allocate(remaining, data) if data.lines is not None else dict(remaining)
    left = {k: q - receive.get(k, 0) for k, q in remaining.items() if q - receive.get(k, 0) > 0}
    if data.close_short and left and not data.loss_reason.strip():
        raise InvalidInput("短收结案须填写损失原因 loss_reason", field="loss_reason")
    if not receive and not (data.close_short and left):
        raise InvalidInput("没有要收货的数量", field="lines")
    assert transfer.to_location_id is not None
    dest = await load_place(session, transfer.to_location_id)
    doc = await insert_document(
        session, kind="transfer_receipt", location_id=dest.id, to_location_id=None, actor=actor, approver=None,
        occurred_at=occurred_at_or_now(data.occurred_at), reason=data.loss_reason if data.close_short else "",
        reference=number, counterparty="", transfer_id=transfer.id,
    )
    await lock_balances(session, ((item_id, dest.id) for item_id, _, _ in remaining))
    posting = Posting(doc.id)
    for (item_id, lot_id, asset_id), qty in sorted(receive.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        item = await load_item(session, item_id)
        move = None
        if asset_id is not None:
            asset = await session.get(Asset, asset_id)
            assert asset is not None
            move = await move_asset(session, asset, expect_status=("in_transit",), expect_location=dest.id,
                                    status="available", location_id=dest.id, field="lines")
        await apply_change(session, posting, dest, item, lot_id, "in_transit", -qty, asset_id=asset_id, move=move,
                           field="lines")
        await apply_change(session, posting, dest, item, lot_id, "on_hand", qty, asset_id=asset_id, move=move,
                           field="lines")
    if data.close_short:
        for (item_id, lot_id, asset_id), qty in sorted(left.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            item = await load_item(session, item_id)
            move = None
            if asset_id is not None:
                asset = await session.get(Asset, asset_id)
                assert asset is not None
                move = await move_asset(session, asset, expect_status=("in_transit",), expect_location=dest.id,
                                        status="lost", location_id=None, field="close_short")
            await apply_change(session, posting, dest, item, lot_id, "in_transit", -qty, asset_id=asset_id,
                               move=move, field="close_short")
    await posting.write(session)
    return doc


def _allocate(remaining: dict[Key, int], data: TransferReceive) -> dict[Key, int]:
    """Match received lines to what is in transit; more than was sent is refused."""
    left = dict(remaining)
    receive: dict[Key, int] = defaultdict(int)
    for i, line in enumerate(data.lines or []):
        f = f"lines.{i}"
        keys = [k for k in left if k[0] == line.item_type_id]
        if not any(k[0] == line.item_type_id for k in remaining):
            raise InvalidInput(f"第 {i + 1} 行：物资品目 id={line.item_type_id} 不在此调拨单的在途清单中",
                               field=f"{f}.item_type_id")
        if line.asset_ids:
            if len(line.asset_ids) != line.quantity:
                raise InvalidInput(f"第 {i + 1} 行：数量与装备件数不符", field=f"{f}.quantity")
            for j, asset_id in enumerate(line.asset_ids):
                key = next((k for k in keys if k[2] == asset_id and left[k] > 0), None)
                if key is None:
                    raise InvalidInput(f"第 {i + 1} 行：装备 id={asset_id} 不在此调拨单的在途清单中",
                                       field=f"{f}.asset_ids.{j}")
                left[key] -= 1
                receive[key] += 1
            continue
        if line.lot_id is not None:
            keys = [k for k in keys if k[1] == line.lot_id]
            if not keys:
                raise InvalidInput(f"第 {i + 1} 行：批次 id={line.lot_id} 不在此调拨单的在途清单中",
                                   field=f"{f}.lot_id")
        if any(k[2] is not None for k in keys):
            raise InvalidInput(f"第 {i + 1} 行：按单件管理的装备收货须列出 asset_ids", field=f"{f}.asset_ids")
        available = sum(left[k] for k in keys)
        if line.quantity > available:
            raise InvalidInput(
                f"第 {i + 1} 行：收货数量 {line.quantity} 超过在途数量 {available}", field=f"{f}.quantity",
                extra={"in_transit": available, "requested": line.quantity},
            )
        need = line.quantity
        for k in keys:
            take = min(need, left[k])
            if take:
                left[k] -= take
                receive[k] += take
                need -= take
    return {k: q for k, q in receive.items() if q > 0}
