"""The commander's map pages: 一张图 ``/map`` (sites and open incidents as markers), the county summary with its
choropleth ``/availability/summary``, and the county boundaries as GeoJSON for the pan-and-zoom layer.

Both pages work without script: the map is a server-drawn SVG (:mod:`api.pages.svgmap`), a marker links to its
row in the list below the map, and the list has the links (scan page, incident, 从这里查就近). ``/static/map.js``
adds pan and zoom with the vendored Leaflet on top of the same data (no tile server: the county polygons are
the only background). Figures come from one domain query each (:mod:`inventory.overview.map`,
:func:`inventory.availability.service.availability_summary`) in a short read; the SVG is drawn in a worker thread.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from litestar import Request, Response, get
from litestar.response import Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.pages.svgmap import Marker, render_map
from inventory.access.scope import Principal
from inventory.availability.schemas import AvailabilitySummary
from inventory.availability.service import availability_summary
from inventory.catalog.rules import CATEGORY_LABELS_ZH
from inventory.errors import InvalidInput
from inventory.overview.map import MAP_CATEGORIES, IncidentPoint, SiteFigures, map_overview
from inventory.places.boundaries import counties, geojson_bytes
from inventory.scan.resolve import LOCATION_KIND_ZH
from inventory.store.db import Database
from inventory.store.models import ItemType, Region

DEFAULT_REGION: Final = "3601"
"""南昌市: what an unscoped user (an admin) sees first."""
PUMPS_FEW: Final = 4
"""Up to this many available pumps is "few" (amber); more is "many" (green); none is grey."""
PUMP_COLOURS: Final = {"none": "#9ca3af", "few": "#f59e0b", "many": "#16a34a"}
FAULT_OUTLINE: Final = "#dc2626"
INCIDENT_COLOUR: Final = "#b3261e"
CHOROPLETH: Final = ("#f1f2f4", "#d7eedf", "#9fd4b2", "#5cae7e", "#2b7a4b")
"""Fill for 0, then four classes of the available count (light to dark green)."""
KIND_ORDER: Final = ("depot", "vendor", "reserve_point", "staging", "vehicle")
INCIDENT_KIND_ZH: Final = {"flood": "洪涝", "waterlogging": "城乡内涝", "typhoon": "台风", "landslide": "山体滑坡",
                           "forest_fire": "森林火灾", "earthquake": "地震", "other": "其他"}
_REGION_CODE = re.compile(r"^36(\d{2}|\d{4})?$")


def _category_zh(category: str) -> str:
    return CATEGORY_LABELS_ZH.get(category, category)


def _scope_region(principal: Principal, *, prefecture: bool = False) -> str:
    """The region a user sees first: their first scope region (its prefecture if asked), else 南昌市."""
    first = next((r for r in principal.scope_regions if r.startswith("36")), None)
    if first is None:
        return DEFAULT_REGION
    return first[:4] if prefecture and len(first) > 4 else first[:6]


async def _region(session: AsyncSession, asked: str | None, default: str) -> tuple[Region, str | None]:
    """The region asked for (a 江西 GB/T 2260 code down to county level), or the default with an error to show."""
    if asked:
        code = asked.strip()
        region = await session.get(Region, code) if _REGION_CODE.match(code) else None
        if region is not None:
            return region, None
        error = f"区域代码 {asked[:20]} 不存在或不在江西省（应为如 36、3601、360121 的行政区划代码），已显示默认区域。"
    else:
        error = None
    region = await session.get(Region, default) or await session.get(Region, DEFAULT_REGION)
    if region is None:  # regions not seeded: cannot happen after migrations
        raise InvalidInput("行政区划数据缺失", field="region")
    return region, error


async def _region_choices(session: AsyncSession, region: Region) -> list[tuple[str, str]]:
    """江西省, its cities, and the counties of the shown region's city: (code, name) for a <select>."""
    shown = [Region.code == "36", Region.level == 2]
    if len(region.code) >= 4:
        shown.append(Region.parent_code == region.code[:4])
    stmt = select(Region.code, Region.name).where(or_(*shown)).order_by(Region.code)
    rows = [(code, name) for code, name in await session.execute(stmt) if code.startswith("36")]
    return [(code, ("　" if len(code) == 6 else "") + name) for code, name in rows]


# --------------------------------------------------------------------------- /map


@dataclass(frozen=True)
class SiteRow:
    """A site as the page lists it."""

    site: SiteFigures
    kind_zh: str
    county: str
    pumps_class: str
    detail: str


def _pumps_class(n: int) -> str:
    return "none" if n == 0 else "few" if n <= PUMPS_FEW else "many"


