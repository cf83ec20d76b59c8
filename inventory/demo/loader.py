"""Idempotent demo data for 南昌市 (3601): depots, reserve points, vendors, a catalogue and serial assets.

Everything is created through the ordinary services (create_location, create_item_type,
create_asset), so every invariant they enforce holds for the demo too. Nothing here commits.

Where things are:

- the city depot and each county's comprehensive depot at the published centres (GCJ-02, ``places/centres``);
- one 救灾物资储备点 per 镇 and 乡 (not per urban 街道, nor for the 管理处, 垦殖场, firms and development zones),
  plus one at 洗药湖管理处 and a forest-fire point (森林防火物资储备点) in 梅岭镇, both in 湾里. The reserve points'
  coordinates are an **approximation**: township centres are not shipped (``places/data/SOURCE.md``), so each
  county's points are spread over its real boundary (``places/boundaries``) — a grid of candidate points well
  inside the polygon, the farthest from the county seat and from each other taken one by one, then handed out in
  township-code order from the nearest to the seat outwards (镇 are coded before 乡, and the seat's town is
  usually the first). 湾里's units (merged into 新建区 in 2019, now under the 湾里管理局, which their addresses
  say) are spread the same way within a few kilometres of the former 湾里区's published centre. Every point lies
  inside its county and is marked ``coord_approximate``; where a township really is may be far from its point;
- the firms' warehouses a few kilometres from their county's centre, moved to the nearest of those candidate
  points, so they too lie inside their county; those holding stock for the bureau are in development zones
  (小蓝经济开发区 and the like), with those zones' township codes.

The flood-prone counties (南昌县, 新建区, 进贤县) hold more goods and equipment than the others and the urban
districts less (:data:`inventory.demo.catalog.STOCK_FACTOR`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Callable, Sequence
from functools import cache
from typing import Final, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.service import create_item_type
from inventory.demo.agreements import AGREEMENT_FIRMS, ensure_demo_agreements
from inventory.demo.catalog import (
    FOREST_FIRE_POINT,
    FOREST_FIRE_STOCKING,
    ITEM_TYPES,
    STOCKING,
    VENDORS,
    DemoVendor,
    stock_factor,
)
from inventory.demo.leases import ensure_demo_leases
from inventory.demo.plans import ensure_demo_plan, ensure_demo_risk_points
from inventory.demo.quotas import ensure_demo_quotas
from inventory.demo.readiness import ensure_demo_readiness
from inventory.demo.relief import ensure_demo_relief
from inventory.demo.requests import ensure_demo_requests
from inventory.demo.response import ensure_demo_response
from inventory.demo.risk_points import SUBMERSIBLE_PUMP
from inventory.demo.stock import ensure_opening_stock
from inventory.demo.write_offs import ensure_demo_write_off
from inventory.places import boundaries
from inventory.places.centres import centres_gcj02
from inventory.places.geo import to_wgs84
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.schemas import Ownership, Readiness
from inventory.stock.assets import create_asset
from inventory.stock.schemas import AssetCreate
from inventory.store.models import Asset, ItemType, Location, Region

CITY: Final = "3601"
CITY_DEPOT: Final = "NC-CITY-DEPOT"
SEED: Final = 3601_2025
_BIN_DEPOTS: Final = (CITY_DEPOT, "D-360121")
_EQUIPPED_POINTS_PER_COUNTY: Final = 3  # times the county's stock factor
_GRID: Final = 48  # candidate points along the longer side of a county's bounding box
_WANLI: Final = "360105000000"  # 湾里区, merged into 新建区 in 2019: its last published centre
_WANLI_KM: Final = 9.0  # 湾里's units are placed within this distance of that centre
_WANLI_UNITS: Final = frozenset({"360112113", "360112114", "360112115", "360112116", "360112405"})
"""太平镇, 罗亭镇, 招贤镇, 梅岭镇 and 洗药湖管理处: 新建区's townships under the 湾里管理局."""
_EXTRA_POINTS: Final = frozenset({"360112405"})  # 洗药湖管理处: a reserve point though neither 镇 nor 乡
_FOREST_FIRE_TOWN: Final = "360112116"  # 梅岭镇
# The 大流量潜水泵 are the few a pre-positioning plan moves about the city: as many per county wherever it is, so
# the demo's draft plan (inventory.demo.plans) still falls short at some of its risk points.
_UNSCALED_EQUIPMENT: Final = frozenset({SUBMERSIBLE_PUMP})
_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭罗梁宋郑谢熊万邓曾彭余涂"
_GIVEN: Final = ("建华", "国平", "海燕", "志强", "文斌", "丽华", "小军", "春梅", "卫东", "晓明",
                 "红英", "长生", "桂兰", "建国", "永红", "德明", "秀英", "立新", "金水", "明辉")
