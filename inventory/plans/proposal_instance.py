"""From the database to an optimiser instance: a region's risk points, candidate sites, travel minutes and stock.

* **Points**: the risk points of the region (``RiskPoint.region_code`` starts with the request's code), each with
  its weight. For ``stock`` only those that need the item type, with that quantity as their need.
* **Candidate sites**: ``site_ids`` when given — each must exist, be active, have coordinates, be of a kind that
  holds stock (:data:`inventory.places.schemas.SITE_KINDS`) and lie in the region — else every active staging site,
  reserve point and depot of the region with coordinates.
* **Minutes**: the estimate ``nearest`` uses (:meth:`inventory.availability.eta.EtaConfig.eta_minutes`): the site
  kind's mobilisation + great-circle km × the road factor of the site's region ÷ speed; no agreement lead time.
* **Stock** (``stock``): what is available of the item type now at each candidate site, by the availability rule
  (unreserved bulk stock in unexpired lots, ready serial units, a bin's stock at its site). Only stock at the
  candidate sites can move; agreement reserves at a firm's warehouse (协议储备) never count — they are called off,
  not transferred. Minutes between sites (to plan the moves) are the same estimate from the sending site.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.availability.schemas import ItemTypeBrief
from inventory.availability.service import site_stock_rows
from inventory.clock import beijing_today
from inventory.config import DEFAULT_RESPONSE_TARGET_HOURS
from inventory.errors import InvalidInput, PermissionDenied
from inventory.placement.files import CsvFile, parse_times
from inventory.placement.problem import FloatArray, Instance, StockInput
from inventory.places.geo import EARTH_RADIUS_KM
from inventory.places.regions import require_region
from inventory.places.schemas import SITE_KINDS
from inventory.plans.schemas import OBJECTIVE_ZH, ProposeRequest
from inventory.store.models import Balance, ItemType, Location, Lot, RiskNeed, RiskPoint

DEFAULT_KINDS: Final = ("staging", "reserve_point", "depot")
"""Candidate sites when the request names none."""
MOVABLE_KINDS: Final = tuple(k for k in SITE_KINDS if k != "vendor")
"""Sites whose stock a plan may move (a vendor's agreement reserve is called off, not transferred)."""
MAX_PAIRS: Final = 20_000_000
"""Sites × points at most in one instance (the minutes matrix is 8 bytes a pair)."""
KIND_ZH: Final = {"depot": "储备库", "reserve_point": "储备点", "staging": "前置点", "vehicle": "车辆",
                  "vendor": "协议企业仓库", "bin": "货位"}


@dataclass(frozen=True)
class Site:
    """A candidate site (a location that holds stock)."""

    id: int
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    code: str = ""


def require_region_scope(principal: Principal, region_code: str) -> None:
    """PermissionDenied unless the user's scope covers the whole region (admins: everywhere)."""
    if principal.role == "admin" or any(region_code.startswith(p) for p in principal.scope_regions):
        return
    scope = "、".join(principal.scope_regions) or "无"
    raise PermissionDenied(f"{principal.username} 的辖区（{scope}）不包括行政区划 {region_code}，不能为此制定前置计划"
                           " (region outside your scope)", extra={"region_code": region_code})


def haversine_matrix(lat1: Sequence[float], lon1: Sequence[float], lat2: Sequence[float],
                     lon2: Sequence[float]) -> FloatArray:
    """Great-circle km from every first point (rows) to every second point (columns); the formula of ``nearest``."""
    p1, l1 = np.radians(np.asarray(lat1, dtype=np.float64))[:, None], np.radians(np.asarray(lon1, dtype=np.float64))
    p2, l2 = np.radians(np.asarray(lat2, dtype=np.float64))[None, :], np.radians(np.asarray(lon2, dtype=np.float64))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2[None, :] - l1[:, None]) / 2.0) ** 2
    km: FloatArray = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return km