def _available_text(available: dict[str, int]) -> str:
    return "可用：" + " · ".join(f"{_category_zh(c)} {n}" for c, n in available.items())


def _figures_text(site: SiteFigures) -> str:
    parts = []
    if site.faults:
        parts.append(f"故障 {site.faults}")
    if site.overdue:
        parts.append(f"逾期未检 {site.overdue}")
    text = _available_text(site.available) + "".join(f" · {p}" for p in parts)
    return text + (f"；电话 {site.contact_phone}" if site.contact_phone else "")


def _site_rows(sites: Sequence[SiteFigures], county_names: dict[str, str]) -> list[SiteRow]:
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    rows = [SiteRow(site=s, kind_zh=LOCATION_KIND_ZH.get(s.kind, s.kind),
                    county=county_names.get(s.region_code[:6], county_names.get(s.region_code[:4], "")),
                    pumps_class=_pumps_class(s.available.get("pump", 0)), detail=_figures_text(s)) for s in sites]
    return sorted(rows, key=lambda r: (order.get(r.site.kind, 99), r.site.region_code, r.site.code))


def _markers(rows: Sequence[SiteRow], incidents: Sequence[IncidentPoint]) -> list[Marker]:
    # Reserve points first, depots and vendors over them, incidents on top.
    drawn = sorted(rows, key=lambda r: (r.site.kind != "reserve_point", r.site.kind == "depot"))
    markers = [Marker(lat=r.site.lat, lon=r.site.lon, kind=r.site.kind, colour=PUMP_COLOURS[r.pumps_class],
                      label=f"{r.site.name}（{r.kind_zh}）", href=f"#site-{r.site.id}", detail=r.detail,
                      outline=FAULT_OUTLINE if r.site.faults else None) for r in drawn]
    markers += [Marker(lat=i.lat, lon=i.lon, kind="incident", colour=INCIDENT_COLOUR,
                       label=f"{i.name}（{INCIDENT_KIND_ZH.get(i.kind, i.kind)}，进行中）", href=f"#incident-{i.id}",
                       detail="现场" + _available_text(i.available)) for i in incidents]
    return markers


def _map_svg(region: str, title: str, markers: list[Marker]) -> str:
    legend = [(PUMP_COLOURS["none"], "无可用排涝泵"), (PUMP_COLOURS["few"], f"可用排涝泵 1–{PUMPS_FEW} 台"),
              (PUMP_COLOURS["many"], f"可用排涝泵 {PUMPS_FEW + 1} 台以上")]
    return render_map(markers=markers, region=region, legend=legend, title=title, element_id="map-svg",
                      outline_legend=[(FAULT_OUTLINE, "有故障装备")])