_S = TypeVar("_S", bound=msgspec.Struct)


class DemoSummary(msgspec.Struct, kw_only=True):
    """What a demo load created and what it found already present, per kind."""

    locations_created: int = 0
    locations_skipped: int = 0
    item_types_created: int = 0
    item_types_skipped: int = 0
    assets_created: int = 0
    assets_skipped: int = 0
    receipts_created: int = 0
    receipts_skipped: int = 0
    incidents_created: int = 0
    incidents_skipped: int = 0
    leases_created: int = 0
    leases_skipped: int = 0
    agreements_created: int = 0
    agreements_skipped: int = 0
    risk_points_created: int = 0
    risk_points_skipped: int = 0
    plans_created: int = 0
    plans_skipped: int = 0

    @property
    def created(self) -> int:
        """Total number of things created."""
        return (self.locations_created + self.item_types_created + self.assets_created + self.receipts_created
                + self.incidents_created + self.leases_created + self.agreements_created
                + self.risk_points_created + self.plans_created)

    def describe(self) -> str:
        """A one-line Chinese account of the load."""
        if self.created == 0:
            return (f"演示数据已存在，未新建任何数据（跳过地点 {self.locations_skipped} 个、"
                    f"物资品目 {self.item_types_skipped} 个、装备 {self.assets_skipped} 件、"
                    f"风险隐患点 {self.risk_points_skipped} 个、前置计划 {self.plans_skipped} 份）")
        skipped = self.locations_skipped + self.item_types_skipped + self.assets_skipped
        return (f"演示数据已载入：新建地点 {self.locations_created} 个、物资品目 {self.item_types_created} 个、"
                f"装备 {self.assets_created} 件、期初入库单 {self.receipts_created} 张、"
                f"处置中的事件 {self.incidents_created} 起、协议储备 {self.agreements_created} 份、"
                f"风险隐患点 {self.risk_points_created} 个、前置计划 {self.plans_created} 份"
                + (f"（另有 {skipped} 项已存在，已跳过）" if skipped else ""))


def _checked(data: _S) -> _S:
    """Validate a struct built in code against its declared constraints, as the API would."""
    return msgspec.convert(msgspec.to_builtins(data), type(data))


