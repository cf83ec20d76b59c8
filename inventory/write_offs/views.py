"""Reading write-off requests: the API's views, and the approver's queue for the phone page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import APPROVER_ROLES
from inventory.access.scope import Principal
from inventory.scan.resolve import scope_clause
from inventory.schemas import Page
from inventory.stock.documents import document_number
from inventory.store.keyset import check_paging, page_rows
from inventory.store.models import Asset, Document, ItemType, Location, Lot, User, WriteOffLine, WriteOffRequest
from inventory.write_offs.schemas import WriteOffLineRead, WriteOffRead

ASSET_STATUS_ZH = {"available": "在库可用", "maintenance": "维修中"}


async def write_off_reads(session: AsyncSession, requests: list[WriteOffRequest]) -> list[WriteOffRead]:
    """Requests with their lines and the number of their 报废单 (three queries whatever the count)."""
    ids = [r.id for r in requests]
    lines: dict[int, list[WriteOffLineRead]] = {i: [] for i in ids}
    if ids:
        for ln in await session.scalars(select(WriteOffLine).where(WriteOffLine.request_id.in_(ids))
                                        .order_by(WriteOffLine.id)):
            lines[ln.request_id].append(WriteOffLineRead(ln.item_type_id, ln.location_id, ln.lot_id, ln.asset_id,
                                                         ln.quantity))
    doc_ids = [r.document_id for r in requests if r.document_id is not None]
    numbers = {}
    if doc_ids:
        numbers = {i: document_number(kind, created, i) for i, kind, created in (await session.execute(
            select(Document.id, Document.kind, Document.created_at).where(Document.id.in_(doc_ids)))).all()}
    return [WriteOffRead(
        id=r.id, status=r.status, location_id=r.location_id, requested_by=r.requested_by,  # type: ignore[arg-type]
        reason=r.reason, created_at=r.created_at, decided_by=r.decided_by, decided_at=r.decided_at,
        rejection_reason=r.rejection_reason, reservation_document_id=r.reservation_document_id,
        document_id=r.document_id, document_number=numbers.get(r.document_id) if r.document_id else None,
        lines=lines[r.id],
    ) for r in requests]


async def write_off_read(session: AsyncSession, req: WriteOffRequest) -> WriteOffRead:
    """One request as the API shows it."""
    return (await write_off_reads(session, [req]))[0]


async def list_write_offs(session: AsyncSession, *, status: str | None, location_id: int | None, limit: int,
                          offset: int, after_id: int | None = None) -> Page[WriteOffRead]:
    """Requests, newest first (by id; ``after_id``: the older ones after it), by status and location."""
    check_paging(offset, after_id)
    stmt = select(WriteOffRequest)
    if status:
        stmt = stmt.where(WriteOffRequest.status == status)
    if location_id is not None:
        stmt = stmt.where(WriteOffRequest.location_id == location_id)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if after_id is not None:
        stmt = stmt.where(WriteOffRequest.id < after_id)
    rows, next_id = page_rows((await session.scalars(
        stmt.order_by(WriteOffRequest.id.desc()).limit(limit + 1).offset(offset))).all(), limit, lambda r: r.id)
    return Page(await write_off_reads(session, rows), total, limit, offset, next_id)


@dataclass
class QueueLine:
    """One line as the approver reads it: what, how many, which lot or unit, where."""

    item_name: str
    unit: str
    quantity: int
    detail: str
    place: str


@dataclass
class QueuedWriteOff:
    """A pending request on the approver's page."""

    id: int
    location_name: str
    requested_by: str
    requester_name: str
    reason: str
    created_at: dt.datetime
    can_decide: bool
    why_not: str
    lines: list[QueueLine] = field(default_factory=list)


async def pending_queue(session: AsyncSession, principal: Principal, *, limit: int = 100) -> list[QueuedWriteOff]:
    """Pending requests at places this user sees (scope; admins and auditors everywhere), oldest first."""
    where = true() if principal.role in ("admin", "auditor") else scope_clause(principal)
    rows = (await session.execute(
        select(WriteOffRequest, Location.name, User.display_name)
        .join(Location, Location.id == WriteOffRequest.location_id)
        .outerjoin(User, User.username == WriteOffRequest.requested_by)
        .where(WriteOffRequest.status == "pending", where).order_by(WriteOffRequest.id).limit(limit))).all()
    queue: dict[int, QueuedWriteOff] = {}
    for req, location_name, display in rows:
        if principal.role not in APPROVER_ROLES:
            why_not = "只有指挥人员或管理员可以审批报废申请"
        elif req.requested_by == principal.username:
            why_not = "本人提交的申请，须由另一名指挥人员或管理员审批"
        else:
            why_not = ""
        queue[req.id] = QueuedWriteOff(req.id, location_name, req.requested_by, display or req.requested_by,
                                       req.reason, req.created_at, not why_not, why_not)
    if queue:
        place = Location.name.label("place")
        for ln, name, unit, lot_number, expiry, serial, where_name in (await session.execute(
            select(WriteOffLine, ItemType.name, ItemType.unit, Lot.number, Lot.expiry_date, Asset.serial_number, place)
            .join(ItemType, ItemType.id == WriteOffLine.item_type_id)
            .join(Location, Location.id == WriteOffLine.location_id)
            .outerjoin(Lot, Lot.id == WriteOffLine.lot_id).outerjoin(Asset, Asset.id == WriteOffLine.asset_id)
            .where(WriteOffLine.request_id.in_(list(queue))).order_by(WriteOffLine.id))).all():
            if serial is not None:
                detail = f"编号 {serial}（{ASSET_STATUS_ZH.get(ln.asset_status or '', ln.asset_status or '')}）"
            elif lot_number is not None:
                detail = f"批号 {lot_number}" + (f"，有效期至 {expiry:%Y-%m-%d}" if expiry else "")
            else:
                detail = ""
            queued = queue[ln.request_id]
            queued.lines.append(QueueLine(name, unit, ln.quantity, detail,
                                          "" if where_name == queued.location_name else where_name))
    return list(queue.values())