def travel_minutes(eta: EtaConfig, sites: Sequence[Site], lats: Sequence[float], lons: Sequence[float]) -> FloatArray:
    """``minutes[j, i]``: the ``nearest`` estimate from site ``j`` to point ``i`` (mobilisation + km × minutes/km)."""
    per_km = np.array([eta.travel_for(s.region_code).minutes_per_km for s in sites], dtype=np.float64)
    mobilisation = np.array([eta.mobilisation(s.kind) for s in sites], dtype=np.float64)
    km = haversine_matrix([s.lat for s in sites], [s.lon for s in sites], lats, lons)
    minutes: FloatArray = mobilisation[:, None] + km * per_km[:, None]
    return minutes


def _site(loc: Location) -> Site:
    assert loc.lat is not None and loc.lon is not None
    return Site(loc.id, loc.name, loc.kind, loc.region_code, loc.lat, loc.lon, loc.code)


async def candidate_sites(session: AsyncSession, region: str, site_ids: Sequence[int] | None) -> list[Site]:
    """The named sites, each checked (InvalidInput on ``site_ids.{i}``), or the region's default candidates."""
    if site_ids is None:
        rows = await session.scalars(
            select(Location).where(Location.active, Location.kind.in_(DEFAULT_KINDS), Location.lat.is_not(None),
                                   Location.lon.is_not(None),
                                   Location.region_code.startswith(region, autoescape=True)).order_by(Location.id))
        sites = [_site(loc) for loc in rows]
        if not sites:
            raise InvalidInput(f"行政区划 {region} 内没有可作候选的前置点、储备点或储备库（需启用且有坐标），"
                               "请先登记地点或在 site_ids 中指定候选地点", field="region_code")
        return sites
    if not site_ids:
        raise InvalidInput("site_ids 为空：请至少指定一个候选地点，或不填（用辖区内全部前置点、储备点和储备库）",
                           field="site_ids")
    found = {loc.id: loc for loc in await session.scalars(select(Location).where(Location.id.in_(set(site_ids))))}
    seen: set[int] = set()
    sites = []
    for i, ident in enumerate(site_ids):
        field, loc = f"site_ids.{i}", found.get(ident)
        if ident in seen:
            raise InvalidInput(f"候选地点 id={ident} 重复出现", field=field)
        seen.add(ident)
        if loc is None:
            raise InvalidInput(f"候选地点 id={ident} 不存在", field=field)
        if loc.kind not in SITE_KINDS:
            raise InvalidInput(f"{loc.name}（{KIND_ZH.get(loc.kind, loc.kind)}）不是存放物资的地点，不能作候选地点；"
                               "货位的库存计在其所属库点", field=field)
        if not loc.active:
            raise InvalidInput(f"{loc.name} 已停用，不能作候选地点", field=field)
        if loc.lat is None or loc.lon is None:
            raise InvalidInput(f"{loc.name} 没有坐标，无法估算到达时间，请先补录坐标", field=field)
        if not loc.region_code.startswith(region):
            raise InvalidInput(f"{loc.name}（区划 {loc.region_code}）不在行政区划 {region} 内", field=field)
        sites.append(_site(loc))
    return sites


async def _risk_points(session: AsyncSession, region: str, item_type_id: int | None) -> list[Any]:
    """(id, code, name, lat, lon, weight, need) of the region's risk points; with an item type, those needing it."""
    in_region = RiskPoint.region_code.startswith(region, autoescape=True)
    if item_type_id is None:
        stmt = select(RiskPoint.id, RiskPoint.code, RiskPoint.name, RiskPoint.lat, RiskPoint.lon, RiskPoint.weight,
                      literal(0)).where(in_region)
    else:
        stmt = (select(RiskPoint.id, RiskPoint.code, RiskPoint.name, RiskPoint.lat, RiskPoint.lon, RiskPoint.weight,
                       RiskNeed.quantity).join(RiskNeed, RiskNeed.risk_point_id == RiskPoint.id)
                .where(in_region, RiskNeed.item_type_id == item_type_id))
    return list((await session.execute(stmt.order_by(RiskPoint.id))).all())


