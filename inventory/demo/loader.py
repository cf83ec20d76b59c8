"""Idempotent demo data for 南昌市 (3601): depots, reserve points, vendors, a catalogue and serial assets.

Everything is created through the ordinary services (create_location, create_item_type,
create_asset), so every invariant they enforce holds for the demo too. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.service import create_item_type
from inventory.demo.agreements import AGREEMENT_FIRMS, ensure_demo_agreements
from inventory.demo.catalog import ITEM_TYPES, STOCKING, VENDORS, DemoVendor
from inventory.demo.leases import ensure_demo_leases
from inventory.demo.plans import ensure_demo_plan, ensure_demo_risk_points
from inventory.demo.quotas import ensure_demo_quotas
from inventory.demo.readiness import ensure_demo_readiness
from inventory.demo.relief import ensure_demo_relief
from inventory.demo.response import ensure_demo_response
from inventory.demo.stock import ensure_opening_stock
from inventory.demo.write_offs import ensure_demo_write_off
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
_URBAN_DISTRICTS: Final = frozenset({"360102", "360103", "360104", "360111", "360113"})
_EQUIPPED_POINTS_PER_COUNTY: Final = 3
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


def _reserve_points(
    counties: Sequence[Region], townships: Sequence[Region], centres: dict[str, tuple[float, float]]
) -> list[LocationCreate]:
    """One 救灾物资储备点 per township, placed near its county centre (approximate, WGS-84)."""
    by_code = {c.code: c for c in counties}
    items = []
    for town in townships:
        county = by_code[town.parent_code or ""]
        code = f"RP-{town.code[:9]}"
        lo, hi = (1.5, 6.0) if county.code in _URBAN_DISTRICTS else (2.0, 15.0)
        lat, lon = _scatter(code, *centres[county.code], lo, hi)
        seat = "办事处" if town.name.endswith("街道") else "人民政府" if town.name.endswith(("镇", "乡")) else ""
        name, phone = _contact(code, mobile=True)
        items.append(LocationCreate(
            code=code, name=f"{town.name}救灾物资储备点", kind="reserve_point", region_code=town.code,
            address=f"江西省南昌市{county.name}{town.name}{seat}院内", contact_name=name, contact_phone=phone,
            lat=lat, lon=lon, crs="wgs84", coord_approximate=True,
        ))
    return items


def _vendors(
    counties: Sequence[Region], centres: dict[str, tuple[float, float]], vendors: Sequence[DemoVendor],
) -> list[LocationCreate]:
    """Firms' warehouses (kind vendor) 3–10 km from their county's centre (WGS-84, approximate)."""
    names = {c.code: c.name for c in counties}
    items = []
    for v in vendors:
        lat, lon = _scatter(v.code, *centres[v.region_code], 3.0, 10.0)
        name, phone = _contact(v.code, mobile=True)
        items.append(LocationCreate(
            code=v.code, name=v.name, kind="vendor", region_code=v.region_code,
            address=f"江西省南昌市{names[v.region_code]}",
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
        for item, (_, per_county, _) in STOCKING.items():
            qty = max(0, per_county + rng.choice((-1, 0, 0, 1))) if per_county else 0
            plan += [(item, f"D-{county.code}", "owned")] * qty
        towns = sorted(t.code for t in townships if t.parent_code == county.code)
        for town in rng.sample(towns, min(_EQUIPPED_POINTS_PER_COUNTY, len(towns))):
            for item, (_, _, per_point) in STOCKING.items():
                if per_point and rng.random() < 0.5:
                    plan += [(item, f"RP-{town[:9]}", "owned")] * per_point
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
    progress(f"读取南昌市行政区划：{len(counties)} 个县（区）、{len(townships)} 个乡镇（街道）")
    centres = read_centres()
    wgs = _wgs84_centres(counties, centres)
    locs: dict[str, Location] = {}
    progress(_said("创建储备库", *await _ensure_locations(session, _depots(counties, centres), locs, summary)))
    progress(_said("创建货架库位", *await _ensure_locations(session, _bins(locs), locs, summary)))
    points = _reserve_points(counties, townships, wgs)
    progress(_said("创建乡镇救灾物资储备点", *await _ensure_locations(session, points, locs, summary)))
    vendors = _vendors(counties, wgs, VENDORS + AGREEMENT_FIRMS)  # the first four hold stock booked to the bureau
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
    progress(summary.describe())
    return summary
