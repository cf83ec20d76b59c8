"""What the order pages show: an order's lines, vouchers and steps, paperwork due, lists of orders; the Chinese
names of statuses and kinds they share with the incident pages."""


from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.clock import BEIJING
from inventory.response.dispatch import dispatch_read_of, get_dispatch
from inventory.response.schemas import DispatchRead
from inventory.response.targets import LEVEL_ZH, late_condition
from inventory.stock.documents import KIND_ZH as DOCUMENT_ZH
from inventory.stock.documents import document_number
from inventory.store.models import (
    Agreement,
    Asset,
    Dispatch,
    DispatchLine,
    Document,
    Incident,
    ItemType,
    Location,
    Lot,
    Region,
    User,
    utcnow,
)

KIND_ZH = {"flood": "洪涝", "waterlogging": "城乡内涝", "typhoon": "台风", "landslide": "山体滑坡",
           "forest_fire": "森林火灾", "earthquake": "地震", "other": "其他"}
INCIDENT_STATUS_ZH = {"open": "处置中", "closed": "已关闭"}
DISPATCH_STATUS_ZH = {"reserved": "已预留，待出库", "executing": "部分出库", "in_transit": "在途",
                      "delivered": "已签收", "returned": "已归还", "cancelled": "已取消"}
LINE_STATE_ZH = {"reserved": "已预留", "executed": "已出库，在途", "delivered": "已签收", "returned": "已归还",
                 "released": "已释放"}
APPROVAL_ZH = {"written": "书面批准", "oral": "口头批准（须补办书面手续）"}
# Orders still under way: reserved, leaving, on the road or at the scene (not yet returned or cancelled).
OPEN_ORDER_STATUSES = ("reserved", "executing", "in_transit", "delivered")
ORDERS_SHOWN = 100  # an incident's page shows this many orders, newest first; the rest are on /dispatches


def reference(dispatch_id: int) -> str:
    """The reference every voucher of a dispatch order carries (see ``dispatch.py``)."""
    return f"DISPATCH-{dispatch_id}"


def overdue_conditions(now: dt.datetime) -> list[ColumnElement[bool]]:
    """The paperwork rule of ``dispatch.paperwork_overdue`` as SQL: due, not received, not cancelled."""
    return [Dispatch.paperwork_due_at.is_not(None), Dispatch.paperwork_due_at < now,
            Dispatch.paperwork_received_at.is_(None), Dispatch.status != "cancelled"]


def beijing_midnight(day: dt.date) -> dt.datetime:
    """The start of a Beijing day, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(), BEIJING)


# --------------------------------------------------------------------------- places


async def place_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """Region code → its name with its city and county in front ("南昌市南昌县蒋巷镇")."""
    wanted = {code[:n] for code in codes for n in (4, 6, 9, 12) if len(code) >= n}
    if not wanted:
        return {}
    names = dict((await session.execute(select(Region.code, Region.name).where(Region.code.in_(wanted)))).all())
    return {code: "".join(names[code[:n]] for n in (4, 6, 9, 12) if len(code) >= n and code[:n] in names) or code
            for code in codes}


@dataclass
class LineView:
    """One allocation of an order as people read it."""

    id: int
    item_name: str
    item_code: str
    unit: str
    quantity: int
    state: str
    state_zh: str
    site_id: int
    site_name: str
    source: str
    source_code: str
    source_label: str | None
    lot_number: str | None
    expiry_date: dt.date | None
    serial_number: str | None
    asset_label: str | None
    voucher: str | None
    agreement_id: int | None = None
    agreement_number: str | None = None
    """Set when the line calls goods off an agreement reserve (协议储备调用) rather than taking our stock."""


@dataclass
class VoucherView:
    """A voucher (单据) posted for an order, with the step it stands for."""

    id: int
    number: str
    kind_zh: str
    step: str
    actor: str
    actor_name: str
    occurred_at: dt.datetime
    place: str
    reason: str


@dataclass
class StepView:
    """One entry of an order's history."""

    at: dt.datetime
    what: str
    who: str
    voucher: str | None = None