def _digest(text: str) -> int:
    """A stable 64-bit number derived from ``text`` (unlike hash(), the same in every process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _contact(code: str, *, mobile: bool) -> tuple[str, str]:
    """A plausible, deterministic contact name and phone number for a location code."""
    h = _digest("contact:" + code)
    name = _SURNAMES[h % len(_SURNAMES)] + _GIVEN[(h >> 8) % len(_GIVEN)]
    digits = f"{(h >> 16) % 10**8:08d}"
    phone = f"13{5 + (h >> 48) % 5}{digits}" if mobile else f"0791-8{digits[:7]}"
    return name, phone


def read_centres() -> dict[str, tuple[float, float]]:
    """Region centres as GCJ-02 (lat, lon), keyed by the 12-digit adcode (:mod:`inventory.places.centres`)."""
    return dict(centres_gcj02())


def _scatter(code: str, lat: float, lon: float, lo_km: float, hi_km: float) -> tuple[float, float]:
    """A point ``lo_km``–``hi_km`` from (lat, lon) in a direction derived from ``code``."""
    h = _digest("place:" + code)
    bearing = math.radians((h % 3600) / 10)
    km = lo_km + ((h >> 16) % 1000) / 1000 * (hi_km - lo_km)
    dlat = km * math.cos(bearing) / 111.32
    dlon = km * math.sin(bearing) / (111.32 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


async def _ensure_locations(
    session: AsyncSession, items: Sequence[LocationCreate], locs: dict[str, Location], summary: DemoSummary,
) -> tuple[int, int]:
    """Create the locations whose code is not there yet; returns (created, skipped)."""
    codes = [i.code for i in items]
    for loc in await session.scalars(select(Location).where(Location.code.in_(codes))):
        locs[loc.code] = loc
    created = skipped = 0
    for data in items:
        if data.code in locs:
            skipped += 1
            continue
        locs[data.code] = await create_location(session, _checked(data))
        created += 1
    summary.locations_created += created
    summary.locations_skipped += skipped
    return created, skipped


def _said(what: str, created: int, skipped: int, unit: str = "个") -> str:
    """A progress line such as "创建储备库 10 个（已存在跳过 0 个）"."""
    tail = f"（已存在跳过 {skipped} {unit}）" if skipped else ""
    return f"{what} {created} {unit}{tail}"


def _depots(counties: Sequence[Region], centres: dict[str, tuple[float, float]]) -> list[LocationCreate]:
    """The city depot and one comprehensive depot per county, at the real centres (GCJ-02)."""
    city_lat, city_lon = centres[CITY.ljust(12, "0")]
    name, phone = _contact(CITY_DEPOT, mobile=False)
    items = [LocationCreate(
        code=CITY_DEPOT, name="南昌市应急物资储备库", kind="depot", region_code=CITY, address="江西省南昌市",
        contact_name=name, contact_phone=phone, lat=city_lat, lon=city_lon, crs="gcj02",
    )]
    for county in counties:
        code = f"D-{county.code}"
        centre = centres.get(county.code.ljust(12, "0"))
        name, phone = _contact(code, mobile=False)
        lat, lon = centre or (city_lat, city_lon)  # no published centre: fall back to the city's
        items.append(LocationCreate(
            code=code, name=f"{county.name}综合应急物资储备库", kind="depot", region_code=county.code,
            address=f"江西省南昌市{county.name}", contact_name=name, contact_phone=phone,
            lat=lat, lon=lon, crs="gcj02", coord_approximate=centre is None,
        ))
    return items


def _bins(locs: dict[str, Location]) -> list[LocationCreate]:
    """Shelves A and B inside the city depot and the 南昌县 depot."""
    return [
        LocationCreate(code=f"{depot}-{shelf}", name=f"货架 {shelf}", kind="bin",
                       region_code=locs[depot].region_code, parent_id=locs[depot].id, address=locs[depot].address,
                       contact_name=locs[depot].contact_name, contact_phone=locs[depot].contact_phone)
        for depot in _BIN_DEPOTS if depot in locs for shelf in ("A", "B")
    ]


def _wgs84_centres(
    counties: Sequence[Region], centres: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """WGS-84 (lat, lon) of each county's centre, or of the city's where none is published."""
    city = centres[CITY.ljust(12, "0")]
    return {c.code: to_wgs84(*centres.get(c.code.ljust(12, "0"), city), "gcj02") for c in counties}


def has_reserve_point(town: Region) -> bool:
    """True for the townships the demo gives a 救灾物资储备点: every 镇 and 乡, and 洗药湖管理处 (湾里)."""
    return town.name.endswith(("镇", "乡")) or town.code[:9] in _EXTRA_POINTS


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in km between two nearby (lat, lon) points (equirectangular: plenty within a county)."""
    dlat = (a[0] - b[0]) * 111.32
    dlon = (a[1] - b[1]) * 111.32 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dlat, dlon)


