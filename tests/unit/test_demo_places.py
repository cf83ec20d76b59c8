"""Where the 南昌市 demo puts its reserve points and firms' warehouses, without a database: one point per 镇 and 乡
(and two in 湾里), each inside its county on the shipped boundaries, spread apart, the same every time."""

from __future__ import annotations

from inventory.demo.agreements import AGREEMENT_FIRMS
from inventory.demo.catalog import FOREST_FIRE_POINT, VENDORS
from inventory.demo.loader import CITY, _reserve_points, _vendors, _wgs84_centres, read_centres
from inventory.migrations.seed import read_regions
from inventory.places.boundaries import boundary_at
from inventory.places.centres import centres_gcj02
from inventory.places.geo import haversine_km, to_wgs84
from inventory.places.schemas import LocationCreate
from inventory.store.models import Region

WANLI = {"360112113", "360112114", "360112115", "360112116", "360112405"}  # 太平, 罗亭, 招贤, 梅岭, 洗药湖


def _places() -> tuple[list[Region], list[Region], list[LocationCreate], list[LocationCreate]]:
    regions = [Region(**row) for row in read_regions() if str(row["code"]).startswith(CITY)]
    counties = [r for r in regions if r.level == 3 and r.parent_code == CITY]
    towns = [r for r in regions if r.level == 4 and r.parent_code in {c.code for c in counties}]
    wgs = _wgs84_centres(counties, read_centres())
    points = _reserve_points(counties, towns, wgs)
    return counties, towns, points, _vendors(counties, wgs, VENDORS + AGREEMENT_FIRMS, towns, points)


def test_every_demo_reserve_point_lies_inside_its_county() -> None:
    _, towns, points, vendors = _places()
    parent = {t.code: t.parent_code for t in towns}
    for p in [*points, *vendors]:
        assert p.lat is not None and p.lon is not None
        county = boundary_at(p.lon, p.lat)
        assert county is not None, (p.code, p.name, p.lat, p.lon)
        assert county.adcode == (parent.get(p.region_code) or p.region_code[:6]), (p.code, p.name, county.name)
        assert p.coord_approximate and p.crs == "wgs84"


def test_one_point_per_town_and_township_none_per_street_and_two_in_wanli() -> None:
    _, towns, points, _ = _places()
    wanted = {t.code for t in towns if t.name.endswith(("镇", "乡"))} | {"360112405000"}
    assert {p.region_code for p in points} == wanted
    assert len(points) == len(wanted) + 1  # and 梅岭's forest-fire point
    assert not any(t.name.endswith("街道") for t in towns if t.code in {p.region_code for p in points})
    assert [p.code for p in points if p.region_code == "360112116000"] == ["RP-360112116", FOREST_FIRE_POINT]
    # 湾里's units (新建区 since 2019) near the former 湾里区's centre, and their addresses say 湾里管理局.
    lat, lon = to_wgs84(*centres_gcj02()["360105000000"], "gcj02")
    for p in points:
        assert p.lat is not None and p.lon is not None
        in_wanli = p.region_code[:9] in WANLI
        assert ("新建区（湾里管理局）" in p.address) == in_wanli, p.address
        if in_wanli:
            assert haversine_km(p.lat, p.lon, lat, lon) < 10, p.name


def _spot(p: LocationCreate) -> tuple[float, float]:
    assert p.lat is not None and p.lon is not None
    return p.lat, p.lon


def test_the_points_are_spread_apart_and_the_same_every_time() -> None:
    _, _, points, vendors = _places()
    spots = [_spot(p) for p in [*points, *vendors]]
    assert len(set(spots)) == len(spots)
    for county in ("360121", "360112", "360124"):
        mine = [_spot(p) for p in points if p.region_code.startswith(county)]
        nearest = [min(haversine_km(*a, *b) for b in mine if b != a) for a in mine]
        assert min(nearest) > 2.0, (county, sorted(nearest)[:3])
    assert [(p.code, p.lat, p.lon) for p in _places()[2]] == [(p.code, p.lat, p.lon) for p in points]