@dataclass
class SourceSite:
    """A place that still has to issue reserved stock for an order."""

    id: int
    name: str
    label_code: str | None


@dataclass
class OrderView:
    """A dispatch order with everything its page shows."""

    read: DispatchRead
    incident_name: str
    incident_status: str
    status_zh: str
    approval_zh: str
    paperwork: str  # received | overdue | due | none
    level_zh: str = ""  # the incident's response level (县级、市级、省级), which set the order's target
    lines: list[LineView] = field(default_factory=list)
    vouchers: list[VoucherView] = field(default_factory=list)
    history: list[StepView] = field(default_factory=list)
    executed_by: list[str] = field(default_factory=list)
    pending_sites: list[SourceSite] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The lines in one phrase: "编织袋 3000条、救生衣 100件"."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for ln in self.lines:
            totals[(ln.item_name, ln.unit)] += ln.quantity
        return "、".join(f"{name} {n}{unit}" for (name, unit), n in totals.items())

    @property
    def estimate_text(self) -> str | None:
        """The estimated arrival as people read it ("约 2 小时 15 分"), None when there is none."""
        minutes = self.read.estimated_minutes
        if minutes is None:
            return None
        hours, rest = divmod(round(minutes), 60)
        return f"约 {hours} 小时 {rest} 分" if hours else f"约 {rest} 分钟"

    @property
    def cancellable(self) -> bool:
        """Whether cancel_dispatch would accept the order (something still reserved)."""
        return self.read.status in ("reserved", "executing")


def _paperwork(d: DispatchRead) -> str:
    if d.paperwork_received_at is not None:
        return "received"
    if d.paperwork_overdue:
        return "overdue"
    return "due" if d.paperwork_due_at is not None and d.status != "cancelled" else "none"


async def _lines(session: AsyncSession,
                 ids: list[int]) -> tuple[dict[int, list[DispatchLine]], dict[int, list[LineView]]]:
    """Each order's lines, as stored and as people read them (both in id order)."""
    site = aliased(Location)
    rows = (await session.execute(
        select(DispatchLine, ItemType.name, ItemType.code, ItemType.unit, Location.name, Location.code,
               Location.label_code, Location.site_id, site.name, site.label_code, Lot.number, Lot.expiry_date,
               Asset.serial_number, Asset.label_code, Agreement.number)
        .join(ItemType, ItemType.id == DispatchLine.item_type_id)
        .join(Location, Location.id == DispatchLine.location_id)
        .outerjoin(site, site.id == Location.site_id)
        .outerjoin(Lot, Lot.id == DispatchLine.lot_id)
        .outerjoin(Asset, Asset.id == DispatchLine.asset_id)
        .outerjoin(Agreement, Agreement.id == DispatchLine.agreement_id)
        .where(DispatchLine.dispatch_id.in_(ids)).order_by(DispatchLine.id))).all()
    raw: dict[int, list[DispatchLine]] = {i: [] for i in ids}
    lines: dict[int, list[LineView]] = {i: [] for i in ids}
    for (ln, item, item_code, unit, loc_name, loc_code, loc_label, site_id, site_name, site_label, lot, expiry,
         serial, asset_label, agreement_number) in rows:
        raw[ln.dispatch_id].append(ln)
        own_site = site_id in (None, ln.location_id)
        lines[ln.dispatch_id].append(LineView(
            id=ln.id, item_name=item, item_code=item_code, unit=unit, quantity=ln.quantity, state=ln.state,
            state_zh=LINE_STATE_ZH.get(ln.state, ln.state), site_id=site_id or ln.location_id,
            site_name=loc_name if own_site else site_name,
            source=loc_name if own_site else f"{site_name} {loc_name}", source_code=loc_code,
            source_label=loc_label if own_site else site_label, lot_number=lot, expiry_date=expiry,
            serial_number=serial, asset_label=asset_label, voucher=None, agreement_id=ln.agreement_id,
            agreement_number=agreement_number))
    return raw, lines