@cache
def _boundary(county: str) -> boundaries.Boundary | None:
    return next((b for b in boundaries.counties() if b.adcode == county), None)


@cache
def candidate_points(county: str) -> tuple[tuple[float, float], ...]:
    """(lat, lon) WGS-84 points of a grid over the county's boundary box whose grid neighbours are all inside the
    county too (so none sits on its edge), south to north and west to east; none for an unknown county."""
    boundary = _boundary(county)
    if boundary is None:
        return ()
    west, south, east, north = boundary.bbox
    step = max(east - west, north - south) / _GRID
    around = ((0.0, 0.0), (step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step))
    points = []
    for i in range(int((north - south) / step) + 1):
        lat = south + (i + 0.5) * step
        for j in range(int((east - west) / step) + 1):
            lon = west + (j + 0.5) * step
            if all(boundary.contains(lon + dx, lat + dy) for dx, dy in around):
                points.append((round(lat, 6), round(lon, 6)))
    return tuple(points)


def _spread(pool: Sequence[tuple[float, float]], taken: Sequence[tuple[float, float]],
            k: int) -> list[tuple[float, float]]:
    """``k`` points of ``pool`` taken one by one, each the farthest from those taken before (and ``taken``)."""
    gap = [min((_km(p, t) for t in taken), default=math.inf) for p in pool]
    chosen: list[tuple[float, float]] = []
    for _ in range(min(k, len(pool))):
        best = max(range(len(pool)), key=gap.__getitem__)  # ties: the first, so the same every time
        chosen.append(pool[best])
        gap = [min(g, _km(p, pool[best])) for g, p in zip(gap, pool, strict=True)]
    return chosen


def _nearest_first(points: Sequence[tuple[float, float]], anchor: tuple[float, float]) -> list[tuple[float, float]]:
    """``points`` from the nearest to ``anchor`` outwards."""
    return sorted(points, key=lambda p: (_km(p, anchor), p))