async def item_brief(session: AsyncSession, item_type_id: int, *, field: str = "item_type_id") -> ItemTypeBrief:
    """The catalogue entry, or InvalidInput on ``field``."""
    item = await session.get(ItemType, item_type_id)
    if item is None:
        raise InvalidInput(f"物资品目 id={item_type_id} 不存在", field=field)
    return ItemTypeBrief(id=item.id, code=item.code, name=item.name, unit=item.unit, tracking=item.tracking,
                         category=item.category)


async def available_by_site(session: AsyncSession, region: str, item: ItemTypeBrief,
                            today: dt.date | None = None) -> dict[int, int]:
    """Units of ``item`` available now per site of the region whose stock can move (:data:`MOVABLE_KINDS`)."""
    rows = site_stock_rows(region, [item], list(MOVABLE_KINDS), today or beijing_today())
    stmt = (select(rows.c.site_id, func.sum(rows.c.available)).where(rows.c.item_type_id == item.id)
            .group_by(rows.c.site_id))
    return {int(site): int(n) for site, n in await session.execute(stmt) if n and int(n) > 0}


async def bulk_holders(session: AsyncSession, site_ids: set[int], item_type_id: int,
                       today: dt.date | None = None) -> dict[int, list[tuple[int, int]]]:
    """Per site: (location, units) of unreserved bulk stock in unexpired lots at the site and its open bins.

    A transfer takes bulk stock from the place that holds it (the ledger's rule), so a plan line moving a site's
    stock names the site itself or the bin its stock lies in: the site first, then its bins by id.
    """
    holder = aliased(Location)
    fresh = or_(Lot.expiry_date.is_(None), Lot.expiry_date >= (today or beijing_today()))
    stmt = (select(holder.site_id, holder.id, func.sum(Balance.on_hand - Balance.reserved))
            .select_from(Balance).join(holder, holder.id == Balance.location_id)
            .outerjoin(Lot, Lot.id == Balance.lot_id)
            .where(holder.site_id.in_(site_ids), holder.active, Balance.item_type_id == item_type_id,
                   Balance.on_hand > Balance.reserved, fresh)
            .group_by(holder.site_id, holder.id))
    found: dict[int, list[tuple[int, int]]] = {}
    for site, location, units in sorted(await session.execute(stmt),
                                        key=lambda r: (r[0], r[1] != r[0], r[1])):
        if site is not None and units:
            found.setdefault(int(site), []).append((int(location), int(units)))
    return found


def target_minutes_of(req: ProposeRequest, target_hours: Mapping[str, float]) -> int:
    """The request's target, else its level's response target in minutes."""
    return req.target_minutes or round(target_hours[req.level] * 60)


def _check_p(req: ProposeRequest, n_sites: int) -> None:
    if req.p is None and req.objective != "stock":
        raise InvalidInput(f"{OBJECTIVE_ZH[req.objective]}需要 p：选出几个前置点", field="p")
    if req.p is not None and req.p > n_sites:
        raise InvalidInput(f"p={req.p} 超过候选地点数 {n_sites}", field="p")


