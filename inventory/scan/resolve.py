"""What a scanned label shows: the thing it names, its state, and what this user may do with it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import allowed
from inventory.access.scope import Principal, in_scope
from inventory.clock import BEIJING, beijing_today
from inventory.scan.orders import DispatchPart, lot_part, unit_part
from inventory.stock.assets import is_overdue
from inventory.stock.documents import KIND_ZH as DOC_ZH
from inventory.stock.documents import document_number
from inventory.stock.lots import is_expired
from inventory.store.label_codes import KIND_ZH, resolve
from inventory.store.models import (
    Asset,
    AssetRepair,
    Balance,
    Document,
    ItemType,
    Lease,
    LeaseLine,
    Location,
    Lot,
    Movement,
    Region,
)

# Times on the pages are Beijing time (UTC+8, no daylight saving); the database keeps UTC.
STATUS_ZH = {
    "available": "可用", "reserved": "已预留", "deployed": "已出库使用", "in_transit": "调拨在途",
    "maintenance": "维修保养中", "leased_out": "已借出", "lost": "丢失", "retired": "已报废",
}
LOCATION_KIND_ZH = {"depot": "储备库", "reserve_point": "储备点", "vendor": "协议供应商仓库", "vehicle": "车载",
                    "staging": "前置点", "bin": "货架库位", "counterparty": "借出在外"}
ACTION_ZH = {
    "checkout": "领用出库", "checkin": "归还入库", "move": "移库/调拨", "inspect": "检查", "damaged": "报损",
    "lost": "报失", "receive_transfer": "到货签收", "issue": "出库", "receive": "入库", "count": "盘点",
    "dispatch_execute": "动用出库", "dispatch_deliver": "现场签收", "dispatch_return": "动用归还",
}
SITES_SHOWN = 8  # a lot's page lists this many places (the user's own first), the rest on a page of their own
SITES_PER_PAGE = 50


class MovementLineView(msgspec.Struct):
    """One recent movement, for people."""

    at: dt.datetime
    document_number: str
    kind_zh: str
    location_name: str
    quantity: int


class StockLineView(msgspec.Struct):
    """A quantity at a place (for lots and locations)."""

    location_id: int
    location_name: str
    item_type_id: int
    item_name: str
    unit: str
    lot_id: int | None
    lot_number: str | None
    expiry_date: dt.date | None
    expired: bool
    expiring_soon: bool
    on_hand: int
    available: int
    mine: bool = False  # in the user's scope


class ScanView(msgspec.Struct, kw_only=True):
    """Everything a scan page or the scan API shows."""

    code: str
    kind: str
    kind_zh: str
    target_id: int
    active: bool
    replaced_by: str | None = None
    title: str
    subtitle: str = ""
    status: str | None = None
    status_zh: str | None = None
    location_id: int | None = None
    location_name: str | None = None
    facts: list[tuple[str, str]] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    stock: list[StockLineView] = msgspec.field(default_factory=list)
    stock_total: int = 0  # lines of stock in all; ``stock`` may show only the first of them
    holder: str | None = None  # who took a checked-out unit (the counterparty of its latest issue)
    held_since: dt.datetime | None = None
    recent: list[MovementLineView] = msgspec.field(default_factory=list)
    actions: list[str] = msgspec.field(default_factory=list)
    item_type_id: int | None = None
    dispatch: DispatchPart | None = None  # the dispatch orders (动用指令) this unit or lot waits on a step of


async def _recent(session: AsyncSession, *conditions: object, limit: int = 5) -> list[MovementLineView]:
    rows = (await session.execute(
        select(Movement, Document, Location.name).join(Document, Document.id == Movement.document_id)
        .join(Location, Location.id == Movement.location_id).where(*conditions)  # type: ignore[arg-type]
        .where(Movement.bucket == "on_hand").order_by(Movement.id.desc()).limit(limit))).all()
    return [MovementLineView(m.created_at, document_number(d.kind, d.created_at, d.id), DOC_ZH.get(d.kind, d.kind),
                             name, m.quantity) for m, d, name in rows]


def scope_clause(principal: Principal | None, place: Any = Location) -> ColumnElement[bool]:
    """A condition on ``Location`` (or ``place``, an alias of it) true for the places in the user's scope (bins
    with their location)."""
    if principal is None:
        return false()
    if principal.role == "admin":
        return true()
    conditions = [place.region_code.startswith(r) for r in principal.scope_regions]
    conditions += [place.path.contains(f"/{i}/") for i in principal.scope_locations]
    return or_(*conditions) if conditions else false()


async def _stock(session: AsyncSession, *conditions: object, today: dt.date, principal: Principal | None = None,
                 mine_first: bool = False, limit: int | None = None, offset: int = 0) -> list[StockLineView]:
    mine = scope_clause(principal)
    order = [case((mine, 0), else_=1)] if mine_first else []
    rows = (await session.execute(
        select(Balance, Location.name, ItemType, Lot, mine.label("mine"))
        .join(Location, Location.id == Balance.location_id)
        .join(ItemType, ItemType.id == Balance.item_type_id).outerjoin(Lot, Lot.id == Balance.lot_id)
        .where(Balance.on_hand > 0, *conditions)  # type: ignore[arg-type]
        .order_by(*order, ItemType.code, Lot.expiry_date, Balance.id).limit(limit).offset(offset))).all()
    soon = today + dt.timedelta(days=30)
    return [StockLineView(
        b.location_id, name, it.id, it.name, it.unit, b.lot_id, lot.number if lot else None,
        lot.expiry_date if lot else None, is_expired(lot.expiry_date if lot else None, today),
        bool(lot and lot.expiry_date and today <= lot.expiry_date <= soon), b.on_hand, b.on_hand - b.reserved,
        bool(in_scope_),
    ) for b, name, it, lot, in_scope_ in rows]


async def lot_sites(session: AsyncSession, lot_id: int, principal: Principal | None, *, limit: int | None,
                    offset: int = 0, today: dt.date | None = None) -> tuple[list[StockLineView], int]:
    """The places holding a lot, the user's own first, one page of them; and how many places in all."""
    today = today or beijing_today()
    total = int(await session.scalar(select(func.count()).select_from(Balance)
                                     .where(Balance.lot_id == lot_id, Balance.on_hand > 0)) or 0)
    lines = await _stock(session, Balance.lot_id == lot_id, today=today, principal=principal, mine_first=True,
                         limit=limit, offset=offset)
    return lines, total


