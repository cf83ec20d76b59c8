"""Coverage of a plan (覆盖分析): which risk points its layout reaches within the target time, and what is short.

The layout is what is available now, per site and item type of the plan, by availability's rule (unreserved stock
in unexpired lots, ready units, a bin's stock at its site; :func:`inventory.availability.service.site_stock_rows`)
at the active sites with coordinates of the plan's region — vendors' warehouses left out: a plan places our own
stock, not agreement reserves — with the plan's lines that are not in place yet moved: a draft's or an approved
plan's lines leave their from-site and arrive at their staging site; an executing plan's lines still in transit
arrive (their stock has left already). Staging sites of the plan count even outside its region.

The risk points are those of the plan's region (code prefix) that need any of the plan's item types. Heaviest
first, each need takes from the sources reaching the point within ``target_minutes``, nearest first, using up
the layout as it goes; the ETA is ``nearest_available``'s (mobilisation for the site's kind + straight-line
distance × road factor ÷ speed, :class:`inventory.availability.eta.EtaConfig`). The stock of each item type is
allotted to the points as the stock-aware optimiser would (:func:`inventory.placement.allocate.allocate`: the most
Σ weight × covered ÷ needed within the target, then the fewest unit-minutes), so a plan made from an optimiser
answer shows the figure that answer promised. A point is covered when every such need is met in full;
``need_weighted_covered`` is Σ weight × covered ÷ needed over the (point, item type) needs.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.availability.eta import EtaConfig, load_eta_config
from inventory.availability.schemas import ItemTypeBrief
from inventory.availability.service import site_stock_rows
from inventory.clock import beijing_today
from inventory.placement.allocate import allocate
from inventory.places.geo import haversine_km
from inventory.places.schemas import SITE_KINDS
from inventory.plans.schemas import RISK_KIND_ZH, NeedCoverage, PlanCoverage, PointCoverage
from inventory.plans.standing import line_figures
from inventory.plans.views import get_plan, plan_lines
from inventory.store.models import ItemType, Location, Plan, PlanLine, RiskNeed, RiskPoint

COVERAGE_KINDS = [k for k in SITE_KINDS if k != "vendor"]
Stock = dict[tuple[int, int], int]  # (site, item type) → available


@dataclass
class Point:
    """A risk point's weight and needs (item type → quantity), with the sites' ETAs to it, nearest first."""

    id: int
    weight: float
    needs: dict[int, int]
    etas: list[tuple[float, int]] = field(default_factory=list)  # (minutes, site id)


@dataclass
class Take:
    """Stock a need takes from one site."""

    site_id: int
    quantity: int
    eta_minutes: float


def allot(points: Sequence[Point], stock: Mapping[tuple[int, int], int],
          target_minutes: float) -> dict[tuple[int, int], list[Take]]:
    """(point, item type) → what it takes, nearest site first: the best allotment of each item type's stock.

    Per item type, :func:`inventory.placement.allocate.allocate` maximises Σ weight × covered ÷ needed over the
    sites within ``target_minutes`` — the stock-aware optimiser's objective — then the fewest unit-minutes.
    """
    taken: dict[tuple[int, int], list[Take]] = {(p.id, item): [] for p in points for item in p.needs}
    for item in sorted({item for p in points for item in p.needs}):
        sites = sorted(site for (site, it), n in stock.items() if it == item and n > 0)
        needing = [p for p in points if p.needs.get(item, 0) > 0]
        if not sites or not needing:
            continue
        column = {site: j for j, site in enumerate(sites)}
        minutes = np.full((len(sites), len(needing)), np.inf)
        for i, p in enumerate(needing):
            for eta, site in p.etas:
                if site in column:
                    minutes[column[site], i] = eta
        flows = allocate(np.array([p.weight for p in needing]), np.array([p.needs[item] for p in needing]),
                         np.array([stock[(site, item)] for site in sites]), minutes, target_minutes)
        for (j, i), quantity in sorted(flows.items(), key=lambda kv: (kv[0][1], minutes[kv[0]], kv[0][0])):
            taken[(needing[i].id, item)].append(Take(sites[j], quantity, float(minutes[j, i])))
    return taken


async def _layout(session: AsyncSession, plan: Plan, lines: Sequence[PlanLine], types: list[ItemTypeBrief]) -> Stock:
    """Available now per site and item type, with the plan's lines not in place yet moved (module doc)."""
    stock: Stock = defaultdict(int)
    if types:
        rows = site_stock_rows(plan.region_code, types, COVERAGE_KINDS, beijing_today())
        for site, item, n in await session.execute(
                select(rows.c.site_id, rows.c.item_type_id, func.sum(rows.c.available))
                .group_by(rows.c.site_id, rows.c.item_type_id)):
            stock[(site, item)] += int(n or 0)
    if plan.status in ("draft", "approved"):
        moving = {ln.id: ln.quantity for ln in lines}
        sources = dict((await session.execute(select(Location.id, Location.site_id).where(
            Location.id.in_({ln.from_location_id for ln in lines})))).all())
        for ln in lines:
            key = (sources.get(ln.from_location_id) or ln.from_location_id, ln.item_type_id)
            stock[key] = max(0, stock[key] - ln.quantity)
    elif plan.status == "executing":
        figures = await line_figures(session, plan, lines)
        moving = {ln.id: ln.quantity - figures.received.get(ln.id, 0) for ln in lines
                  if figures.status.get(ln.id) == "in_transit"}
    else:
        moving = {}
    for ln in lines:
        if moving.get(ln.id, 0) > 0:
            stock[(ln.to_location_id, ln.item_type_id)] += moving[ln.id]
    return {k: n for k, n in stock.items() if n > 0}


