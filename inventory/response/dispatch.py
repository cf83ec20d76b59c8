"""Incidents and dispatch orders (动用指令): reserve at once, keepers execute, deliver, return, cancel.

Every stock change goes through the ledger primitives: a reservation document moves stock into
the ``reserved`` bucket; executing releases it and posts a transfer from the source toward the
incident's staging location (in transit); delivering receives that transfer; returning moves
what is left back to a depot. All lines of an order are reserved in one transaction or none is.

A line may call goods off an agreement reserve instead (协议储备调用, :mod:`inventory.agreements.service`):
reserving takes from the agreement's line, executing asks the firm (no stock of ours moves), delivering
posts a receipt at the staging place; from then on the goods are stock like any other.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, in_scope, require_scope
from inventory.agreements.service import call_off, deliver_calloff, release_calloff, reserve_calloff, usable_agreement
from inventory.availability.eta import EtaConfig
from inventory.availability.service import nearest_available
from inventory.catalog.service import find_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput
from inventory.places.refs import Item, Place, load_item, load_place
from inventory.response.incidents import get_incident
from inventory.response.schemas import (
    DeliverRequest,
    DispatchCreate,
    DispatchLineRead,
    DispatchRead,
    ExecuteRequest,
    ReturnRequest,
)
from inventory.response.targets import fix_target, late_condition, site_eta_minutes, with_timing
from inventory.schemas import Page
from inventory.stock.documents import insert_document, occurred_at_or_now
from inventory.stock.ledger import AssetMove, Posting, apply_change, lock_balances, move_asset
from inventory.stock.lots import fefo_key, is_expired
from inventory.stock.schemas import ReceiveLine, TransferReceive
from inventory.stock.transfers import receive_transfer
from inventory.store.keyset import Order, after_row, check_paging, page_rows
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Asset, Balance, Dispatch, DispatchLine, Location, Lot, utcnow

PAPERWORK_DUE = dt.timedelta(hours=48)
_NEWEST_FIRST: Order = ((Dispatch.id, True),)  # the order of list_dispatches


async def dispatch_read(session: AsyncSession, d: Dispatch, now: dt.datetime | None = None) -> DispatchRead:
    """A dispatch with its lines."""
    lines = await session.scalars(select(DispatchLine).where(DispatchLine.dispatch_id == d.id)
                                  .order_by(DispatchLine.id))
    return dispatch_read_of(d, list(lines), now or utcnow())


def paperwork_overdue(d: Dispatch, now: dt.datetime) -> bool:
    """The written order of an oral approval is past its deadline (not for a cancelled order)."""
    return bool(d.paperwork_due_at and d.paperwork_received_at is None and d.paperwork_due_at < now
                and d.status != "cancelled")


def dispatch_read_of(d: Dispatch, lines: list[DispatchLine], now: dt.datetime) -> DispatchRead:
    """A dispatch with its lines already read (in id order)."""
    overdue = paperwork_overdue(d, now)
    return with_timing(DispatchRead(
        id=d.id, incident_id=d.incident_id, status=d.status, approval_mode=d.approval_mode,
        approved_by=d.approved_by, document_no=d.document_no, paperwork_due_at=d.paperwork_due_at,
        paperwork_received_at=d.paperwork_received_at, paperwork_overdue=overdue, created_by=d.created_by,
        created_at=d.created_at, ordered_at=d.created_at,
        lines=[DispatchLineRead(ln.id, ln.item_type_id, ln.location_id, ln.lot_id, ln.asset_id, ln.quantity,
                                ln.state, ln.transfer_id, ln.agreement_id) for ln in lines],
    ), d, now)


async def get_dispatch(session: AsyncSession, dispatch_id: int) -> Dispatch:
    """The dispatch with this id, or NotFound."""
    return await get_or_not_found(session, Dispatch, dispatch_id, f"动用指令 id={dispatch_id}")


async def _site_places(session: AsyncSession, site_id: int) -> list[int]:
    return list(await session.scalars(select(Location.id).where(Location.site_id == site_id)))


async def _reserve_at_site(session: AsyncSession, posting: Posting, d: Dispatch, site_id: int, item: Item,
                           quantity: int, today: dt.date) -> int:
    """Set aside up to ``quantity`` at a site (its bins included): ready units, or non-expired lots FEFO."""
    places = await _site_places(session, site_id)
    reserved = 0
    if item.tracking == "serial":
        candidates = await session.scalars(
            select(Asset).where(Asset.item_type_id == item.id, Asset.location_id.in_(places),
                                Asset.status == "available", Asset.readiness != "fault",
                                or_(Asset.next_inspection_due.is_(None), Asset.next_inspection_due >= today))
            .order_by(Asset.id).limit(quantity * 3 + 5))
        for asset in list(candidates):
            if reserved == quantity:
                break
            try:
                move = await move_asset(session, asset, expect_status=("available",),
                                        expect_location=asset.location_id, status="reserved",
                                        location_id=asset.location_id, field="lines")
            except Conflict:
                continue  # taken by someone else a moment ago
            assert asset.location_id is not None
            await apply_change(session, posting, await load_place(session, asset.location_id), item, None,
                               "reserved", 1, asset_id=asset.id, move=move, field="lines")
            session.add(DispatchLine(dispatch_id=d.id, item_type_id=item.id, location_id=asset.location_id,
                                     asset_id=asset.id, quantity=1, state="reserved"))
            reserved += 1
        return reserved
    await lock_balances(session, [(item.id, p) for p in places])
    rows = (await session.execute(
        select(Balance.location_id, Balance.lot_id, Balance.on_hand - Balance.reserved, Lot.expiry_date,
               Lot.production_date, Balance.id)
        .outerjoin(Lot, Lot.id == Balance.lot_id)
        .where(Balance.item_type_id == item.id, Balance.location_id.in_(places)))).all()
    # FEFO exactly as an issue picks (inventory.stock.lots.fefo_key), then the place's balance row.
    rows = sorted(rows, key=lambda r: (*fefo_key(r[1], r[3], r[4]), r[5]))
    for location_id, lot_id, free, expiry, _, _ in rows:
        if reserved == quantity:
            break
        if free <= 0 or is_expired(expiry, today):
            continue
        take = min(free, quantity - reserved)
        await apply_change(session, posting, await load_place(session, location_id), item, lot_id, "reserved",
                           take, field="lines")
        session.add(DispatchLine(dispatch_id=d.id, item_type_id=item.id, location_id=location_id, lot_id=lot_id,
                                 quantity=take, state="reserved"))
        reserved += take
    return reserved


async def create_dispatch(session: AsyncSession, incident_id: int, data: DispatchCreate, *, actor: str,
                          eta: EtaConfig | None = None, targets: Mapping[str, float] | None = None,
                          now: dt.datetime | None = None, principal: Principal | None = None,
                          excluding: str | None = None) -> Dispatch:
    """Reserve every line (from the named source, else the nearest by ETA) — all or nothing; fix the order's
    response-time target (``targets``: hours per level) and estimate (:mod:`inventory.response.targets`).

    Own stock first (逐级): with ``principal``, every source must lie in his scope — a named source or agreement
    warehouse outside it is refused (403), and the nearest are looked for among his own sources only; another
    unit's stock is asked for with a request (:mod:`inventory.supply_requests.service`). The nearest are never
    looked for under the region ``excluding`` (a request's sender, when his request is answered)."""
    incident = await get_incident(session, incident_id)
    if incident.status != "open":
        raise Conflict(f"事件 {incident.name} 已关闭，不能再下达动用指令")
    if data.approval.mode == "written" and not data.approval.document_no:
        raise InvalidInput("书面批准须填写批准文号 document_no", field="approval.document_no")
    now = now or utcnow()
    d = Dispatch(incident_id=incident.id, status="reserved", approval_mode=data.approval.mode,
                 approved_by=data.approval.approved_by, document_no=data.approval.document_no,
                 paperwork_due_at=now + PAPERWORK_DUE if data.approval.mode == "oral" else None,
                 paperwork_received_at=now if data.approval.mode == "written" else None, created_by=actor,
                 created_at=now, updated_at=now)
    session.add(d)
    await session.flush()
    doc = await insert_document(session, kind="reservation", location_id=incident.location_id, actor=actor,
                                approver=data.approval.approved_by, occurred_at=now,
                                reason=f"动用指令 #{d.id} 预留（{incident.name}）", reference=f"DISPATCH-{d.id}")
    posting = Posting(doc.id)
    today = beijing_today()
    shortfalls: list[dict[str, object]] = []
    said: list[str] = []
    etas: list[float | None] = []  # each source's estimated arrival, in minutes
    for i, line in enumerate(data.lines):
        it = await find_item_type(session, line.item_type, field=f"lines.{i}.item_type")
        item = await load_item(session, it.id)
        if line.agreement_id is not None:
            a, a_line = await usable_agreement(session, line.agreement_id, item.id, today, f"lines.{i}.agreement_id")
            if principal is not None:
                await require_scope(session, principal, a.vendor_location_id)
            if line.from_location_id not in (None, a.vendor_location_id):
                raise InvalidInput(f"第 {i + 1} 行：协议 {a.number} 的供货地点不是 id={line.from_location_id}",
                                   field=f"lines.{i}.from_location_id")
            got = await reserve_calloff(session, a, a_line, line.quantity, d.id)
            etas.append(await site_eta_minutes(session, incident, a.vendor_location_id, eta, a.response_hours))
        elif line.from_location_id is not None:
            site = await load_place(session, line.from_location_id, field=f"lines.{i}.from_location_id")
            if principal is not None:
                await require_scope(session, principal, site.id)
            got = await _reserve_at_site(session, posting, d, site.id, item, line.quantity, today)
            etas.append(await site_eta_minutes(session, incident, site.id, eta))
        else:
            answer = await nearest_available(session, lat=incident.lat, lon=incident.lon, item_type=str(item.id),
                                             quantity=line.quantity, limit=200, eta=eta, today=today,
                                             principal=principal, own_only=principal is not None,
                                             excluding=excluding)
            got = 0
            for source in answer.sources:
                if got == line.quantity:
                    break
                want = min(source.available, line.quantity - got)
                if source.agreement is not None:
                    a, a_line = await usable_agreement(session, source.agreement.id, item.id, today, f"lines.{i}")
                    taken = await reserve_calloff(session, a, a_line, want, d.id)
                else:
                    taken = await _reserve_at_site(session, posting, d, source.location.id, item, want, today)
                got += taken
                etas += [source.eta_minutes] if taken else []
        if got < line.quantity:
            said.append(f"第 {i + 1} 行 {item.name} 需要 {line.quantity}{item.unit}，只能预留 {got}{item.unit}")
            shortfalls.append({"line": i, "item_type_id": item.id, "item_name": item.name,
                               "requested": line.quantity, "available": got, "shortfall": line.quantity - got})
    if shortfalls:
        mine = "（只从本单位辖区内的来源预留；其他单位的物资请提出调用申请）" if principal is not None and \
            principal.role != "admin" else ""
        raise InsufficientStock(f"库存不足，动用指令未下达，未预留任何物资：{'；'.join(said)}{mine}",
                                extra={"shortfall": shortfalls})
    fix_target(d, incident.level, etas, targets)
    await posting.write(session)
    return d


async def _lines(session: AsyncSession, d: Dispatch, state: str) -> list[DispatchLine]:
    return list(await session.scalars(select(DispatchLine).where(DispatchLine.dispatch_id == d.id,
                                                                 DispatchLine.state == state)
                                      .order_by(DispatchLine.id).with_for_update()))


async def _release(
    session: AsyncSession, posting: Posting, ln: DispatchLine, *, status: str, location_id: int,
) -> tuple[Item, Place, AssetMove | None]:
    """Take a line's reservation off its source (a reserved unit goes to ``status`` at ``location_id``)."""
    item = await load_item(session, ln.item_type_id)
    place = await load_place(session, ln.location_id)
    move = None
    if ln.asset_id is not None:
        asset = await session.get(Asset, ln.asset_id)
        assert asset is not None
        move = await move_asset(session, asset, expect_status=("reserved",), expect_location=ln.location_id,
                                status=status, location_id=location_id, field="dispatch")
    await apply_change(session, posting, place, item, ln.lot_id, "reserved", -ln.quantity,
                       asset_id=ln.asset_id, move=move, field="dispatch")
    return item, place, move


async def _chosen(session: AsyncSession, d: Dispatch, state: str, line_ids: list[int] | None,
                  state_zh: str) -> list[DispatchLine]:
    """The order's lines in ``state`` (locked); with ``line_ids``, exactly those, or a specific refusal."""
    lines = await _lines(session, d, state)
    if line_ids is None:
        return lines
    wanted = set(line_ids)
    mine: dict[int, str] = {ln_id: st for ln_id, st in (await session.execute(  # noqa: C416 (rows, not pairs)
        select(DispatchLine.id, DispatchLine.state).where(DispatchLine.dispatch_id == d.id,
                                                          DispatchLine.id.in_(wanted)))).all()}
    strangers = sorted(wanted - mine.keys())
    if strangers:
        raise InvalidInput(f"第 {strangers[0]} 号明细不属于动用指令 #{d.id}", field="line_ids")
    wrong = sorted(i for i, st in mine.items() if st != state)
    if wrong:
        now_zh = LINE_STATE_ZH.get(mine[wrong[0]], mine[wrong[0]])
        raise Conflict(f"动用指令 #{d.id} 的第 {wrong[0]} 号明细当前为“{now_zh}”，不是{state_zh}（可能已由他人办理）")
    return [ln for ln in lines if ln.id in wanted]


LINE_STATE_ZH = {"reserved": "已预留待出库", "executed": "已出库在途", "delivered": "已送达", "released": "已释放",
                 "returned": "已归还"}


async def execute_dispatch(session: AsyncSession, dispatch_id: int, data: ExecuteRequest,
                           principal: Principal, now: dt.datetime | None = None) -> Dispatch:
    """A keeper at the source issues the reserved stock as a transfer toward the incident (in transit).

    Which lines: ``data.line_ids`` (one scanned unit or lot), else the lines of ``data.from_location_id``,
    else those at every source in the keeper's scope — an order spanning several counties is executed per
    source by each county's keeper. Any chosen line outside the keeper's scope refuses the whole request.
    """
    now = occurred_at_or_now(data.occurred_at) if now is None else now
    d = await get_dispatch(session, dispatch_id)
    if d.status not in ("reserved", "executing"):
        raise Conflict(f"动用指令 #{d.id} 当前状态为 {d.status}，不能出库")
    incident = await get_incident(session, d.incident_id)
    target = await load_place(session, incident.location_id)
    lines = await _chosen(session, d, "reserved", data.line_ids, "待出库")
    by_site: dict[int, list[DispatchLine]] = defaultdict(list)
    for ln in lines:
        site = await session.scalar(select(Location.site_id).where(Location.id == ln.location_id))
        by_site[int(site or ln.location_id)].append(ln)
    if data.from_location_id is not None:
        by_site = {k: v for k, v in by_site.items() if k == data.from_location_id}
        if not by_site:
            raise InvalidInput("该地点没有此动用指令待出库的物资", field="from_location_id")
    elif data.line_ids is None and principal.role != "admin":
        own = {k: v for k, v in by_site.items() if await in_scope(session, principal, k)}
        by_site = own or by_site  # none of his: the scope check below refuses with 403
    for site_id in by_site:
        await require_scope(session, principal, site_id)
    for site_id, all_lines in sorted(by_site.items()):
        for ln in all_lines:
            if ln.agreement_id is not None:
                await call_off(session, ln)  # the firm is asked; nothing of ours moves
        site_lines = [ln for ln in all_lines if ln.agreement_id is None]
        if not site_lines:
            continue
        doc = await insert_document(session, kind="transfer", location_id=site_id, to_location_id=target.id,
                                    actor=principal.username, approver=d.approved_by, occurred_at=now,
                                    reason=f"执行动用指令 #{d.id}（{incident.name}）", reference=f"DISPATCH-{d.id}")
        posting = Posting(doc.id)
        for ln in site_lines:
            item, place, move = await _release(session, posting, ln, status="in_transit", location_id=target.id)
            await apply_change(session, posting, place, item, ln.lot_id, "on_hand", -ln.quantity,
                               asset_id=ln.asset_id, move=move, field="dispatch")
            await apply_change(session, posting, target, item, ln.lot_id, "in_transit", ln.quantity,
                               asset_id=ln.asset_id, move=move, field="dispatch")
            ln.state, ln.transfer_id = "executed", doc.id
        await posting.write(session)
    remaining = await session.scalar(select(func.count()).select_from(DispatchLine).where(
        DispatchLine.dispatch_id == d.id, DispatchLine.state == "reserved"))
    d.status, d.updated_at = ("executing" if remaining else "in_transit"), utcnow()
    d.executed_at = d.executed_at or now
    await session.flush()
    return d


async def deliver_dispatch(session: AsyncSession, dispatch_id: int, principal: Principal,
                           now: dt.datetime | None = None, data: DeliverRequest | None = None) -> Dispatch:
    """Sign for what has arrived at the incident (receives the transfers): the named lines (a receiving keeper
    scanning a unit or lot at the scene), else everything on the way. Once nothing is left reserved or on the
    way, the order is delivered (``delivered_at``)."""
    data = data or DeliverRequest()
    now = occurred_at_or_now(data.occurred_at) if now is None else now
    d = await get_dispatch(session, dispatch_id)
    if d.status not in ("executing", "in_transit"):
        raise Conflict(f"动用指令 #{d.id} 当前状态为 {d.status}，没有在途物资可签收")
    incident = await get_incident(session, d.incident_id)
    await require_scope(session, principal, incident.location_id)
    chosen = await _chosen(session, d, "executed", data.line_ids, "在途待签收")
    for ln in chosen:
        if ln.agreement_id is not None:  # the firm's goods arrive: a receipt at the staging place
            await deliver_calloff(session, ln, incident.location_id, actor=principal.username,
                                  reference=f"DISPATCH-{d.id}")
    by_transfer: dict[int, list[DispatchLine]] = defaultdict(list)
    for ln in chosen:
        if ln.transfer_id is not None and ln.agreement_id is None:
            by_transfer[ln.transfer_id].append(ln)
    for transfer_id, t_lines in sorted(by_transfer.items()):
        receipt = TransferReceive(occurred_at=now) if data.line_ids is None else TransferReceive(
            occurred_at=now, lines=[ReceiveLine(item_type_id=ln.item_type_id, quantity=ln.quantity, lot_id=ln.lot_id,
                                                asset_ids=[ln.asset_id] if ln.asset_id else []) for ln in t_lines])
        await receive_transfer(session, transfer_id, receipt, actor=principal.username)
    for ln in chosen:
        ln.state = "delivered"
    await session.flush()
    open_lines = await session.scalar(select(func.count()).select_from(DispatchLine).where(
        DispatchLine.dispatch_id == d.id, DispatchLine.state.in_(("reserved", "executed"))))
    if d.status == "in_transit" and not open_lines:
        d.status, d.delivered_at = "delivered", now
    d.updated_at = utcnow()
    await session.flush()
    return d


async def return_dispatch(session: AsyncSession, dispatch_id: int, data: ReturnRequest,
                          principal: Principal) -> Dispatch:
    """Bring back what is still at the incident (not used up) to a depot, through the ledger: the named lines
    (a keeper scanning a unit back in; the order is returned once none is left out), else all of it.

    A keeper receives back only what was dispatched from his own places, into a place of his: the
    order's sources are checked as well as the destination.
    """
    d = await get_dispatch(session, dispatch_id)
    if d.status not in ("delivered", "in_transit", "executing") or (d.status != "delivered" and data.line_ids is None):
        raise Conflict(f"动用指令 #{d.id} 当前状态为 {d.status}，须先签收才能归还")
    incident = await get_incident(session, d.incident_id)
    chosen = await _chosen(session, d, "delivered", data.line_ids, "已送达")
    sources = {ln.location_id for ln in chosen if ln.agreement_id is None}
    await require_scope(session, principal, data.to_location_id, *sorted(sources))
    depot = await load_place(session, data.to_location_id, field="to_location_id")
    site = await load_place(session, incident.location_id)
    doc = await insert_document(session, kind="transfer", location_id=site.id, to_location_id=depot.id,
                                actor=principal.username, approver=None,
                                occurred_at=occurred_at_or_now(data.occurred_at), reason=data.reason,
                                reference=f"DISPATCH-{d.id}")
    posting = Posting(doc.id)
    moved = 0
    for ln in chosen:
        item = await load_item(session, ln.item_type_id)
        qty = ln.quantity
        move = None
        if ln.asset_id is not None:
            asset = await session.get(Asset, ln.asset_id)
            if asset is None or asset.location_id != site.id or asset.status != "available":
                continue  # used up, lost or already moved on: nothing to bring back
            move = await move_asset(session, asset, expect_status=("available",), expect_location=site.id,
                                    status="in_transit", location_id=depot.id, field="dispatch")
        else:
            here = int(await session.scalar(select(Balance.on_hand - Balance.reserved).where(
                Balance.location_id == site.id, Balance.item_type_id == item.id,
                Balance.lot_key == (ln.lot_id or 0))) or 0)
            qty = min(qty, here)
            if qty <= 0:
                continue
        await apply_change(session, posting, site, item, ln.lot_id, "on_hand", -qty, asset_id=ln.asset_id,
                           move=move, field="dispatch")
        await apply_change(session, posting, depot, item, ln.lot_id, "in_transit", qty, asset_id=ln.asset_id,
                           move=move, field="dispatch")
        ln.state = "returned"
        moved += qty
    if not moved:
        raise Conflict("事件现场已没有可归还的物资（可能已全部消耗）")
    await posting.write(session)
    await receive_transfer(session, doc.id, TransferReceive(occurred_at=data.occurred_at), actor=principal.username)
    await session.flush()
    left = await session.scalar(select(func.count()).select_from(DispatchLine).where(
        DispatchLine.dispatch_id == d.id, DispatchLine.state.in_(("reserved", "executed", "delivered"))))
    if data.line_ids is None or (d.status == "delivered" and not left):
        d.status = "returned"
    d.updated_at = utcnow()
    await session.flush()
    return d


async def cancel_dispatch(session: AsyncSession, dispatch_id: int, *, actor: str) -> Dispatch:
    """Release whatever is still reserved; executed lines stay on their way."""
    d = await get_dispatch(session, dispatch_id)
    if d.status not in ("reserved", "executing"):
        raise Conflict(f"动用指令 #{d.id} 当前状态为 {d.status}，不能取消")
    incident = await get_incident(session, d.incident_id)
    doc = await insert_document(session, kind="reservation", location_id=incident.location_id, actor=actor,
                                approver=None, occurred_at=utcnow(), reason=f"取消动用指令 #{d.id}，释放预留",
                                reference=f"DISPATCH-{d.id}")
    posting = Posting(doc.id)
    for ln in await _lines(session, d, "reserved"):
        if ln.agreement_id is not None:
            await release_calloff(session, ln)
            continue
        await _release(session, posting, ln, status="available", location_id=ln.location_id)
        ln.state = "released"
    await posting.write(session)
    d.status = "in_transit" if d.status == "executing" else "cancelled"
    d.updated_at = utcnow()
    await session.flush()
    return d


async def record_paperwork(session: AsyncSession, dispatch_id: int, document_no: str) -> Dispatch:
    """The written order that follows an oral approval has arrived."""
    d = await get_dispatch(session, dispatch_id)
    if d.paperwork_received_at is not None:
        raise Conflict(f"动用指令 #{d.id} 的书面手续已于 {d.paperwork_received_at:%Y-%m-%d} 补办")
    d.document_no, d.paperwork_received_at, d.updated_at = document_no, utcnow(), utcnow()
    await session.flush()
    return d


async def list_dispatches(
    session: AsyncSession, *, incident_id: int | None, status: str | None, source: int | None,
    paperwork: str | None, limit: int, offset: int, now: dt.datetime | None = None, late: bool | None = None,
    after_id: int | None = None,
) -> Page[DispatchRead]:
    """Dispatches by incident, status, source location, paperwork (``overdue`` or ``missing``) and lateness,
    newest first (by id; ``after_id``: the older ones after it)."""
    check_paging(offset, after_id)
    now = now or utcnow()
    stmt = select(Dispatch)
    if incident_id is not None:
        stmt = stmt.where(Dispatch.incident_id == incident_id)
    if status:
        stmt = stmt.where(Dispatch.status == status)
    if source is not None:
        sites = select(Location.id).where(Location.site_id == source)
        stmt = stmt.where(Dispatch.id.in_(select(DispatchLine.dispatch_id).where(DispatchLine.location_id.in_(sites))))
    if paperwork in ("overdue", "missing"):
        stmt = stmt.where(Dispatch.paperwork_received_at.is_(None), Dispatch.status != "cancelled")
        if paperwork == "overdue":
            stmt = stmt.where(Dispatch.paperwork_due_at < now)
    if late is not None:
        stmt = stmt.where(late_condition(now) if late else ~late_condition(now))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows, next_id = page_rows((await session.scalars(
        stmt.where(await after_row(session, _NEWEST_FIRST, after_id)).order_by(Dispatch.id.desc())
        .limit(limit + 1).offset(offset))).all(), limit, lambda d: d.id)
    return Page([await dispatch_read(session, d, now) for d in rows], total, limit, offset, next_id)