async def _vouchers(session: AsyncSession, orders: list[Dispatch], staging: dict[int, int],
                    lines: dict[int, list[DispatchLine]]) -> dict[int, list[Document]]:
    """Every voucher of each order: found by the staging place (reservations, releases, returns), the
    lines' transfers, their receipts and reversals — all through indexed columns."""
    owner: dict[int, int] = {}
    refs = {reference(d.id): d.id for d in orders}
    docs: dict[int, Document] = {}
    places = set(staging.values())
    if places:
        for doc in await session.scalars(select(Document).where(Document.location_id.in_(places),
                                                                Document.reference.in_(list(refs)))):
            docs[doc.id], owner[doc.id] = doc, refs[doc.reference]
    transfers = {ln.transfer_id: ln.dispatch_id for lns in lines.values() for ln in lns if ln.transfer_id}
    if transfers:
        for doc in await session.scalars(select(Document).where(Document.id.in_(list(transfers)))):
            docs[doc.id], owner[doc.id] = doc, transfers[doc.id]
    for column in (Document.transfer_id, Document.reverses_id):
        parents = {i: owner[i] for i in docs}
        if parents:
            for doc in await session.scalars(select(Document).where(column.in_(list(parents)))):
                parent = doc.transfer_id if column is Document.transfer_id else doc.reverses_id
                if doc.id not in docs and parent in parents:
                    docs[doc.id], owner[doc.id] = doc, parents[parent]
    found: dict[int, list[Document]] = {d.id: [] for d in orders}
    for doc_id in sorted(docs):
        found[owner[doc_id]].append(docs[doc_id])
    return found


STEP_ORDERED, STEP_CANCELLED = "下达指令，预留物资", "取消，释放预留"
STEP_EXECUTED, STEP_DELIVERED = "出库执行，调往事件现场", "事件现场签收"
STEP_RETURNED, STEP_RETURN_RECEIVED = "归还，调回储备库", "储备库收回入库"


def _step(doc: Document, staging: int, outward: set[int]) -> str:
    """The step of an order a voucher stands for (as ``dispatch.py`` books each one)."""
    if doc.reverses_id is not None:
        return "冲销"
    if doc.kind == "reservation":
        return STEP_CANCELLED if doc.reason.startswith("取消") else STEP_ORDERED
    if doc.kind == "transfer":
        return STEP_RETURNED if doc.location_id == staging else STEP_EXECUTED
    if doc.kind == "transfer_receipt":
        return STEP_DELIVERED if doc.transfer_id in outward else STEP_RETURN_RECEIVED
    return DOCUMENT_ZH.get(doc.kind, doc.kind)