class SitesPage(msgspec.Struct, kw_only=True):
    """One page of the places holding a lot."""

    code: str
    title: str
    subtitle: str
    lines: list[StockLineView]
    total: int
    page: int
    pages: int


async def lot_sites_page(session: AsyncSession, code: str, principal: Principal | None, page: int,
                         per_page: int = SITES_PER_PAGE) -> SitesPage | None:
    """A page of every place holding the lot a code names (the user's own first); None if not a current lot label."""
    found = await resolve(session, code)
    if found.kind != "lot" or not found.active:
        return None
    lot = await session.get(Lot, found.target_id)
    assert lot is not None
    it = await session.get(ItemType, lot.item_type_id)
    assert it is not None
    lines, total = await lot_sites(session, lot.id, principal, limit=per_page, offset=(page - 1) * per_page)
    return SitesPage(code=found.code, title=it.name, subtitle=f"批号 {lot.number}", lines=lines, total=total,
                     page=page, pages=max(1, -(-total // per_page)))


async def lot_sources(session: AsyncSession, lot_id: int, principal: Principal, limit: int = 100,
                      today: dt.date | None = None) -> list[StockLineView]:
    """The places in the user's scope where some of this lot is available (to issue or move from)."""
    return await _stock(session, Balance.lot_id == lot_id, Balance.on_hand > Balance.reserved,
                        scope_clause(principal), today=today or beijing_today(), principal=principal, limit=limit)


async def scan_view(session: AsyncSession, code: str, principal: Principal | None,
                    today: dt.date | None = None, *, sites: int | None = None) -> ScanView:
    """Resolve a code and describe its target; InvalidCode / NotFound when it cannot be resolved.

    A lot lists the places holding it, the user's own first: all of them, or the first ``sites``.
    """
    today = today or beijing_today()
    found = await resolve(session, code)
    base = {"code": found.code, "kind": found.kind, "kind_zh": KIND_ZH[found.kind], "target_id": found.target_id,
            "active": found.active, "replaced_by": found.replaced_by}
    if found.kind == "asset":
        view = await _asset_view(session, base, found.target_id, today)
    elif found.kind == "lot":
        view = await _lot_view(session, base, found.target_id, today, principal, sites)
    else:
        view = await _location_view(session, base, found.target_id, today)
    if found.active and found.kind == "asset":
        asset = await session.get(Asset, found.target_id)
        assert asset is not None
        view.dispatch = await unit_part(session, asset, principal)
    elif found.active and found.kind == "lot":
        view.dispatch = await lot_part(session, found.target_id, principal)
    if principal is not None and found.active:
        view.actions = await _actions(session, view, principal)
    return view


async def _asset_view(session: AsyncSession, base: dict[str, object], asset_id: int, today: dt.date) -> ScanView:
    asset = await session.get(Asset, asset_id)
    assert asset is not None
    it = await session.get(ItemType, asset.item_type_id)
    assert it is not None
    loc = await session.get(Location, asset.location_id) if asset.location_id else None
    ownership = {"owned": "自有", "leased_in": "租入", "consigned": "代储"}.get(asset.ownership, asset.ownership)
    facts = [("序列号", asset.serial_number), ("规格", it.spec or "—"), ("权属", ownership)]
    if asset.battery_pct is not None:
        facts.append(("电量", f"{asset.battery_pct}%"))
    if asset.fuel_pct is not None:
        facts.append(("油量", f"{asset.fuel_pct}%"))
    last = asset.last_inspected_at
    facts.append(("上次检查", last.astimezone(BEIJING).strftime("%Y-%m-%d") if last else "无记录"))
    if asset.next_inspection_due:
        facts.append(("下次检查", asset.next_inspection_due.isoformat()))
    warnings = []
    if is_overdue(asset.next_inspection_due, today):
        warnings.append(f"检查已逾期（应于 {asset.next_inspection_due} 前检查）")
    if asset.readiness == "fault":
        warnings.append(f"故障：{asset.fault_note or '未填写说明'}")
    holder, since = await _holder(session, asset) if asset.status in ("deployed", "leased_out") else (None, None)
    await _lease_facts(session, asset, today, facts, warnings)
    return ScanView(**base, title=it.name, subtitle=it.spec, status=asset.status,  # type: ignore[arg-type]
                    status_zh=STATUS_ZH.get(asset.status, asset.status), location_id=loc.id if loc else None,
                    location_name=loc.name if loc else None, facts=facts, warnings=warnings,
                    recent=await _recent(session, Movement.asset_id == asset.id), item_type_id=it.id,
                    holder=holder, held_since=since)


async def _lease_facts(session: AsyncSession, asset: Asset, today: dt.date, facts: list[tuple[str, str]],
                       warnings: list[str]) -> None:
    """A unit on an open lease: who has it (lent out) or whose it is (leased in), and when it is due back."""
    row = (await session.execute(
        select(Lease).join(LeaseLine, LeaseLine.lease_id == Lease.id)
        .where(LeaseLine.asset_id == asset.id, Lease.closed_at.is_(None), Lease.out_at.is_not(None),
               LeaseLine.returned + LeaseLine.lost < LeaseLine.quantity)
        .order_by(Lease.id.desc()).limit(1))).first()
    if row is None:
        return
    lease: Lease = row[0]
    who = " ".join(x for x in (lease.counterparty, lease.contact_name, lease.contact_phone) if x)
    facts.append(("借用方" if lease.direction == "out" else "出租方", who))
    facts.append(("租借合同", f"#{lease.id} {lease.agreement_number}".strip()))
    facts.append(("应还日期", lease.due_date.isoformat()))
    if lease.due_date < today:
        warnings.append(f"租借已逾期（应于 {lease.due_date} 归还），请到 /leases 办理归还或续租")


async def _holder(session: AsyncSession, asset: Asset) -> tuple[str | None, dt.datetime | None]:
    """Who the unit was issued to (领用人) and when: the latest issue of it."""
    row = (await session.execute(
        select(Document.counterparty, Document.occurred_at).join(Movement, Movement.document_id == Document.id)
        .where(Movement.asset_id == asset.id, Document.kind == "issue", Movement.quantity < 0)
        .order_by(Movement.id.desc()).limit(1))).first()
    if row is None:
        return None, None
    counterparty, occurred = row
    return counterparty or None, occurred


async def _lot_view(session: AsyncSession, base: dict[str, object], lot_id: int, today: dt.date,
                    principal: Principal | None, sites: int | None) -> ScanView:
    lot = await session.get(Lot, lot_id)
    assert lot is not None
    it = await session.get(ItemType, lot.item_type_id)
    assert it is not None
    stock, places = await lot_sites(session, lot.id, principal, limit=sites, today=today)
    total = int(await session.scalar(select(func.coalesce(func.sum(Balance.on_hand), 0))
                                     .where(Balance.lot_id == lot.id)) or 0)
    facts = [("批号", lot.number), ("规格", it.spec or "—"), ("产地", lot.origin or "—"), ("质量", lot.quality or "—"),
             ("生产日期", lot.production_date.isoformat() if lot.production_date else "—"),
             ("有效期至", lot.expiry_date.isoformat() if lot.expiry_date else "长期"),
             ("在库合计", f"{total}{it.unit}")]
    warnings = []
    if is_expired(lot.expiry_date, today):
        warnings.append("本批次已过期，不会被自动出库，请办理报废")
    elif lot.expiry_date and lot.expiry_date <= today + dt.timedelta(days=30):
        warnings.append(f"本批次将于 {lot.expiry_date} 过期，请优先出库")
    return ScanView(**base, title=it.name, subtitle=f"批号 {lot.number}", facts=facts,  # type: ignore[arg-type]
                    warnings=warnings, stock=stock, stock_total=places,
                    recent=await _recent(session, Movement.lot_id == lot.id), item_type_id=it.id)


async def _location_view(session: AsyncSession, base: dict[str, object], location_id: int,
                         today: dt.date) -> ScanView:
    loc = await session.get(Location, location_id)
    assert loc is not None
    region = await session.get(Region, loc.region_code)
    subtree = select(Location.id).where(Location.path.startswith(loc.path))
    stock = await _stock(session, Balance.location_id.in_(subtree), today=today)
    facts = [("类型", LOCATION_KIND_ZH.get(loc.kind, loc.kind)),
             ("行政区划", region.name if region else loc.region_code),
             ("地址", loc.address or "—"), ("联系人", f"{loc.contact_name} {loc.contact_phone}".strip() or "—")]
    warnings = [f"{s.item_name} 批号 {s.lot_number} 将于 {s.expiry_date} 过期" for s in stock if s.expiring_soon]
    warnings += [f"{s.item_name} 批号 {s.lot_number} 已过期" for s in stock if s.expired]
    return ScanView(**base, title=loc.name, subtitle=loc.code, location_id=loc.id,  # type: ignore[arg-type]
                    location_name=loc.name, facts=facts, warnings=warnings[:6], stock=stock, stock_total=len(stock),
                    recent=await _recent(session, Movement.location_id.in_(subtree)))


async def _away(session: AsyncSession, asset_id: int) -> bool:
    """True while the unit is away at a repairer (送修): it is checked when it comes back."""
    return await session.scalar(select(AssetRepair.id).where(AssetRepair.asset_id == asset_id,
                                                             AssetRepair.back_on.is_(None))) is not None


def _dispatch_actions(view: ScanView) -> list[str]:
    """The dispatch steps this user may take on the scanned unit or lot (``DispatchTask.mine``), once each."""
    tasks = view.dispatch.tasks if view.dispatch else []
    return list(dict.fromkeys(t.action for t in tasks if t.mine))


async def _actions(session: AsyncSession, view: ScanView, principal: Principal) -> list[str]:
    """The actions this user may take here: their role allows it and the place is in their scope.

    A unit on a dispatch order offers its next step (出库 at the source, 签收 at the incident, 归还 by the keeper
    it came from) instead of the generic ones it would not pass: a reserved unit has no other action, and a
    unit on its way to an incident is signed for as the order's (not as a plain transfer).
    """
    moves = allowed("movements.post", principal.role)
    checks = allowed("readiness.check", principal.role)
    steps = _dispatch_actions(view)
    if view.kind == "asset":
        asset = await session.get(Asset, view.target_id)
        assert asset is not None
        if asset.location_id is None:
            home = await session.scalar(select(Movement.location_id).where(Movement.asset_id == asset.id)
                                        .order_by(Movement.id.desc()).limit(1))
            scoped = home is not None and await in_scope(session, principal, home)
            return ["checkin"] if moves and scoped and asset.status in ("deployed", "leased_out", "lost") else []
        if asset.status in ("reserved", "in_transit") and view.dispatch is not None:
            return steps
        if not await in_scope(session, principal, asset.location_id):
            return steps  # a unit delivered to another county's incident is returned by the keeper it came from
        if asset.status == "in_transit":
            return ["receive_transfer"] if allowed("transfers.receive", principal.role) else []
        actions = []
        if moves and asset.status == "available":
            actions += ["checkout", "move"]
        if checks and asset.status in ("available", "maintenance") and not await _away(session, asset.id):
            actions += ["inspect", "damaged"]
        if moves and asset.status in ("available", "maintenance"):
            actions.append("lost")
        return actions + steps
    if view.kind == "lot":
        sourced = moves and bool(await lot_sources(session, view.target_id, principal, limit=1))
        return (["issue", "move"] if sourced else []) + steps
    if not moves:
        return []
    assert view.location_id is not None
    return ["receive", "count"] if await in_scope(session, principal, view.location_id) else []