@get("/map", opt=PAGE, include_in_schema=False)
async def map_page(request: Request[Any, Any, Any], db: Database, region: str | None = None) -> Template | Redirect:
    """一张图: depots, reserve points, vendors and open incidents of a region, coloured by available pumps."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    async with db.heavy_read() as session:  # every site of the region with its stock: off the event loop
        shown, error = await _region(session, region, _scope_region(principal))
        choices = await _region_choices(session, shown)
        overview = await map_overview(session, shown.code)
        sites, incidents = overview.sites, overview.incidents
        codes = {s.region_code[:6] for s in sites} | {s.region_code[:4] for s in sites}
        names = await session.execute(select(Region.code, Region.name).where(Region.code.in_(sorted(codes))))
        county_names: dict[str, str] = dict(names.all())
    rows = _site_rows(sites, county_names)
    title = f"{shown.name}一张图：储备库、储备点、协议储备和进行中的事件"
    svg = await asyncio.to_thread(_map_svg, shown.code, title, _markers(rows, incidents))
    counts = {k: sum(1 for r in rows if r.site.kind == k) for k in KIND_ORDER}
    totals = {c: sum(r.site.available.get(c, 0) for r in rows) for c in MAP_CATEGORIES}
    return Template("map.html", context=page_context(
        principal, region=shown, choices=choices, error=error, svg=svg, rows=rows, incidents=incidents,
        counts=counts, totals=totals, categories=[(c, _category_zh(c)) for c in MAP_CATEGORIES],
        kind_zh=LOCATION_KIND_ZH, incident_kind_zh=INCIDENT_KIND_ZH, pumps_few=PUMPS_FEW,
        geojson=f"/map/counties.geojson?region={shown.code[:6]}"))


# --------------------------------------------------------------------------- /map/counties.geojson


def _geojson_region(region: str | None) -> str:
    """A prefix of at least one county (2, 4 or 6 digits), else "" (the whole province): a bounded cache key."""
    prefix = (region or "").strip()[:6]
    if len(prefix) in (2, 4, 6) and prefix.isdigit() and any(c.adcode.startswith(prefix) for c in counties()):
        return prefix
    return ""


@get("/map/counties.geojson", opt=PAGE, include_in_schema=False)
async def counties_geojson(request: Request[Any, Any, Any], region: str | None = None) -> Response[bytes]:
    """The county boundaries under ``region`` (all of 江西省 when absent or unknown) as GeoJSON.

    Public like the static files (the boundaries are published data); cached by browsers for a day, and gzipped
    by the application's compression for browsers that accept it (about a quarter of the size).
    """
    prefix = _geojson_region(region)
    body = await asyncio.to_thread(geojson_bytes, "county", prefix)
    headers = {"cache-control": "public, max-age=86400"}
    return Response(body, media_type="application/geo+json", headers=headers)


# --------------------------------------------------------------------------- /availability/summary


def _classes(maximum: int) -> list[tuple[int, int]]:
    """Four (low, high) classes of 1..maximum, upper bounds rounded up to whole numbers."""
    step = max(1, math.ceil(maximum / 4))
    return [(1 + i * step, (i + 1) * step) for i in range(4) if 1 + i * step <= max(maximum, 1)]


def _choropleth(summary: AvailabilitySummary, region: str, title: str, unit: str) -> str:
    """The summary's available figure per child region as county fills (a city colours all its counties)."""
    classes = _classes(max((r.available for r in summary.regions), default=0))
    by_child = {r.region_code: r for r in summary.regions}
    fills: dict[str, str] = {}
    notes: dict[str, str] = {}
    for county in counties():
        child = next((by_child[county.adcode[:n]] for n in (6, 4) if county.adcode[:n] in by_child), None)
        if child is None:
            continue
        n = child.available
        fills[county.adcode] = CHOROPLETH[0] if n == 0 else CHOROPLETH[
            next(i for i, (_, high) in enumerate(classes, 1) if n <= high)]
        notes[county.adcode] = f"{child.region_name} 可用 {n}{unit}（在库 {child.on_hand}，在途 {child.in_transit}）"
    legend = [(CHOROPLETH[0], f"0{unit}")] + [
        (CHOROPLETH[i], f"{low}{unit}" if low == high else f"{low}–{high}{unit}")
        for i, (low, high) in enumerate(classes, 1)]
    return render_map(region=region, fills=fills, notes=notes, legend=legend, title=title,
                      element_id="summary-svg", kind_legend=False)


async def _categories(session: AsyncSession) -> list[tuple[str, str]]:
    """The catalogue's categories (value, Chinese name), the map's first ones first."""
    present = [c for c in await session.scalars(select(ItemType.category).distinct()) if c]
    first = [c for c in MAP_CATEGORIES if c in present]
    return [(c, _category_zh(c)) for c in first + sorted(set(present) - set(first))]


@get("/availability/summary", opt=PAGE, include_in_schema=False)
async def summary_page(request: Request[Any, Any, Any], db: Database, region: str | None = None,
                       category: str | None = None) -> Template | Redirect:
    """Per county (or per city for the province): on hand, reserved, available, in transit, and a choropleth."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    errors: list[str] = []
    async with db.heavy_read() as session:  # the availability summary: off the event loop
        shown, error = await _region(session, region, _scope_region(principal, prefecture=True))
        if error:
            errors.append(error)
        choices = await _region_choices(session, shown)
        categories = await _categories(session)
        chosen = category if category in dict(categories) else None
        if category and chosen is None:
            errors.append(f"物资类别 {category[:40]} 在物资目录中不存在，请从列表中选择。")
        chosen = chosen or (categories[0][0] if categories else None)
        summary = (await availability_summary(session, region=shown.code, category=chosen)
                   if chosen else None)
        unit = ""
        if summary is not None and len({t.unit for t in summary.item_types}) == 1:
            unit = summary.item_types[0].unit
    svg = ""
    if summary is not None:
        title = f"{shown.name}各{'市' if shown.code == '36' else '县区'}可用{_category_zh(chosen or '')}"
        svg = await asyncio.to_thread(_choropleth, summary, shown.code, title, unit)
    return Template("availability_summary.html", context=page_context(
        principal, region=shown, choices=choices, categories=categories, category=chosen,
        category_zh=_category_zh(chosen or ""), summary=summary, svg=svg, errors=errors, unit=unit,
        geojson=f"/map/counties.geojson?region={shown.code[:6]}"))


HANDLERS = [map_page, counties_geojson, summary_page]