async def plan_coverage(session: AsyncSession, plan_id: int, eta: EtaConfig | None = None) -> PlanCoverage:
    """Which risk points of the plan's region its layout covers within the target, and the shortfall of each need."""
    eta = eta or load_eta_config()
    plan = await get_plan(session, plan_id)
    lines = await plan_lines(session, plan.id)
    types = [ItemTypeBrief(id=r[0], code=r[1], name=r[2], unit=r[3], tracking=r[4], category=r[5])
             for r in await session.execute(select(ItemType.id, ItemType.code, ItemType.name, ItemType.unit,
                                                   ItemType.tracking, ItemType.category)
                                            .where(ItemType.id.in_(plan.item_type_ids)))]
    by_type = {t.id: t for t in types}
    stock = await _layout(session, plan, lines, types)
    staging = {ln.to_location_id for ln in lines}
    sites = {s.id: s for s in await session.scalars(
        select(Location).where(Location.id.in_({site for site, _ in stock} | staging)))}
    located = [s for s in sites.values() if s.lat is not None and s.lon is not None and
               any(stock.get((s.id, t), 0) > 0 for t in by_type)]
    rows = (await session.execute(
        select(RiskPoint, RiskNeed.item_type_id, RiskNeed.quantity)
        .join(RiskNeed, RiskNeed.risk_point_id == RiskPoint.id)
        .where(RiskPoint.region_code.startswith(plan.region_code, autoescape=True),
               RiskNeed.item_type_id.in_(list(by_type)))
        .order_by(RiskPoint.weight.desc(), RiskPoint.id, RiskNeed.item_type_id))).all()
    found: dict[int, RiskPoint] = {}
    points: dict[int, Point] = {}
    for rp, item, quantity in rows:
        if rp.id not in points:
            found[rp.id] = rp
            etas = sorted((round(eta.eta_minutes(s.kind, s.region_code, haversine_km(rp.lat, rp.lon, s.lat, s.lon),
                                                 s.agreement_lead_hours), 1), s.id)
                          for s in located if s.lat is not None and s.lon is not None)
            points[rp.id] = Point(rp.id, rp.weight, {}, etas)
        points[rp.id].needs[item] = quantity
    # The allotment solves a linear programme per item type (HiGHS): CPU work, off the event loop.
    taken = await asyncio.to_thread(allot, list(points.values()), stock, plan.target_minutes)
    result: list[PointCoverage] = []
    for p in points.values():
        rp = found[p.id]
        needs = []
        for item, needed in sorted(p.needs.items()):
            takes = taken[(p.id, item)]
            got = sum(t.quantity for t in takes)
            needs.append(NeedCoverage(
                item_type_id=item, item_name=by_type[item].name, unit=by_type[item].unit, needed=needed, covered=got,
                shortfall=needed - got, sources=[{"location_id": t.site_id, "name": sites[t.site_id].name,
                                                  "quantity": t.quantity, "eta_minutes": t.eta_minutes}
                                                 for t in takes]))
        result.append(PointCoverage(
            risk_point_id=rp.id, code=rp.code, name=rp.name, kind=rp.kind, kind_zh=RISK_KIND_ZH.get(rp.kind, rp.kind),
            lat=rp.lat, lon=rp.lon, weight=rp.weight, covered=all(n.shortfall == 0 for n in needs),
            nearest_minutes=p.etas[0][0] if p.etas else None, needs=needs))
    result.sort(key=lambda pc: (-pc.weight, pc.risk_point_id))
    return PlanCoverage(
        plan_id=plan.id, target_minutes=plan.target_minutes, total_weight=sum(pc.weight for pc in result),
        covered_weight=sum(pc.weight for pc in result if pc.covered), points=result,
        need_weighted_covered=sum(pc.weight * n.covered / n.needed for pc in result for n in pc.needs),
        need_weighted_total=sum(pc.weight for pc in result for _ in pc.needs),
        sites=_staging_sites(lines, sites, by_type))


def _staging_sites(lines: Sequence[PlanLine], sites: Mapping[int, Location],
                   by_type: Mapping[int, ItemTypeBrief]) -> list[dict[str, object]]:
    """The plan's staging sites with their coordinates and the lines that go there."""
    grouped: dict[int, list[PlanLine]] = defaultdict(list)
    for ln in lines:
        grouped[ln.to_location_id].append(ln)
    out: list[dict[str, object]] = []
    for site_id, group in grouped.items():
        s = sites[site_id]
        out.append({"location_id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon, "lines": [
            {"line_id": ln.id, "from_location_id": ln.from_location_id, "item_type_id": ln.item_type_id,
             "item_name": by_type[ln.item_type_id].name if ln.item_type_id in by_type else "",
             "quantity": ln.quantity} for ln in group]})
    return out
