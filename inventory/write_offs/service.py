"""Write-off requests (报废申请): a keeper asks, a second person — a commander or admin — decides.

A request sets its stock aside at once: a reservation document moves each line into the ``reserved``
bucket (a serial unit becomes ``reserved``), so nothing can issue, move or dispatch it while it waits.
Approval releases that reservation and posts the write-off document (报废单) through the ledger's
primitives in the same transaction; rejection or cancellation only releases it. Each line names the
exact lot (or lot-less stock) or unit set aside, so what is written off is what the approver saw.

A request leaves ``pending`` through one guarded update (``… WHERE status = 'pending'``): two approvers
racing — or an approval racing a cancellation — decide it once; the other finds it decided (409).
The approver is any active commander or admin whose scope covers the location (admins: everywhere),
never the requester.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import APPROVER_ROLES
from inventory.access.scope import Principal, require_scope
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput, PermissionDenied
from inventory.places.refs import Item, Place, load_item, load_place
from inventory.stock.documents import CHINA, insert_document
from inventory.stock.ledger import Posting, apply_change, lock_balances, move_asset
from inventory.stock.lots import Candidate, pick_fefo, pickable
from inventory.store.lookup import scalar_or_not_found
from inventory.store.models import Asset, Balance, Location, Lot, WriteOffLine, WriteOffRequest, utcnow
from inventory.write_offs.schemas import WriteOffCreate, WriteOffLineRequest, WriteOffStatus

STATUS_ZH = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回", "cancelled": "已撤销"}
# What a unit may be in to be written off (as the ledger's write-off allows): ready, or broken in maintenance.
WRITABLE_OFF = ("available", "maintenance")


def reference(request_id: int) -> str:
    """The reference the request's documents carry (reservation, release, 报废单)."""
    return f"WRITEOFF-{request_id}"


@dataclass
class _Line:
    """A checked request line with its item type, its lot when named, and its units."""

    index: int
    line: WriteOffLineRequest
    item: Item
    assets: list[Asset] = field(default_factory=list)

    @property
    def field(self) -> str:
        """Path of this line in the request body."""
        return f"lines.{self.index}"


async def _check_lines(session: AsyncSession, lines: list[WriteOffLineRequest]) -> list[_Line]:
    checked: list[_Line] = []
    seen: set[int] = set()
    for i, line in enumerate(lines):
        f = f"lines.{i}"
        try:
            item = await load_item(session, line.item_type_id, field=f"{f}.item_type_id")
        except InvalidInput as exc:
            raise InvalidInput(f"第 {i + 1} 行：{exc.detail}", field=exc.field) from None
        ctx = _Line(i, line, item)
        if item.tracking == "bulk":
            if line.asset_ids:
                raise InvalidInput(f"第 {i + 1} 行：{item.name} 按数量管理，不能填装备 asset_ids",
                                   field=f"{f}.asset_ids")
            if line.lot_id is not None and await session.scalar(
                    select(Lot.item_type_id).where(Lot.id == line.lot_id)) != item.id:
                raise InvalidInput(f"第 {i + 1} 行：批次 id={line.lot_id} 不存在或不属于 {item.name}",
                                   field=f"{f}.lot_id")
        else:
            if line.lot_id is not None:
                raise InvalidInput(f"第 {i + 1} 行：{item.name} 按单件管理，不分批次", field=f"{f}.lot_id")
            if len(line.asset_ids) != line.quantity:
                raise InvalidInput(f"第 {i + 1} 行：{item.name} 按单件管理，须列出 {line.quantity} 件装备 asset_ids"
                                   f"（现列出 {len(line.asset_ids)} 件）", field=f"{f}.asset_ids")
            for j, asset_id in enumerate(line.asset_ids):
                asset = await session.get(Asset, asset_id)
                if asset is None or asset.item_type_id != item.id:
                    raise InvalidInput(f"第 {i + 1} 行：装备 id={asset_id} 不存在或不是 {item.name}",
                                       field=f"{f}.asset_ids.{j}")
                if asset_id in seen:
                    raise InvalidInput(f"装备 id={asset_id} 在申请中出现了两次", field=f"{f}.asset_ids.{j}")
                seen.add(asset_id)
                ctx.assets.append(asset)
        checked.append(ctx)
    return checked


