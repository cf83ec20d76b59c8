"""Availability on a real database: what counts, the order of sources, the regional summary, and a property
test against a brute-force haversine computation over every location."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from inventory.availability import search as availability_search
from inventory.availability.choices import catalogue_choices, region_centres, townships
from inventory.availability.eta import DEFAULT_MOBILISATION, EtaConfig, parse_eta_overrides
from inventory.availability.service import availability_summary, nearest_available
from inventory.catalog.rules import attr_matches, parse_attr_filter, tag_bit
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.errors import InvalidInput
from inventory.places.geo import haversine_km, to_wgs84
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, ItemType, Location, Lot

TODAY = dt.date(2026, 7, 1)
ETA = EtaConfig(overrides=parse_eta_overrides("360124:1.8:30,3601:1.3:45,360121:1.2:50"))
# The same mobilisation everywhere makes the order mostly by distance, so the search can stop early often.
ETAS = {"regional": ETA, "flat": EtaConfig(mobilisation_minutes=dict.fromkeys(DEFAULT_MOBILISATION, 15.0)),
        "default": EtaConfig()}
REGIONS = ("360121", "360124", "360102", "360112", "360123", "3601", "360121100000")


# --------------------------------------------------------------------------- building stock directly


@dataclass
class Stock:
    """Rows to insert: lots, balances and serial units."""

    lots: list[dict[str, Any]] = field(default_factory=list)
    balances: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)

    def lot(self, lot_id: int, item: int, expiry: dt.date | None) -> int:
        self.lots.append({"id": lot_id, "item_type_id": item, "number": f"L{lot_id}", "expiry_date": expiry})
        return lot_id

    def balance(self, loc: int, item: int, lot: int | None, on_hand: int, reserved: int = 0,
                in_transit: int = 0) -> None:
        self.balances.append({"location_id": loc, "item_type_id": item, "lot_id": lot, "lot_key": lot or 0,
                              "on_hand": on_hand, "reserved": reserved, "in_transit": in_transit})

    def unit(self, loc: int | None, item: int, status: str = "available", readiness: str = "ok",
             due: dt.date | None = None) -> None:
        self.assets.append({"item_type_id": item, "serial_number": f"SN-{len(self.assets)}", "status": status,
                            "location_id": loc, "readiness": readiness, "next_inspection_due": due})

    async def insert(self, db: Database) -> None:
        """Write everything in one transaction (the ledger has its own tests; this is the read side)."""
        async with db.write() as s:
            for table, rows in ((Lot, self.lots), (Balance, self.balances), (Asset, self.assets)):
                if rows:
                    await s.execute(insert(table), rows)


async def _location(db: Database, code: str, kind: str, region: str, lat: float | None, lon: float | None,
                    parent: int | None = None, lead: float | None = None) -> int:
    async with db.write() as s:
        loc = await create_location(s, LocationCreate(
            code=code, name=f"{code} 名称", kind=kind, region_code=region, lat=lat, lon=lon, parent_id=parent,  # type: ignore[arg-type]
            contact_name="张三", contact_phone="13800000000", agreement_lead_hours=lead))
        return loc.id


async def _item(db: Database, code: str, tracking: str, category: str, tags: list[str] | None = None,
                **attrs: float) -> int:
    async with db.write() as s:
        it = await create_item_type(s, ItemTypeCreate(
            code=code, name=code, unit="台" if tracking == "serial" else "件", tracking=tracking,  # type: ignore[arg-type]
            category=category, tags=tags or [], attributes=dict(attrs)))  # type: ignore[arg-type]
        return it.id


async def _deactivate(db: Database, *ids: int) -> None:
    async with db.write() as s:
        await s.execute(update(Location).where(Location.id.in_(ids)).values(active=False))


# --------------------------------------------------------------------------- the brute force


@dataclass
class Snapshot:
    """Everything in the database, read once, for the brute force."""

    locations: dict[int, Location]
    items: dict[int, ItemType]
    expiry: dict[int, dt.date | None]
    balances: list[Balance]
    assets: list[Asset]


async def snapshot(db: Database) -> Snapshot:
    """Read every location, item type, lot, balance and asset."""
    async with db.read() as s:
        return Snapshot(
            {loc.id: loc for loc in await s.scalars(select(Location))},
            {it.id: it for it in await s.scalars(select(ItemType))},
            {lot.id: lot.expiry_date for lot in await s.scalars(select(Lot))},
            list(await s.scalars(select(Balance))), list(await s.scalars(select(Asset))),
        )


def brute_matching(snap: Snapshot, item_type: str | None, category: str | None, tag: str | None,
                   attrs: list[str]) -> set[int]:
    """Item types matching the filters, by Python predicates."""
    chosen = None
    if item_type is not None:
        by_id = snap.items.get(int(item_type)) if item_type.isdigit() else None
        chosen = by_id or next(it for it in snap.items.values() if it.code == item_type)
    return {
        it.id for it in snap.items.values()
        if (chosen is None or it.id == chosen.id) and (category is None or it.category == category)
        and (tag is None or it.tags_mask & tag_bit(tag)) and all(attr_matches(parse_attr_filter(a), it.attributes)
                                                                 for a in attrs)
    }


def brute_nearest(snap: Snapshot, q: dict[str, Any], eta: EtaConfig) -> list[tuple[int, int, int, float, float]]:
    """(site, item type, available, distance, eta) in answer order, from every location, without any index."""
    lat, lon = to_wgs84(q["lat"], q["lon"], q["crs"])
    wanted = brute_matching(snap, q.get("item_type"), q.get("category"), q.get("tag"), q.get("attrs", []))
    locs = snap.locations
    available: dict[tuple[int, int], int] = defaultdict(int)

    def site_of(loc_id: int | None) -> Location | None:
        loc = locs.get(loc_id or 0)
        if loc is None or not loc.active:
            return None
        site = locs[loc.site_id or loc.id]
        ok = site.active and site.lat is not None and site.lon is not None
        ok = ok and (q["include_agreement"] or site.kind != "vendor")
        return site if ok else None

    for b in snap.balances:
        it, site = snap.items[b.item_type_id], site_of(b.location_id)
        expiry = snap.expiry.get(b.lot_id or 0)
        if site and it.id in wanted and it.tracking == "bulk" and (expiry is None or expiry >= TODAY):
            available[(site.id, it.id)] += b.on_hand - b.reserved
    for a in snap.assets:
        site = site_of(a.location_id)
        ready = a.status == "available" and a.readiness != "fault" and (
            a.next_inspection_due is None or a.next_inspection_due >= TODAY)
        if site and a.item_type_id in wanted and ready:
            available[(site.id, a.item_type_id)] += 1
    rows = []
    for (site_id, item_id), qty in available.items():
        site = locs[site_id]
        assert site.lat is not None and site.lon is not None
        d = haversine_km(lat, lon, site.lat, site.lon)
        if qty > 0 and (q["max_km"] is None or d <= q["max_km"]):
            rows.append((eta.eta_minutes(site.kind, site.region_code, d, site.agreement_lead_hours), d, site_id,
                         item_id, qty))
    rows.sort(key=lambda r: r[:4])
    answer, total = [], 0
    for minutes, d, site_id, item_id, qty in rows:
        answer.append((site_id, item_id, qty, d, minutes))
        total += qty
        if total >= q["quantity"] or len(answer) >= q["limit"]:
            break
    return answer


# --------------------------------------------------------------------------- a random province-like world


@dataclass
class World:
    """What the queries draw from: where the sites are."""

    points: list[tuple[float, float]]


async def build_random_world(db: Database, seed: int = 20250701) -> World:
    """~150 sites and bins around 南昌 with random stock, some expired, reserved, faulty, inactive or far away."""
    rng = random.Random(seed)
    items = [
        await _item(db, "BAG", "bulk", "flood", ["fast"]), await _item(db, "WATER", "bulk", "food"),
        await _item(db, "TARP", "bulk", "shelter", ["light"]),
        await _item(db, "P200", "serial", "pump", ["light"], flow_m3h=200, power_kw=15),
        await _item(db, "P300", "serial", "pump", ["fast"], flow_m3h=300, power_kw=22),
        await _item(db, "P500", "serial", "pump", ["fast"], flow_m3h=500, power_kw=45),
        await _item(db, "P1000", "serial", "pump", [], flow_m3h=1000, power_kw=132),
        await _item(db, "GEN30", "serial", "power", ["fast", "smart"], power_kw=30),
    ]
    bulk, serial = items[:3], items[3:]
    sites: list[int] = []
    holders: list[int] = []
    for n in range(120):
        kind = rng.choice(["depot", "reserve_point", "reserve_point", "vendor", "vehicle", "staging"])
        if n % 9 == 0 and sites:  # same place as another site: ties broken by id
            other = await _coords(db, rng.choice(sites))
            lat, lon = other
        elif n == 5:
            lat, lon = None, None  # no coordinates: never a source
        else:
            lat, lon = rng.uniform(28.1, 29.1), rng.uniform(115.4, 116.5)
        lead = rng.choice([None, 2.0, 6.0, 24.0]) if kind == "vendor" else None
        loc = await _location(db, f"S{n}", kind, rng.choice(REGIONS), lat, lon, lead=lead)
        sites.append(loc)
        holders.append(loc)
    for n in range(25):  # bins, some inside bins
        parent = rng.choice(holders)
        holders.append(await _location(db, f"B{n}", "bin", "360121", None, None, parent=parent))
    far = await _location(db, "FAR", "depot", "360123", 24.9, 114.9)  # hundreds of km away
    holders.append(far)
    await _deactivate(db, *rng.sample(holders, 10))
    stock = Stock()
    lot_id = 1
    for item in bulk:
        lots: list[int | None] = [None]
        for expiry in (TODAY - dt.timedelta(days=1), TODAY, TODAY + dt.timedelta(days=90)):
            lots.append(stock.lot(lot_id, item, expiry))
            lot_id += 1
        for loc in rng.sample(holders, 60):
            for lot in rng.sample(lots, rng.randint(1, 3)):
                on_hand = rng.choice([0, 1, 2, 5, 10, 40, 200])
                stock.balance(loc, item, lot, on_hand, rng.randint(0, on_hand) if rng.random() < 0.3 else 0,
                              rng.choice([0, 0, 7]))
    statuses = ["available"] * 6 + ["reserved", "deployed", "in_transit", "maintenance", "leased_out", "lost"]
    for item in serial:
        units_at: dict[int, int] = defaultdict(int)
        for _ in range(90):
            loc = rng.choice(holders)
            due = rng.choice([None, TODAY - dt.timedelta(days=3), TODAY, TODAY + dt.timedelta(days=30)])
            stock.unit(loc, item, rng.choice(statuses), rng.choice(["ok", "ok", "unknown", "fault"]), due)
            units_at[loc] += 1
        for loc, count in units_at.items():  # the book figure of serial stock must not be counted twice
            stock.balance(loc, item, None, count)
    stock.unit(far, serial[3])  # the only P1000 that is surely ready is far away
    await stock.insert(db)
    async with db.read() as s:
        points = [(lat, lon) for lat, lon in await s.execute(select(Location.lat, Location.lon).where(
            Location.lat.is_not(None), Location.lon.is_not(None)).order_by(Location.id))]
    return World(points)


async def _coords(db: Database, loc_id: int) -> tuple[float | None, float | None]:
    async with db.read() as s:
        loc = await s.get(Location, loc_id)
        assert loc is not None
        return loc.lat, loc.lon


_FILTERS = st.one_of(
    st.builds(lambda i: {"item_type": i}, st.sampled_from(["BAG", "WATER", "P300", "P1000", "GEN30", "1", "4"])),
    st.builds(lambda c: {"category": c}, st.sampled_from(["pump", "flood", "food", "power", "none"])),
    st.builds(lambda t: {"tag": t}, st.sampled_from(["fast", "light", "smart", "small"])),
    st.builds(lambda f: {"category": "pump", "attrs": [f"flow_m3h>={f}"]}, st.sampled_from([100, 300, 500, 1000])),
    st.builds(lambda p: {"attrs": [f"power_kw>={p}", "flow_m3h<1000"]}, st.sampled_from([10, 30])),
)
_NEAR = st.tuples(st.just("near"), st.integers(0, 10**6), st.floats(-0.02, 0.02), st.floats(-0.02, 0.02))
_ORIGINS = st.one_of(
    _NEAR, _NEAR,  # close to a site: the search often stops early, where a mistake would show
    st.tuples(st.just("anywhere"), st.floats(27.9, 29.3), st.floats(115.2, 116.7)),
    st.just(("far",)),  # far from almost everything: the search must widen to the whole province
)
_QUERIES = st.fixed_dictionaries(
    {"origin": _ORIGINS, "crs": st.sampled_from(["wgs84", "gcj02"]),
     "quantity": st.integers(1, 6) | st.integers(1, 400), "limit": st.integers(1, 15),
     "max_km": st.none() | st.floats(3, 200), "include_agreement": st.booleans()},
    optional={"initial_km": st.sampled_from([0.5, 1.0, 3.0])},
).flatmap(lambda q: _FILTERS.map(lambda f: {**q, **f}))


@pytest.fixture
async def random_world(db: Database) -> tuple[World, Snapshot]:
    """The random world, built once per test, and its snapshot for the brute force."""
    world = await build_random_world(db)
    return world, await snapshot(db)


async def _check_against_brute_force(db: Database, snap: Snapshot, q: dict[str, Any], eta: EtaConfig) -> None:
    async def ask() -> Any:
        async with db.reader() as reader:  # as the API reads (on SQLite: its own connection, no session)
            return await nearest_available(
                reader, lat=q["lat"], lon=q["lon"], crs=q["crs"], item_type=q.get("item_type"),
                category=q.get("category"), tag=q.get("tag"), attrs=q.get("attrs", []), quantity=q["quantity"],
                limit=q["limit"], max_km=q["max_km"], include_agreement=q["include_agreement"], eta=eta, today=TODAY)

    if q.get("category") and q["category"] not in {it.category for it in snap.items.values()}:
        with pytest.raises(InvalidInput) as refused:  # a category no item type has: refused, not "none available"
            await ask()
        assert refused.value.field == "category"
        return
    expected = brute_nearest(snap, q, eta)
    got = await ask()
    assert [(x.location.id, x.item_type.id, x.available) for x in got.sources] == [e[:3] for e in expected]
    assert [x.distance_km for x in got.sources] == [round(e[3], 3) for e in expected]
    assert [x.eta_minutes for x in got.sources] == [round(e[4], 1) for e in expected]
    running = 0
    for source in got.sources:
        running += source.available
        assert source.cumulative == running
    assert got.fulfilled == (running >= q["quantity"])
    assert got.shortfall == max(0, q["quantity"] - running)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=_QUERIES)
async def test_nearest_lists_the_same_sources_in_the_same_order_as_brute_force_haversine(
    db: Database, random_world: tuple[World, Snapshot], q: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, snap = random_world
    # Smaller first rounds make every step of the search happen in a small world.
    first_km = q.pop("initial_km", 8.0)
    monkeypatch.setattr(availability_search, "INITIAL_RADIUS_KM", first_km)
    origin = q.pop("origin")
    if origin[0] == "far":
        q["lat"], q["lon"] = 25.3, 115.1
    elif origin[0] == "near":
        lat, lon = world.points[origin[1] % len(world.points)]
        q["lat"], q["lon"], q["crs"] = lat + origin[2], lon + origin[3], "wgs84"
    else:
        q["lat"], q["lon"] = origin[1], origin[2]
    for eta in ETAS.values():  # each way of estimating arrival orders the sources differently
        await _check_against_brute_force(db, snap, q, eta)


# --------------------------------------------------------------------------- what counts, by example


@dataclass
class Small:
    """A hand-made world in 南昌县: depot with a bin, a reserve point, a vendor, a pump type and bags."""

    depot: int
    bin: int
    point: int
    vendor: int
    bag: int
    pump: int


async def small_world(db: Database) -> tuple[Small, Stock]:
    """Places a few km apart around (28.55, 115.94); the caller adds stock."""
    depot = await _location(db, "D", "depot", "360121", 28.56, 115.94)
    shelf = await _location(db, "D-A", "bin", "360121", None, None, parent=depot)
    point = await _location(db, "RP", "reserve_point", "360121100000", 28.60, 115.90)
    vendor = await _location(db, "V", "vendor", "360124", 28.55, 115.95, lead=6.0)
    bag = await _item(db, "BAG", "bulk", "flood")
    pump = await _item(db, "PUMP", "serial", "pump", flow_m3h=400)
    return Small(depot, shelf, point, vendor, bag, pump), Stock()


async def _nearest(db: Database, **kw: Any) -> Any:
    kw.setdefault("lat", 28.55)
    kw.setdefault("lon", 115.94)
    async with db.read() as s:
        return await nearest_available(s, today=TODAY, **kw)


async def test_bins_roll_up_to_their_site_and_expired_reserved_or_in_transit_stock_does_not_count(
    db: Database,
) -> None:
    w, stock = await small_world(db)
    stock.balance(w.depot, w.bag, stock.lot(1, w.bag, TODAY + dt.timedelta(days=30)), 10, reserved=3, in_transit=50)
    stock.balance(w.bin, w.bag, None, 5)
    stock.balance(w.bin, w.bag, stock.lot(2, w.bag, TODAY - dt.timedelta(days=1)), 100)  # expired yesterday
    stock.balance(w.point, w.bag, stock.lot(3, w.bag, TODAY), 4)  # expires today: still good today
    await stock.insert(db)
    got = await _nearest(db, item_type="BAG", quantity=1000)
    assert [(x.location.id, x.available, x.cumulative) for x in got.sources] == [(w.depot, 12, 12), (w.point, 4, 16)]
    assert got.sources[0].location.kind == "depot"
    assert got.sources[0].item_type.code == "BAG"
    assert (got.fulfilled, got.shortfall) == (False, 984)


async def test_only_ready_serial_units_count(db: Database) -> None:
    w, stock = await small_world(db)
    stock.unit(w.depot, w.pump)  # ready
    stock.unit(w.bin, w.pump, readiness="unknown", due=TODAY)  # not inspected lately, but not overdue
    stock.unit(w.depot, w.pump, readiness="fault")
    stock.unit(w.depot, w.pump, due=TODAY - dt.timedelta(days=1))  # inspection overdue
    for status in ("reserved", "deployed", "in_transit", "maintenance", "leased_out", "lost", "retired"):
        stock.unit(w.depot, w.pump, status=status)
    stock.balance(w.depot, w.pump, None, 11)  # the book counts every unit; availability must not
    await stock.insert(db)
    got = await _nearest(db, category="pump", attrs=["flow_m3h>=300"], quantity=5)
    assert [(x.location.id, x.available) for x in got.sources] == [(w.depot, 2)]
    assert got.shortfall == 3


async def test_sources_are_ordered_by_eta_and_the_vendor_adds_its_lead_time(db: Database) -> None:
    w, stock = await small_world(db)
    for loc in (w.depot, w.point, w.vendor):
        stock.unit(loc, w.pump)
    await stock.insert(db)
    got = await _nearest(db, item_type=str(w.pump), quantity=3)
    assert [x.location.id for x in got.sources] == [w.depot, w.point, w.vendor]
    vendor = got.sources[2]
    assert vendor.agreement_lead_minutes == 360.0
    assert vendor.eta_minutes == pytest.approx(60 + 360 + vendor.distance_km * 1.4 / 40 * 60, abs=0.1)
    assert vendor.location.agreement_lead_hours == 6.0
    assert [x.cumulative for x in got.sources] == [1, 2, 3]
    assert got.fulfilled
    without = await _nearest(db, item_type="PUMP", quantity=3, include_agreement=False)
    assert [x.location.id for x in without.sources] == [w.depot, w.point]


async def test_the_list_stops_at_the_quantity_or_the_limit_and_max_km_leaves_far_sites_out(db: Database) -> None:
    w, stock = await small_world(db)
    for loc in (w.depot, w.point, w.vendor):
        stock.balance(loc, w.bag, None, 10)
    await stock.insert(db)
    assert len((await _nearest(db, item_type="BAG", quantity=10)).sources) == 1
    assert len((await _nearest(db, item_type="BAG", quantity=11)).sources) == 2
    limited = await _nearest(db, item_type="BAG", quantity=100, limit=2)
    assert (len(limited.sources), limited.fulfilled, limited.shortfall) == (2, False, 80)
    near = await _nearest(db, item_type="BAG", quantity=100, max_km=3)
    assert {x.location.id for x in near.sources} == {w.depot, w.vendor}
    assert all(x.distance_km <= 3 for x in near.sources)


async def test_inactive_places_never_count(db: Database) -> None:
    w, stock = await small_world(db)
    stock.balance(w.bin, w.bag, None, 5)
    stock.balance(w.point, w.bag, None, 5)
    stock.balance(w.vendor, w.bag, None, 5)
    await stock.insert(db)
    assert len((await _nearest(db, item_type="BAG", quantity=99)).sources) == 3
    await _deactivate(db, w.bin, w.point, w.vendor)
    assert (await _nearest(db, item_type="BAG")).sources == []


async def test_an_origin_in_gcj02_is_converted_to_wgs84(db: Database) -> None:
    w, stock = await small_world(db)
    stock.balance(w.depot, w.bag, None, 5)
    await stock.insert(db)
    got = await _nearest(db, lat=28.5527, lon=115.9454, crs="gcj02", item_type="BAG")
    assert got.origin.crs == "gcj02"
    assert (got.origin.input_lat, got.origin.input_lon) == (28.5527, 115.9454)
    assert haversine_km(got.origin.lat, got.origin.lon, 28.5527, 115.9454) > 0.3  # GCJ-02 shift near 南昌
    assert got.sources[0].location.id == w.depot


async def test_a_rare_item_far_away_is_still_found(db: Database) -> None:
    w, stock = await small_world(db)
    far = await _location(db, "GZ", "depot", "360702", 25.85, 114.93)  # 赣州, ~300 km south
    stock.unit(far, w.pump)
    await stock.insert(db)
    got = await _nearest(db, item_type="PUMP")
    assert [x.location.id for x in got.sources] == [far]
    assert 250 < got.sources[0].distance_km < 350
    assert (await _nearest(db, item_type="PUMP", max_km=200)).sources == []


async def test_nothing_matching_answers_an_empty_list_with_the_whole_quantity_short(db: Database) -> None:
    await small_world(db)
    for nothing in ({"category": "pump", "attrs": ["flow_m3h>=1000"]}, {"tag": "smart"},
                    {"category": "flood", "attrs": ["flow_m3h>=1"]}):
        got = await _nearest(db, quantity=4, **nothing)
        assert (got.sources, got.item_types, got.fulfilled, got.shortfall) == ([], [], False, 4), nothing


@pytest.mark.parametrize(("kw", "unknown"), [
    ({"category": "boat"}, {"category": "boat"}),
    ({"category": "pump", "attrs": ["flow_m3h>=300", "flwo_m3h>=300"]}, {"attr": "flwo_m3h"}),
    ({"item_type": "PUMP", "attrs": ["headm>=1"]}, {"attr": "headm"}),
    ({"category": "boat", "attrs": ["weight>1", "weight<9"]}, {"category": "boat", "attr": "weight"}),
])
async def test_a_category_or_attribute_no_item_type_has_is_refused_naming_it_with_the_known_ones(
    db: Database, kw: dict[str, Any], unknown: dict[str, str],
) -> None:
    await small_world(db)
    with pytest.raises(InvalidInput) as refused:
        async with db.reader() as reader:
            await nearest_available(reader, lat=28.55, lon=115.94, today=TODAY, **kw)
    errors = refused.value.extra["errors"]
    assert [(e["field"], f"“{unknown[e['field']]}”" in e["message"]) for e in errors] == [
        (f, True) for f in unknown], errors
    assert refused.value.field == errors[0]["field"]
    if "category" in unknown:
        assert "可选：flood（防汛物资）、pump（排涝泵）。" in errors[0]["message"]
    if "attr" in unknown:
        assert "flow_m3h（流量）" in errors[-1]["message"]
    with pytest.raises(InvalidInput):
        async with db.read() as s:
            await availability_summary(s, region="3601", today=TODAY, **kw)


@pytest.mark.parametrize(("kw", "field"), [
    ({}, "item_type"), ({"item_type": "NO-SUCH"}, "item_type"), ({"attrs": ["flow_m3h>>1"]}, "attr"),
    ({"category": "pump", "lat": 95.0}, "lat"), ({"category": "pump", "lon": float("nan")}, "lon"),
    ({"category": "pump", "quantity": 0}, "quantity"), ({"category": "pump", "limit": 0}, "limit"),
    ({"category": "pump", "max_km": -1.0}, "max_km"), ({"category": "pump", "crs": "utm"}, "crs"),
])
async def test_bad_requests_are_refused_naming_the_field(db: Database, kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await _nearest(db, **kw)
    assert err.value.field == field


async def test_summary_totals_every_child_region_with_the_citys_own_depot_apart(db: Database) -> None:
    w, stock = await small_world(db)
    city = await _location(db, "CITY", "depot", "3601", 28.68, 115.89)
    stock.balance(w.depot, w.bag, stock.lot(1, w.bag, TODAY - dt.timedelta(days=1)), 10, reserved=2)  # expired
    stock.balance(w.bin, w.bag, None, 20, reserved=5, in_transit=3)
    stock.balance(w.point, w.bag, None, 7)
    stock.balance(w.vendor, w.bag, None, 100)
    stock.balance(city, w.bag, None, 50)
    await stock.insert(db)
    async with db.read() as s:
        summary = await availability_summary(s, region="3601", item_type="BAG", today=TODAY)
        no_vendor = await availability_summary(s, region="3601", category="flood", include_agreement=False,
                                               today=TODAY)
    rows = {r.region_code: r for r in summary.regions}
    assert "360102" in rows
    assert (rows["360102"].on_hand, rows["360102"].sites) == (0, 0)
    ncx = rows["360121"]
    assert (ncx.on_hand, ncx.reserved, ncx.available, ncx.in_transit, ncx.sites) == (37, 7, 22, 3, 2)
    assert (rows["360124"].available, rows["360124"].sites) == (100, 1)
    assert (summary.own.region_code, summary.own.available) == ("3601", 50)
    assert (summary.total.on_hand, summary.total.available, summary.total.sites) == (187, 172, 4)
    assert {r.region_code: r.available for r in no_vendor.regions}["360124"] == 0
    assert no_vendor.total.available == 72


async def test_summary_counts_ready_serial_units_as_available_and_the_book_as_on_hand(db: Database) -> None:
    w, stock = await small_world(db)
    stock.unit(w.depot, w.pump)
    stock.unit(w.depot, w.pump, readiness="fault")
    stock.balance(w.depot, w.pump, None, 2)
    await stock.insert(db)
    async with db.read() as s:
        summary = await availability_summary(s, region="360121", category="pump", today=TODAY)
    assert (summary.total.on_hand, summary.total.available) == (2, 1)
    assert summary.own.available == 1  # the county depot is coded to the county itself
    assert sum(r.available for r in summary.regions) == 0
    with pytest.raises(InvalidInput) as err:
        async with db.read() as s:
            await availability_summary(s, region="9999", category="pump")
    assert err.value.field == "region"


# --------------------------------------------------------------------------- the page's lists


async def test_the_forms_lists_are_what_the_catalogue_holds(db: Database) -> None:
    await _item(db, "PUMP-A", "serial", "pump", ["fast"], flow_m3h=300.0)
    await _item(db, "PUMP-B", "serial", "pump", ["fast", "light"], flow_m3h=50.0, stages=2.0)
    async with db.write() as s:
        await create_item_type(s, ItemTypeCreate(code="GEN", name="柴油发电机", unit="台", tracking="serial",
                                                 category="generator", attributes={"fuel": "diesel", "power_kw": 30}))
        await create_item_type(s, ItemTypeCreate(code="GEN-P", name="汽油发电机", unit="台", tracking="serial",
                                                 category="generator", attributes={"fuel": "gasoline"}))
    await _item(db, "TENT", "bulk", "shelter_x")
    async with db.read() as s:
        got = await catalogue_choices(s)
    assert [(c.value, c.label) for c in got.categories] == [
        ("generator", "发电机（generator）"), ("pump", "排涝泵（pump）"), ("shelter_x", "shelter_x")]
    assert [(t.value, t.label) for t in got.tags] == [("fast", "快（fast）"), ("light", "轻（light）")]
    assert [(a.name, a.label, a.unit, a.numeric, a.values) for a in got.attributes] == [
        ("flow_m3h", "流量", "m³/h", True, ()), ("fuel", "燃料", None, False, ("diesel", "gasoline")),
        ("power_kw", "功率", "kW", True, ()), ("stages", "stages", None, True, ())]
    assert [(i.code, i.category) for i in got.item_types] == [
        ("GEN", "generator"), ("GEN-P", "generator"), ("PUMP-A", "pump"), ("PUMP-B", "pump"), ("TENT", "shelter_x")]


async def test_a_township_starts_from_its_county_centre_or_the_citys_where_the_county_has_none(db: Database) -> None:
    async with db.read() as s:
        towns = await townships(s, "3601")
        assert await townships(s, "3699") == []
    assert len(towns) == 139
    lt = next(t for t in towns if t.name == "莲塘镇")
    lat, lon = to_wgs84(28.558296, 115.933742, "gcj02")  # 南昌县's published centre (GCJ-02)
    assert (lt.code, lt.county_code, lt.county_name, lt.centre_of) == ("360121100000", "360121", "南昌县", "南昌县")
    assert (lt.lat, lt.lon) == (round(lat, 6), round(lon, 6))
    # 红谷滩区 (360113) has no published centre: its townships start from 南昌市's.
    hgt = [t for t in towns if t.county_code == "360113"]
    city = region_centres()["3601"]
    assert hgt and all((t.centre_of, t.lat, t.lon) == ("南昌市", round(city[0], 6), round(city[1], 6)) for t in hgt)
    assert [t.county_code for t in towns] == sorted(t.county_code for t in towns)