async def order_views(session: AsyncSession, orders: list[Dispatch], *, now: dt.datetime | None = None,
                      details: bool = True) -> list[OrderView]:
    """Orders with their lines (and, with ``details``, their vouchers, history and who executed them)."""
    now = now or utcnow()
    ids = [d.id for d in orders]
    if not ids:
        return []
    incidents = {i.id: i for i in await session.scalars(
        select(Incident).where(Incident.id.in_({d.incident_id for d in orders})))}
    raw, lines = await _lines(session, ids)
    views = []
    for d in orders:
        read = dispatch_read_of(d, raw[d.id], now)
        incident = incidents[d.incident_id]
        views.append(OrderView(read=read, incident_name=incident.name, incident_status=incident.status,
                               status_zh=DISPATCH_STATUS_ZH.get(d.status, d.status),
                               approval_zh=APPROVAL_ZH.get(d.approval_mode, d.approval_mode),
                               paperwork=_paperwork(read), lines=lines[d.id],
                               level_zh=LEVEL_ZH.get(incident.level, incident.level)))
    if not details:
        return views
    staging = {d.id: incidents[d.incident_id].location_id for d in orders}
    vouchers = await _vouchers(session, orders, staging, raw)
    every = [doc for docs in vouchers.values() for doc in docs]
    place_ids = {doc.location_id for doc in every}
    names = dict((await session.execute(select(Location.id, Location.name).where(Location.id.in_(place_ids)))).all()) \
        if place_ids else {}
    actors = {doc.actor for doc in every} | {d.created_by for d in orders}
    people = {u: n or u for u, n in (await session.execute(
        select(User.username, User.display_name).where(User.username.in_(actors)))).all()}
    sites = {ln.site_id: SourceSite(ln.site_id, ln.site_name, ln.source_label)
             for lns in lines.values() for ln in lns}
    for view, d in zip(views, orders, strict=True):
        outward = {ln.transfer_id for ln in raw[d.id] if ln.transfer_id}
        numbers = {doc.id: document_number(doc.kind, doc.created_at, doc.id) for doc in vouchers[d.id]}
        for ln, line in zip(raw[d.id], view.lines, strict=True):
            line.voucher = numbers.get(ln.transfer_id) if ln.transfer_id else None
        view.vouchers = [VoucherView(
            id=doc.id, number=numbers[doc.id], kind_zh=DOCUMENT_ZH.get(doc.kind, doc.kind),
            step=_step(doc, staging[d.id], outward), actor=doc.actor, actor_name=people.get(doc.actor, doc.actor),
            occurred_at=doc.occurred_at, place=names.get(doc.location_id, ""), reason=doc.reason)
            for doc in vouchers[d.id]]
        view.executed_by = list(dict.fromkeys(v.actor_name for v in view.vouchers if v.step == STEP_EXECUTED))
        reserving = DOCUMENT_ZH["reservation"]  # reservations are booked at the staging place: not worth saying
        history = [StepView(v.occurred_at, v.step if v.kind_zh == reserving else f"{v.step}（{v.place}）",
                            v.actor_name, v.number) for v in view.vouchers]
        if not any(v.step == STEP_ORDERED for v in view.vouchers):
            history.append(StepView(d.created_at, "下达指令", people.get(d.created_by, d.created_by)))
        if d.approval_mode == "oral" and d.paperwork_received_at is not None:
            history.append(StepView(d.paperwork_received_at, f"补办书面手续（文号 {d.document_no}）", ""))
        view.history = sorted(history, key=lambda s: s.at)
        view.pending_sites = [sites[i] for i in dict.fromkeys(ln.site_id for ln in view.lines
                                                               if ln.state == "reserved")]
    return views


async def order_view(session: AsyncSession, dispatch_id: int, now: dt.datetime | None = None) -> OrderView:
    """One order with its details; NotFound when there is none."""
    return (await order_views(session, [await get_dispatch(session, dispatch_id)], now=now))[0]


async def order_rows(session: AsyncSession, *, status: str | None, paperwork: str | None, incident_id: int | None,
                     limit: int, offset: int, now: dt.datetime | None = None,
                     late: bool | None = None) -> tuple[list[OrderView], int]:
    """One page of orders, newest first, by status, paperwork (overdue | missing), incident and lateness
    (past the response-time target); the total."""
    now = now or utcnow()
    stmt = select(Dispatch)
    if status:
        stmt = stmt.where(Dispatch.status == status)
    if incident_id is not None:
        stmt = stmt.where(Dispatch.incident_id == incident_id)
    if paperwork == "overdue":
        stmt = stmt.where(*overdue_conditions(now))
    elif paperwork == "missing":
        stmt = stmt.where(Dispatch.paperwork_received_at.is_(None), Dispatch.status != "cancelled")
    if late is not None:
        stmt = stmt.where(late_condition(now) if late else ~late_condition(now))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    found = list(await session.scalars(stmt.order_by(Dispatch.id.desc()).limit(limit).offset(offset)))
    return await order_views(session, found, now=now, details=False), total


# --------------------------------------------------------------------------- one incident