async def request_write_off(session: AsyncSession, data: WriteOffCreate, *, actor: str) -> WriteOffRequest:
    """Record a pending write-off and set its stock aside (all lines or none)."""
    location = await load_place(session, data.location_id, field="location_id")
    reason = data.reason.strip()
    if not reason:
        raise InvalidInput("报废必须填写原因 reason（如：霉变、过期、损坏无法修复）", field="reason")
    lines = await _check_lines(session, data.lines)
    await lock_balances(session, ((ctx.item.id, loc) for ctx in lines
                                  for loc in (location.id, *(a.location_id for a in ctx.assets)) if loc is not None))
    now = utcnow()
    req = WriteOffRequest(location_id=location.id, status="pending", requested_by=actor, reason=reason,
                          created_at=now, rejection_reason="")
    session.add(req)
    await session.flush()
    doc = await insert_document(session, kind="reservation", location_id=location.id, actor=actor, occurred_at=now,
                                reason=f"报废申请 #{req.id} 待审批，预留", reference=reference(req.id))
    posting = Posting(doc.id)
    places = tuple(await session.scalars(select(Location.id).where(Location.path.startswith(location.path))))
    for ctx in lines:
        if ctx.item.tracking == "serial":
            for j, asset in enumerate(ctx.assets):
                await _hold_unit(session, posting, req, location, places, ctx.item, asset, f"{ctx.field}.asset_ids.{j}")
        else:
            for lot_id, take in await _picks(session, location, ctx):
                await apply_change(session, posting, location, ctx.item, lot_id, "reserved", take,
                                   field=f"{ctx.field}.quantity")
                session.add(WriteOffLine(request_id=req.id, item_type_id=ctx.item.id, location_id=location.id,
                                         lot_id=lot_id, quantity=take))
    await posting.write(session)
    req.reservation_document_id = doc.id
    await session.flush()
    return req


async def _picks(session: AsyncSession, location: Place, ctx: _Line) -> list[tuple[int | None, int]]:
    """The named lot, or lots first-expiring-first (expired ones included: they are what is written off)."""
    qty = ctx.line.quantity
    if ctx.line.lot_id is not None:
        return [(ctx.line.lot_id, qty)]
    candidates = [Candidate(*row) for row in (await session.execute(
        select(Balance.lot_id, Lot.expiry_date, Lot.production_date, Balance.on_hand - Balance.reserved)
        .outerjoin(Lot, Lot.id == Balance.lot_id)
        .where(Balance.location_id == location.id, Balance.item_type_id == ctx.item.id).order_by(Balance.id))).all()]
    today = beijing_today()
    picks = pick_fefo(candidates, qty, today, include_expired=True)
    if picks is None:
        have = pickable(candidates, today, include_expired=True)
        raise InsufficientStock(
            f"库存不足：{location.name} 的 {ctx.item.name} 可用 {have}{ctx.item.unit}，申请报废 {qty}{ctx.item.unit}",
            field=f"{ctx.field}.quantity",
            extra={"available": have, "requested": qty, "location_id": location.id, "item_type_id": ctx.item.id})
    return picks


async def _hold_unit(session: AsyncSession, posting: Posting, req: WriteOffRequest, location: Place,
                     places: tuple[int, ...], item: Item, asset: Asset, f: str) -> None:
    await session.refresh(asset)
    if asset.location_id not in places:
        raise Conflict(f"装备 {asset.serial_number} 不在 {location.name}（当前状态 {asset.status}）", field=f,
                       extra={"asset_id": asset.id, "location_id": asset.location_id})
    source = await load_place(session, asset.location_id or location.id)
    move = await move_asset(session, asset, expect_status=WRITABLE_OFF, expect_location=source.id, status="reserved",
                            location_id=source.id, field=f)
    await apply_change(session, posting, source, item, None, "reserved", 1, asset_id=asset.id, move=move, field=f)
    session.add(WriteOffLine(request_id=req.id, item_type_id=item.id, location_id=source.id, asset_id=asset.id,
                             quantity=1, asset_status=move.status_before))


async def get_write_off(session: AsyncSession, request_id: int) -> WriteOffRequest:
    """The request with this id, or NotFound."""
    stmt = select(WriteOffRequest).where(WriteOffRequest.id == request_id).execution_options(populate_existing=True)
    return await scalar_or_not_found(session, stmt, f"报废申请 id={request_id}")


async def _lines(session: AsyncSession, request_id: int) -> list[WriteOffLine]:
    return list(await session.scalars(select(WriteOffLine).where(WriteOffLine.request_id == request_id)
                                      .order_by(WriteOffLine.id)))


async def _decide(session: AsyncSession, request_id: int, status: WriteOffStatus, actor: str, verb: str,
                  rejection_reason: str = "") -> WriteOffRequest:
    """Move a pending request to ``status``; only one decision ever succeeds (409 for every later one)."""
    result = await session.execute(
        update(WriteOffRequest).where(WriteOffRequest.id == request_id, WriteOffRequest.status == "pending")
        .values(status=status, decided_by=actor, decided_at=utcnow(), rejection_reason=rejection_reason)
        .execution_options(synchronize_session=False))
    req = await get_write_off(session, request_id)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        when = f"，{req.decided_at.astimezone(CHINA):%Y-%m-%d %H:%M}" if req.decided_at else ""
        raise Conflict(f"报废申请 #{req.id} {STATUS_ZH[req.status]}（{req.decided_by}{when}），不能再{verb}",
                       extra={"request_status": req.status})
    return req