def _spots(county: str, seat: tuple[float, float], wanli: tuple[float, float] | None,
           places: Sequence[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Where each (location code, region code) of a county's reserve points goes (module doc), by location code."""
    candidates = candidate_points(county)
    taken = [seat]
    spots: dict[str, tuple[float, float]] = {}
    in_wanli = sorted(code for code, region in places if wanli and region[:9] in _WANLI_UNITS)
    rest = sorted(code for code, _ in places if code not in in_wanli)
    for group, anchor, near in ((in_wanli, wanli or seat, _WANLI_KM), (rest, seat, math.inf)):
        pool = [c for c in candidates if _km(c, anchor) <= near]
        if len(pool) < len(group):
            pool = list(candidates)
        chosen = _spread(pool, taken, len(group))
        taken += chosen
        spots.update(zip(group, _nearest_first(chosen, anchor), strict=False))
    return spots


def _wanli_centre() -> tuple[float, float] | None:
    """The former 湾里区's published centre, WGS-84 (lat, lon), if the shipped centres have it."""
    centre = centres_gcj02().get(_WANLI)
    return to_wgs84(*centre, "gcj02") if centre else None


def _reserve_points(
    counties: Sequence[Region], townships: Sequence[Region], centres: dict[str, tuple[float, float]]
) -> list[LocationCreate]:
    """A 救灾物资储备点 per 镇 and 乡, at 洗药湖管理处 and for forest fires in 梅岭镇, spread over each county's
    boundary (approximate, WGS-84; module doc)."""
    by_code = {c.code: c for c in counties}
    towns = sorted((t for t in townships if has_reserve_point(t)), key=lambda t: t.code)
    places: list[tuple[Region, str, str, str]] = []  # (township, location code, name, address suffix)
    for town in towns:
        seat = "人民政府院内" if town.name.endswith(("镇", "乡")) else "院内"
        places.append((town, f"RP-{town.code[:9]}", f"{town.name}救灾物资储备点", f"{town.name}{seat}"))
        if town.code[:9] == _FOREST_FIRE_TOWN:
            places.append((town, FOREST_FIRE_POINT, f"{town.name}森林防火物资储备点", town.name))
    wanli = _wanli_centre()
    spots: dict[str, tuple[float, float]] = {}
    for county in counties:
        mine = [(code, town.code) for town, code, _, _ in places if town.parent_code == county.code]
        if mine:
            spots.update(_spots(county.code, centres[county.code], wanli, mine))
    items = []
    for town, code, name, suffix in places:
        county = by_code[town.parent_code or ""]
        lat, lon = spots.get(code) or _scatter(code, *centres[county.code], 2.0, 6.0)  # a county without a boundary
        under = "（湾里管理局）" if town.code[:9] in _WANLI_UNITS else ""
        contact, phone = _contact(code, mobile=True)
        items.append(LocationCreate(
            code=code, name=name, kind="reserve_point", region_code=town.code,
            address=f"江西省南昌市{county.name}{under}{suffix}", contact_name=contact, contact_phone=phone,
            lat=lat, lon=lon, crs="wgs84", coord_approximate=True,
        ))
    return items


def _vendors(
    counties: Sequence[Region], centres: dict[str, tuple[float, float]], vendors: Sequence[DemoVendor],
    townships: Sequence[Region] = (), taken: Sequence[LocationCreate] = (),
) -> list[LocationCreate]:
    """Firms' warehouses (kind vendor) 3–10 km from their county's centre, moved to the nearest candidate point inside
    the county that no place of ``taken`` holds (WGS-84, approximate); a warehouse coded to a township (a development
    zone) names it in its address."""
    names = {c.code: c.name for c in counties} | {t.code: t.name.removesuffix("管理委员会") for t in townships}
    held = {(p.lat, p.lon) for p in taken}
    items = []
    for v in vendors:
        county = v.region_code[:6]
        target = _scatter(v.code, *centres[county], 3.0, 10.0)
        inside = [c for c in candidate_points(county) if c not in held]
        lat, lon = min(inside, key=lambda c: (_km(c, target), c)) if inside else target
        held.add((lat, lon))
        zone = names.get(v.region_code, "") if v.region_code != county else ""
        name, phone = _contact(v.code, mobile=True)
        items.append(LocationCreate(
            code=v.code, name=v.name, kind="vendor", region_code=v.region_code,
            address=f"江西省南昌市{names[county]}{zone}",
            contact_name=name, contact_phone=phone, lat=lat, lon=lon, crs="wgs84", coord_approximate=True,
            agreement_lead_hours=v.lead_hours,
        ))
    return items


def _asset_plan(
    rng: random.Random, counties: Sequence[Region], townships: Sequence[Region]
) -> list[tuple[str, str, Ownership]]:
    """(item code, location code, ownership) for every unit the demo places, in a fixed order."""
    plan: list[tuple[str, str, Ownership]] = []
    for item, (city, _, _) in STOCKING.items():
        plan += [(item, CITY_DEPOT, "owned")] * city
    for county in counties:
        factor = stock_factor(county.code)
        for item, (_, per_county, _) in STOCKING.items():
            scale = 1.0 if item in _UNSCALED_EQUIPMENT else factor
            qty = int(max(0, per_county + rng.choice((-1, 0, 0, 1))) * scale + 0.5) if per_county else 0
            plan += [(item, f"D-{county.code}", "owned")] * qty
        towns = sorted(t.code for t in townships if t.parent_code == county.code and has_reserve_point(t))
        equipped = min(int(_EQUIPPED_POINTS_PER_COUNTY * factor + 0.5), len(towns))
        for town in rng.sample(towns, equipped):
            for item, (_, _, per_point) in STOCKING.items():
                if per_point and rng.random() < 0.5:
                    plan += [(item, f"RP-{town[:9]}", "owned")] * per_point
    for item, qty in FOREST_FIRE_STOCKING.items():
        plan += [(item, FOREST_FIRE_POINT, "owned")] * qty
    for v in VENDORS:
        for item, qty in v.stock.items():
            plan += [(item, v.code, v.ownership)] * qty
    return plan


def _asset(rng: random.Random, it: ItemType, seq: int, location_id: int, ownership: Ownership,
           today: dt.datetime) -> AssetCreate:
    """One unit with a deterministic serial number, status and readiness."""
    interval = it.inspection_interval_days or 180
    roll = rng.random()
    last: dt.datetime | None = None
    readiness: Readiness = "unknown"
    if roll < 0.65:
        last, readiness = today - dt.timedelta(days=rng.randint(3, interval - 3)), "ok"
    elif roll < 0.8:
        last = today - dt.timedelta(days=interval + rng.randint(15, 240))  # shows as overdue
    broken = rng.random() < 0.05
    fuel = it.attributes.get("fuel")
    return AssetCreate(
        item_type_id=it.id, serial_number=f"{it.code}-{rng.randint(2019, 2024)}-{seq:04d}",
        location_id=location_id, status="maintenance" if broken else "available", ownership=ownership,
        readiness="fault" if broken else readiness, last_inspected_at=last,
        battery_pct=rng.randint(35, 100) if "battery_wh" in it.attributes else None,
        fuel_pct=rng.randint(25, 100) if fuel in ("diesel", "gasoline") and rng.random() < 0.7 else None,
        notes="故障送修，待返库" if broken else "",
    )


async def _ensure_item_types(session: AsyncSession, summary: DemoSummary) -> dict[str, ItemType]:
    """Create the catalogue entries whose code is not there yet; returns every demo item type by code."""
    types = {it.code: it for it in await session.scalars(
        select(ItemType).where(ItemType.code.in_([d.code for d in ITEM_TYPES])))}
    summary.item_types_skipped += len(types)
    for data in ITEM_TYPES:
        if data.code not in types:
            types[data.code] = await create_item_type(session, _checked(data))
            summary.item_types_created += 1
    return types


async def _ensure_assets(
    session: AsyncSession, plan: Sequence[tuple[str, str, Ownership]], rng: random.Random,
    types: dict[str, ItemType], locs: dict[str, Location], summary: DemoSummary,
) -> None:
    """Register the planned units whose (item type, serial number) is not there yet."""
    ids = [it.id for it in types.values()]
    rows = await session.execute(select(Asset.item_type_id, Asset.serial_number).where(Asset.item_type_id.in_(ids)))
    existing = {(type_id, serial) for type_id, serial in rows}
    today = dt.datetime.now(dt.UTC).replace(hour=1, minute=30, second=0, microsecond=0)
    seqs: dict[str, int] = {}
    for item, loc_code, ownership in plan:
        it, loc = types[item], locs.get(loc_code)
        seqs[item] = seqs.get(item, 0) + 1
        data = _asset(rng, it, seqs[item], loc.id if loc else 0, ownership, today)
        if loc is None or it.tracking != "serial" or (it.id, data.serial_number) in existing:
            summary.assets_skipped += 1
            continue
        await create_asset(session, _checked(data))
        summary.assets_created += 1


async def load_demo(session: AsyncSession, *, progress: Callable[[str], None] = lambda _m: None) -> DemoSummary:
    """Load the 南昌市 demo data idempotently through the services; flushes but never commits."""
    summary = DemoSummary()
    regions = list(await session.scalars(select(Region).where(Region.code.startswith(CITY)).order_by(Region.code)))
    counties = [r for r in regions if r.level == 3 and r.parent_code == CITY]
    county_codes = {c.code for c in counties}
    townships = [r for r in regions if r.level == 4 and r.parent_code in county_codes]
    towns = sum(1 for t in townships if t.name.endswith(("镇", "乡")))
    progress(f"读取南昌市行政区划：{len(counties)} 个县（区）、{len(townships)} 个乡级区划，其中镇、乡 {towns} 个")
    centres = read_centres()
    wgs = _wgs84_centres(counties, centres)
    locs: dict[str, Location] = {}
    progress(_said("创建储备库", *await _ensure_locations(session, _depots(counties, centres), locs, summary)))
    progress(_said("创建货架库位", *await _ensure_locations(session, _bins(locs), locs, summary)))
    points = _reserve_points(counties, townships, wgs)
    progress(_said("创建救灾物资储备点（每个镇、乡 1 个，另有湾里洗药湖管理处 1 个、梅岭森林防火 1 个）",
                   *await _ensure_locations(session, points, locs, summary)))
    # The first four hold stock booked to the bureau.
    vendors = _vendors(counties, wgs, VENDORS + AGREEMENT_FIRMS, townships, taken=points)
    progress(_said("创建协议储备供应商仓库", *await _ensure_locations(session, vendors, locs, summary)))
    types = await _ensure_item_types(session, summary)
    progress(_said("创建物资品目", summary.item_types_created, summary.item_types_skipped))
    rng = random.Random(SEED)
    plan = _asset_plan(rng, counties, townships)
    await _ensure_assets(session, plan, rng, types, locs, summary)
    progress(_said("登记装备", summary.assets_created, summary.assets_skipped, "件"))
    made, kept = await ensure_opening_stock(session, types, locs, progress, SEED)
    summary.receipts_created, summary.receipts_skipped = made, kept
    progress(_said("期初入库单", made, kept, "张"))
    progress(_said("待审批的报废申请", *await ensure_demo_write_off(session), "张"))
    # The incident's staging place (现场收货点) is a location the demo makes too.
    made, kept = await ensure_demo_response(session)
    summary.incidents_created, summary.incidents_skipped = made, kept
    summary.locations_created += made
    summary.locations_skipped += kept
    progress(_said("处置中的事件（含动用指令 2 条：1 条已出库在途、1 条已预留）", made, kept, "起"))
    made, kept = await ensure_demo_leases(session)
    summary.leases_created, summary.leases_skipped = made, kept
    progress(_said("租借合同（租入 1、借出 2，其中 1 份已逾期）", made, kept, "份"))
    made, kept = await ensure_demo_agreements(session)
    summary.agreements_created, summary.agreements_skipped = made, kept
    progress(_said("协议储备（实物代储 2、产能储备 1，其中 1 份即将到期；各有定期检查与拉动演练）", made, kept, "份"))
    progress(_said("储备定额（各储备库救灾物资、市库装备，防汛物资汛期定额更高）", *await ensure_demo_quotas(
        session, CITY_DEPOT), "条"))
    progress(_said("保养计划（柴油发电机组月度带载试运行，其中 1 台已逾期）", *await ensure_demo_readiness(session),
                   "项"))
    made, kept = await ensure_demo_risk_points(session)
    summary.risk_points_created, summary.risk_points_skipped = made, kept
    progress(_said("风险隐患点（赣江、抚河沿线：南昌县、新建区、进贤县的堤段、低洼村庄、下穿通道、学校）", made, kept))
    made, kept = await ensure_demo_plan(session, progress)
    summary.plans_created, summary.plans_skipped = made, kept
    progress(_said("前置计划草稿（选址优化按现有库存布放大流量潜水泵，目标 60 分钟；待另一名指挥人员审批）", made, kept,
                   "份"))
    progress(_said("救灾物资发放（蒋巷镇 2 个村 6 户，两轮，调往事件现场后按户登记）",
                   *await ensure_demo_relief(session), "次"))
    progress(_said("物资调用申请（南昌县向市局申请橡皮艇、帐篷：市局同意从新建区储备库调出，已出库在途；向新建区申请棉被："
                   "被拒绝；向市局申请大流量排涝泵：待答复）", *await ensure_demo_requests(session), "份"))
    progress(summary.describe())
    return summary
