"""The map of a pre-positioning plan (前置计划): its risk points covered or not, its staging sites, its lines.

Pure drawing over the plan's coverage (:class:`inventory.plans.schemas.PlanCoverage`) and lines: a risk point is
a green triangle when the plan's layout covers its needs within the target, a red × when not; staging sites are
blue circles, the places stock comes from grey circles; each line is a segment from its source to its staging
site, coloured by where its transfer stands (planned, in transit, received, recalled). Markers link to the rows
of the tables below the map, so the page works without script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from api.pages.svgmap import Line, Marker, render_map
from inventory.plans.schemas import PlanCoverage, PlanLineRead, PointCoverage

COVERED: Final = "#16a34a"
UNCOVERED: Final = "#dc2626"
STAGING: Final = "#2563eb"
SOURCE: Final = "#9ca3af"
LINE_COLOURS: Final = {"planned": "#2563eb", "in_transit": "#f59e0b", "received": "#16a34a",
                       "recalled": "#6b7280"}
LINE_STATE_ZH: Final = {"planned": "计划调拨（未执行）", "in_transit": "在途", "received": "已到位",
                        "recalled": "已收回"}


def line_state(line: PlanLineRead) -> str:
    """Where a line stands: planned (no transfer yet), in transit, received (in place) or recalled."""
    if line.recall_transfer_id is not None:
        return "recalled"
    if line.transfer_id is None or line.transfer_status == "cancelled":
        return "planned"
    return "received" if line.transfer_status == "received" else "in_transit"


def _point_detail(point: PointCoverage) -> str:
    parts = [f"{point.kind_zh}，风险人口 {point.weight:g}"]
    if point.nearest_minutes is not None:
        parts.append(f"最近前置物资约 {point.nearest_minutes:.0f} 分钟")
    short = [f"{n.item_name}缺 {n.shortfall}{n.unit}" for n in point.needs if n.shortfall]
    parts.append("；".join(short) if short else "需求均可在时限内满足")
    return "；".join(parts)


def _site_detail(site: Mapping[str, Any]) -> str:
    lines = site.get("lines") or []
    return "拟前置：" + "、".join(f"{ln.get('item_name', '')} ×{ln.get('quantity', 0)}" for ln in lines)


def plan_markers(coverage: PlanCoverage, sources: Mapping[int, tuple[str, float, float]]) -> list[Marker]:
    """Sources under staging sites under risk points (uncovered on top); each links to its row below the map."""
    staged = {int(s["location_id"]) for s in coverage.sites}
    markers = [Marker(lat=lat, lon=lon, kind="source", colour=SOURCE, label=f"{name}（调出地点）",
                      href=f"#line-from-{ident}") for ident, (name, lat, lon) in sorted(sources.items())
               if ident not in staged]
    markers += [Marker(lat=float(s["lat"]), lon=float(s["lon"]), kind="staging", colour=STAGING,
                       label=f"{s['name']}（前置地点）", href=f"#line-to-{s['location_id']}",
                       detail=_site_detail(s)) for s in coverage.sites
                if s.get("lat") is not None and s.get("lon") is not None]
    points = sorted(coverage.points, key=lambda p: (not p.covered, p.risk_point_id))
    markers += [Marker(lat=p.lat, lon=p.lon, kind="risk_covered" if p.covered else "risk_uncovered",
                       colour=COVERED if p.covered else UNCOVERED, label=f"{p.code} {p.name}",
                       href=f"#point-{p.risk_point_id}", detail=_point_detail(p)) for p in points]
    return markers


def plan_lines(lines: Sequence[PlanLineRead], places: Mapping[int, tuple[str, float, float]]) -> list[Line]:
    """One segment per plan line whose two ends have coordinates."""
    drawn = []
    for ln in lines:
        start, end = places.get(ln.from_location_id), places.get(ln.to_location_id)
        if start is None or end is None:
            continue
        state = line_state(ln)
        drawn.append(Line(from_lat=start[1], from_lon=start[2], to_lat=end[1], to_lon=end[2],
                          colour=LINE_COLOURS[state],
                          label=f"{ln.from_name} → {ln.to_name}：{ln.item_name} ×{ln.quantity}{ln.unit}"
                                f"（{LINE_STATE_ZH[state]}）"))
    return drawn


def plan_svg(coverage: PlanCoverage, lines: Sequence[PlanLineRead], places: Mapping[int, tuple[str, float, float]],
             *, region: str, title: str) -> str:
    """The plan's map: ``places`` maps the lines' locations to (name, lat, lon)."""
    sources = {ln.from_location_id: places[ln.from_location_id] for ln in lines if ln.from_location_id in places}
    states = sorted({line_state(ln) for ln in lines}, key=list(LINE_COLOURS).index)
    return render_map(markers=plan_markers(coverage, sources), lines=plan_lines(lines, places), region=region,
                      title=title, element_id="plan-map", fit_markers=True, marker_radius=6.0,
                      line_legend=[(LINE_COLOURS[s], LINE_STATE_ZH[s]) for s in states])