async def _check_approver(session: AsyncSession, req: WriteOffRequest, principal: Principal, verb: str) -> None:
    if principal.role not in APPROVER_ROLES:
        raise PermissionDenied(f"只有指挥人员或管理员可以{verb}报废申请", extra={"role": principal.role})
    if req.requested_by == principal.username:
        hint = "，如不再需要请撤销" if verb == "驳回" else "，须由另一名指挥人员或管理员审批"
        raise PermissionDenied(f"不能{verb}本人提交的报废申请{hint}")
    await require_scope(session, principal, req.location_id)


async def approve_write_off(session: AsyncSession, request_id: int, principal: Principal) -> WriteOffRequest:
    """Approve: release the reservation and post the 报废单 (requester as actor, this user as approver)."""
    await _check_approver(session, await get_write_off(session, request_id), principal, "批准")
    req = await _decide(session, request_id, "approved", principal.username, "批准")
    lines = await _lines(session, req.id)
    await lock_balances(session, ((ln.item_type_id, ln.location_id) for ln in lines))
    await _release(session, req, lines, principal.username, "已批准")
    doc = await insert_document(session, kind="write_off", location_id=req.location_id, actor=req.requested_by,
                                approver=principal.username, occurred_at=utcnow(), reason=req.reason,
                                reference=reference(req.id))
    posting = Posting(doc.id)
    for i, ln in enumerate(lines):
        place, item = await load_place(session, ln.location_id), await load_item(session, ln.item_type_id)
        move = None
        if ln.asset_id is not None:
            asset = await session.get(Asset, ln.asset_id)
            assert asset is not None
            move = await move_asset(session, asset, expect_status=(ln.asset_status or "available",),
                                    expect_location=ln.location_id, status="retired", location_id=None,
                                    field=f"lines.{i}")
        await apply_change(session, posting, place, item, ln.lot_id, "on_hand", -ln.quantity, asset_id=ln.asset_id,
                           move=move, field=f"lines.{i}")
    await posting.write(session)
    req.document_id = doc.id
    await session.flush()
    return req


async def reject_write_off(session: AsyncSession, request_id: int, reason: str,
                           principal: Principal) -> WriteOffRequest:
    """Refuse (with a reason): the stock set aside is free again."""
    await _check_approver(session, await get_write_off(session, request_id), principal, "驳回")
    if not reason.strip():
        raise InvalidInput("驳回必须填写理由 reason", field="reason")
    req = await _decide(session, request_id, "rejected", principal.username, "驳回", reason.strip())
    await _unhold(session, req, principal.username, "被驳回")
    return req


async def cancel_write_off(session: AsyncSession, request_id: int, principal: Principal) -> WriteOffRequest:
    """The requester withdraws a pending request (an admin may withdraw any): the stock is free again."""
    req = await get_write_off(session, request_id)
    if req.requested_by != principal.username and principal.role != "admin":
        raise PermissionDenied(f"只有申请人 {req.requested_by} 本人可以撤销报废申请 #{req.id}")
    req = await _decide(session, request_id, "cancelled", principal.username, "撤销")
    await _unhold(session, req, principal.username, "已撤销")
    return req


async def _unhold(session: AsyncSession, req: WriteOffRequest, actor: str, why: str) -> None:
    lines = await _lines(session, req.id)
    await lock_balances(session, ((ln.item_type_id, ln.location_id) for ln in lines))
    await _release(session, req, lines, actor, why)
    await session.flush()


async def _release(session: AsyncSession, req: WriteOffRequest, lines: list[WriteOffLine], actor: str,
                   why: str) -> None:
    """Take the request's stock out of ``reserved``; a unit goes back to the status it had."""
    doc = await insert_document(session, kind="reservation", location_id=req.location_id, actor=actor,
                                occurred_at=utcnow(), reason=f"报废申请 #{req.id} {why}，释放预留",
                                reference=reference(req.id))
    posting = Posting(doc.id)
    for i, ln in enumerate(lines):
        place, item = await load_place(session, ln.location_id), await load_item(session, ln.item_type_id)
        move = None
        if ln.asset_id is not None:
            asset = await session.get(Asset, ln.asset_id)
            assert asset is not None
            move = await move_asset(session, asset, expect_status=("reserved",), expect_location=ln.location_id,
                                    status=ln.asset_status or "available", location_id=ln.location_id,
                                    field=f"lines.{i}")
        await apply_change(session, posting, place, item, ln.lot_id, "reserved", -ln.quantity, asset_id=ln.asset_id,
                           move=move, field=f"lines.{i}")
    await posting.write(session)