async def build_instance(
    session: AsyncSession, req: ProposeRequest, *, eta: EtaConfig | None = None,
    target_hours: Mapping[str, float] | None = None, today: dt.date | None = None,
) -> tuple[Instance, StockInput | None, dict[str, Any]]:
    """The optimiser's instance for ``req`` (module doc), the stock for ``stock``, and what maps the answer back.

    The third value is JSON: ``target_minutes``, ``n_points``, ``n_sites``, ``site_names`` and ``site_kinds`` by
    location id, ``point_names`` by risk point id, ``item_type`` (or None), ``available`` (stock), ``basis``.
    """
    eta = eta or EtaConfig()
    await require_region(session, req.region_code)
    item = await item_brief(session, req.item_type_id) if req.item_type_id is not None else None
    if req.objective == "stock" and item is None:
        raise InvalidInput("按现有库存布放需要 item_type_id：布放哪一种物资", field="item_type_id")
    points = await _risk_points(session, req.region_code, item.id if req.objective == "stock" and item else None)
    if not points:
        if req.objective == "stock" and item is not None:
            raise InvalidInput(f"行政区划 {req.region_code} 内没有需要{item.name}的风险隐患点（请先登记风险点的需求）",
                               field="item_type_id")
        raise InvalidInput(f"行政区划 {req.region_code} 内没有风险隐患点，请先登记", field="region_code")
    sites = await candidate_sites(session, req.region_code, req.site_ids)
    _check_p(req, len(sites))
    if len(sites) * len(points) > MAX_PAIRS:
        raise InvalidInput(f"候选地点 {len(sites)} 个 × 风险点 {len(points)} 个，超过一次计算的上限 {MAX_PAIRS} 对，"
                           "请缩小行政区划或用 site_ids 指定候选地点", field="region_code")
    if req.travel_times is None:
        minutes = travel_minutes(eta, sites, [p.lat for p in points], [p.lon for p in points])
    else:
        minutes = _listed_minutes(req.travel_times, sites, points)
    instance = Instance(point_ids=tuple(str(p.id) for p in points),
                        weights=np.array([float(p.weight) for p in points], dtype=np.float64),
                        site_ids=tuple(str(s.id) for s in sites), minutes=minutes)
    target = target_minutes_of(req, target_hours or DEFAULT_RESPONSE_TARGET_HOURS)
    meta: dict[str, Any] = {
        "objective": req.objective, "target_minutes": target, "p": req.p, "n_points": len(points),
        "n_sites": len(sites), "site_names": {str(s.id): s.name for s in sites},
        "site_kinds": {str(s.id): s.kind for s in sites},
        "point_names": {str(p.id): f"{p.code} {p.name}" for p in points},
        "item_type": None if item is None else {"id": item.id, "code": item.code, "name": item.name,
                                                "unit": item.unit},
        "basis": ("到达时间为估算值：出动准备时间 + 直线距离 × 道路系数 ÷ 车速（与就近调配相同），"
                  f"目标时限 {target} 分钟。") if req.travel_times is None else (
                  f"到达时间取自提交的行驶时间表（未列出的地点与风险点之间视为不可达），目标时限 {target} 分钟。"),
    }
    stock = None
    if req.objective == "stock" and item is not None:
        available = await available_by_site(session, req.region_code, item, today)
        counts = np.array([available.get(s.id, 0) for s in sites], dtype=np.int64)
        if not counts.any():
            raise InvalidInput(f"候选地点现在都没有可用的{item.name}，无从布放", field="item_type_id")
        between = travel_minutes(eta, sites, [s.lat for s in sites], [s.lon for s in sites])
        np.fill_diagonal(between, 0.0)  # stock that stays does not travel
        stock = StockInput(available=counts, need=np.array([int(p[6]) for p in points], dtype=np.int64),
                           site_minutes=between)
        meta["available"] = {str(s.id): int(n) for s, n in zip(sites, counts, strict=True) if n}
        meta["basis"] += (f"只计候选地点现有的可用{item.name}（未预留、未过期、装备完好），协议储备不计；"
                          "每件物资只计入目标时限内一个风险点的一件需求。")
    return instance, stock, meta


def _listed_minutes(text: str, sites: Sequence[Site], points: Sequence[Any]) -> FloatArray:
    """The travel-time table given with the request: sites by location code, points by risk point code."""
    try:
        return parse_times(CsvFile("行驶时间表 travel_times", text.encode("utf-8")), [s.code for s in sites],
                           [p.code for p in points])
    except InvalidInput as exc:
        errors = [{**e, "message": _in_database_terms(str(e["message"]))} for e in exc.extra.get("errors", [])]
        raise InvalidInput(_in_database_terms(exc.detail), field="travel_times",
                           extra={**exc.extra, "errors": errors}) from None


def _in_database_terms(message: str) -> str:
    """The CSV reader speaks of files; here the sites and points are the request's candidates and risk points."""
    return (message.replace("不在候选站点文件中", "不是本次的候选地点（按地点编号）")
            .replace("不在需求点文件中", "不是该行政区划内的风险隐患点（按风险点编号）"))


def finite(value: float | None) -> float | None:
    """JSON has no infinity: None for a value that is not finite."""
    return value if value is not None and math.isfinite(value) else None
