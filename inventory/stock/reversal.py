"""Reversal (冲销): a new document that undoes another one exactly; the original is never touched."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict
from inventory.places.refs import load_item, load_place
from inventory.stock.documents import document_number, get_document, insert_document
from inventory.stock.ledger import AssetMove, Posting, apply_change, lock_balances, move_asset
from inventory.store.models import Asset, Document, Movement, utcnow


async def reverse_document(session: AsyncSession, document_id: int, reason: str, *, actor: str) -> Document:
    """Post a document that undoes another one exactly; the original is never touched."""
    # Locked so that a concurrent reversal (or receipt of this transfer) waits and then sees this one.
    original = await get_document(session, document_id, lock=True)
    number = document_number(original.kind, original.created_at, original.id)
    if original.reverses_id is not None:
        raise Conflict(f"单据 {number} 本身是冲销单，不能再冲销；如需恢复请重新录入")
    if await session.scalar(select(Document.id).where(Document.reverses_id == original.id)):
        raise Conflict(f"单据 {number} 已被冲销")
    if original.kind == "transfer" and await session.scalar(
        select(Document.id).where(Document.transfer_id == original.id, Document.reverses_id.is_(None))
        .where(~Document.id.in_(select(Document.reverses_id).where(Document.reverses_id.is_not(None))))
    ):
        raise Conflict(f"调拨单 {number} 已有收货记录，请先冲销收货单")
    doc = await insert_document(
        session, kind=original.kind, location_id=original.location_id, to_location_id=original.to_location_id,
        actor=actor, approver=None, occurred_at=utcnow(), reason=reason, reference=number,
        counterparty=original.counterparty, reverses_id=original.id, transfer_id=original.transfer_id,
    )
    movements = (await session.scalars(
        select(Movement).where(Movement.document_id == original.id).order_by(Movement.id.desc())
    )).all()
    await lock_balances(session, ((m.item_type_id, m.location_id) for m in movements))
    posting = Posting(doc.id)
    restored: dict[int, Movement] = {}
    for m in movements:
        if m.asset_id is not None:
            restored[m.asset_id] = m  # iterating newest first: the last one kept is the earliest movement
    for asset_id, first in restored.items():
        asset = await session.get(Asset, asset_id)
        assert asset is not None
        await move_asset(
            session, asset, expect_status=(first.asset_status_after or "",), expect_location=first.asset_location_after,
            status=first.asset_status_before or "available", location_id=first.asset_location_before,
            field="document_id",
        )
    # Undo increases of what is held before giving back what was taken (keeps every bucket ≥ 0).
    for m in sorted(movements, key=lambda m: (m.quantity < 0, m.id)):
        location = await load_place(session, m.location_id)
        it = await load_item(session, m.item_type_id)
        move = None
        if m.asset_id is not None:
            move = AssetMove(m.asset_status_after or "", m.asset_location_after, m.asset_status_before or "",
                             m.asset_location_before)
        await apply_change(session, posting, location, it, m.lot_id, m.bucket, -m.quantity,  # type: ignore[arg-type]
                      asset_id=m.asset_id, move=move, field="document_id")
    await posting.write(session)
    return doc
