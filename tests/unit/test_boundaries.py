"""The county boundaries shipped as package data (inventory.places.boundaries): complete, and where they should be.

Every county centre of ``jiangxi-centres-gcj02.csv`` (GCJ-02, converted to WGS-84 here) must fall inside its own
county polygon: the check ``docs/data/convert_boundaries.py`` runs with shapely, ported to the loader's own
point-in-polygon (shapely is not a dependency). Seven rows carry codes from before a reform; they are checked
against the county that now holds the place.
"""

from __future__ import annotations

import csv
import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from inventory.places.boundaries import boundary_at, cities, counties, geojson_bytes, point_in_rings
from inventory.places.geo import gcj02_to_wgs84

ROOT = Path(__file__).resolve().parents[2]
DATA = resources.files("inventory.places") / "data"
SUCCESSORS = {
    "360105": "360112",  # 湾里区, abolished 2019, its area joined 新建区
    "360421": "360404",  # 九江县 -> 柴桑区 (2017)
    "360622": "360603",  # 余江县 -> 余江区 (2018)
    "360721": "360704",  # 赣县 -> 赣县区 (2016)
    "360727": "360783",  # 龙南县 -> 龙南市 (2020)
    "361029": "361003",  # 东乡县 -> 东乡区 (2016)
    "361121": "361104",  # 上饶县 -> 广信区 (2019)
}


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_100_counties_and_11_cities_match_the_division_tables() -> None:
    areas = {r["code"]: r["name"] for r in _rows("jiangxi-areas.csv")}
    assert {c.adcode: c.name for c in counties()} == areas
    assert len(counties()) == 100
    city_rows = {r["code"]: r["name"] for r in _rows("jiangxi-cities.csv")}
    assert {c.adcode[:4]: c.name for c in cities()} == city_rows
    assert all(c.parent_adcode == c.adcode[:4] + "00" for c in counties())
    assert [c.adcode for c in counties()] == sorted(c.adcode for c in counties())


def test_every_county_centre_converted_to_wgs84_falls_inside_its_own_county() -> None:
    by_code = {c.adcode: c for c in counties()}
    city_by_code = {c.adcode: c for c in cities()}
    checked, misses = 0, []
    for row in _rows("jiangxi-centres-gcj02.csv"):
        code = row["adcode"][:6]
        lon, lat = gcj02_to_wgs84(float(row["longitude"]), float(row["latitude"]))
        shape = by_code.get(SUCCESSORS.get(code, code)) or city_by_code.get(code)
        if shape is None:
            continue  # the province row
        checked += 1
        if not shape.contains(lon, lat):
            misses.append((code, row["name"], round(lon, 4), round(lat, 4)))
        else:
            assert boundary_at(lon, lat, "city" if code in city_by_code else "county") is shape
    assert checked == 93 + 7 + 11
    assert misses == []


def test_point_in_polygon_follows_the_even_odd_rule_with_holes() -> None:
    square = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0))
    hole = ((4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0), (4.0, 4.0))
    assert point_in_rings(1, 1, (square, hole))
    assert not point_in_rings(5, 5, (square, hole))
    assert not point_in_rings(11, 5, (square, hole))
    assert boundary_at(116.0, 39.9) is None, "Beijing is not in 江西"


@pytest.mark.parametrize(("region", "expected"), [("", 100), ("3601", 9), ("360121", 1)])
def test_the_geojson_served_is_the_region_s_counties(region: str, expected: int) -> None:
    plain = geojson_bytes("county", region)
    data = json.loads(plain)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == expected
    assert all(f["properties"]["adcode"].startswith(region) for f in data["features"])


def test_the_package_ships_the_boundaries_and_the_vendored_leaflet() -> None:
    """pyproject's package-data globs cover every file the service reads (nested static folders too)."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]

    def shipped(package: str, path: Path) -> bool:
        base = ROOT / package.replace(".", "/")
        return any(path in set(base.glob(pattern)) for pattern in package_data[package])

    for name in ("jiangxi-counties.geojson", "jiangxi-cities.geojson", "SOURCE.md"):
        assert shipped("inventory.places", ROOT / "inventory/places/data" / name), name
    static = [p for p in (ROOT / "api/static").rglob("*") if p.is_file()]
    assert any("vendor/leaflet/images" in str(p) for p in static)
    assert [p for p in static if not shipped("api", p)] == []
