"""Coordinates in China: WGS-84 / GCJ-02 / BD-09 conversion, distances and point validation.

GCJ-02 ("Mars coordinates") is the obfuscated datum required for maps published in mainland
China (Amap/Gaode, Tencent); BD-09 is Baidu's further offset of GCJ-02. GPS devices and most
open data use WGS-84. All longitudes/latitudes are in decimal degrees.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from inventory.errors import InvalidInput

__all__ = [
    "EARTH_RADIUS_KM",
    "Crs",
    "bbox_around",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "haversine_km",
    "to_wgs84",
    "validate_point",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

Crs = Literal["wgs84", "gcj02", "bd09"]

EARTH_RADIUS_KM: Final = 6371.0088
"""Mean earth radius (IUGG R1) used for great-circle distances."""

# GCJ-02 constants (Krasovsky 1940 ellipsoid as used by the published algorithm).
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323
_X_PI: Final = math.pi * 3000.0 / 180.0

# Inverse iteration: stop when the correction is below ~1e-7 m.
_INVERSE_TOLERANCE_DEG: Final = 1e-12
_INVERSE_MAX_ITERATIONS: Final = 30

# Rough bounding boxes (decimal degrees).
_CHINA_LAT: Final = (3.8, 53.6)
_CHINA_LON: Final = (73.5, 135.1)
_JIANGXI_LAT: Final = (24.4, 30.1)
_JIANGXI_LON: Final = (113.5, 118.5)
_JIANGXI_PREFIX: Final = "36"


# --------------------------------------------------------------------------- GCJ-02


def _out_of_china(lon: float, lat: float) -> bool:
    """Tell whether a point lies outside the rough box where GCJ-02 applies."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    """Latitude polynomial of the published GCJ-02 algorithm."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    """Longitude polynomial of the published GCJ-02 algorithm."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_forward(lon: float, lat: float) -> tuple[float, float]:
    """Apply the GCJ-02 offset unconditionally (no out-of-China check)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = math.sin(radlat)
    magic = 1.0 - _GCJ_EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert WGS-84 (lon, lat) to GCJ-02 (lon, lat); identity outside China."""
    if _out_of_china(lon, lat):
        return lon, lat
    return _gcj_forward(lon, lat)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert GCJ-02 (lon, lat) to WGS-84 (lon, lat) by iterating the forward transform to convergence."""
    if _out_of_china(lon, lat):
        return lon, lat
    # Start from the one-step approximation, then refine: w <- w - (f(w) - g).
    fwd_lon, fwd_lat = _gcj_forward(lon, lat)
    w_lon, w_lat = lon - (fwd_lon - lon), lat - (fwd_lat - lat)
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fwd_lon, fwd_lat = _gcj_forward(w_lon, w_lat)
        d_lon, d_lat = fwd_lon - lon, fwd_lat - lat
        w_lon, w_lat = w_lon - d_lon, w_lat - d_lat
        if abs(d_lon) < _INVERSE_TOLERANCE_DEG and abs(d_lat) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


# --------------------------------------------------------------------------- BD-09


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert GCJ-02 (lon, lat) to Baidu BD-09 (lon, lat)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd09_approx_inverse(lon: float, lat: float) -> tuple[float, float]:
    """The usual closed-form BD-09 → GCJ-02 inverse (accurate to a few decimetres)."""
    x = lon - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert Baidu BD-09 (lon, lat) to GCJ-02 (lon, lat): the usual inverse, refined to exactness."""
    g_lon, g_lat = _bd09_approx_inverse(lon, lat)
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fwd_lon, fwd_lat = gcj02_to_bd09(g_lon, g_lat)
        d_lon, d_lat = fwd_lon - lon, fwd_lat - lat
        g_lon, g_lat = g_lon - d_lon, g_lat - d_lat
        if abs(d_lon) < _INVERSE_TOLERANCE_DEG and abs(d_lat) < _INVERSE_TOLERANCE_DEG:
            break
    return g_lon, g_lat


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert WGS-84 (lon, lat) to BD-09 (lon, lat) via GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert BD-09 (lon, lat) to WGS-84 (lon, lat) via GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lat: float, lon: float, crs: Crs) -> tuple[float, float]:
    """Return (lat, lon) in WGS-84 for a point given as (lat, lon) in ``crs`` — note the lat-first order."""
    if crs == "wgs84":
        return lat, lon
    if crs == "gcj02":
        w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    elif crs == "bd09":
        w_lon, w_lat = bd09_to_wgs84(lon, lat)
    else:
        raise InvalidInput(f"坐标系 {crs!r} 不受支持，应为 wgs84、gcj02 或 bd09。", field="crs")
    return w_lat, w_lon


# --------------------------------------------------------------------------- distances


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two (lat, lon) points on a sphere of mean radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2.0) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bbox_around(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """Return (min_lat, max_lat, min_lon, max_lon) surely containing every point within ``km`` km."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InvalidInput("中心点坐标必须是有限数值。Centre must be finite.", field="lat")
    if not math.isfinite(km) or km < 0:
        raise InvalidInput(f"半径必须是非负的有限数值（公里），收到 {km!r}。", field="km")
    # A tiny margin absorbs floating-point error at the edge of the circle.
    angular = km / EARTH_RADIUS_KM * (1.0 + 1e-9) + 1e-12
    dlat = math.degrees(angular)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0 or angular >= math.pi / 2.0:
        # A pole is (or may be) inside the circle: every longitude is reachable.
        return max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0
    # Largest longitude offset reached on the circle (tangent meridians).
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return min_lat, max_lat, -180.0, 180.0
    dlon = math.degrees(math.asin(ratio)) * (1.0 + 1e-9) + 1e-12
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180.0 or max_lon > 180.0:
        # Crosses the antimeridian; a single SQL range cannot express the wrap, so take all longitudes.
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, min_lon, max_lon


# --------------------------------------------------------------------------- validation


def _in_box(lat: float, lon: float, lat_range: tuple[float, float], lon_range: tuple[float, float]) -> bool:
    """Tell whether (lat, lon) lies inside a closed lat/lon box."""
    return lat_range[0] <= lat <= lat_range[1] and lon_range[0] <= lon <= lon_range[1]


def _swapped_detail(lat: float, lon: float, lat_field: str, lon_field: str) -> str:
    """Compose the Chinese message for coordinates whose latitude and longitude look swapped."""
    return (
        f"纬度和经度似乎填反了：{lat_field}={lat:g}、{lon_field}={lon:g}，"
        f"应为 {lat_field}={lon:g}、{lon_field}={lat:g}（中国境内纬度约 4–54，经度约 73–135）。"
        "Latitude and longitude look swapped."
    )


def validate_point(
    lat: float,
    lon: float,
    *,
    region_code: str | None,
    lat_field: str = "lat",
    lon_field: str = "lon",
    check_swapped: bool = False,
) -> None:
    """Raise InvalidInput unless (lat, lon) is plausible (and inside China/Jiangxi when a region is given).

    ``check_swapped``: without a region too, refuse a point that lies in China only with latitude and
    longitude swapped (a point asked about, such as an incident, rather than stored).
    """
    for value, field, name in ((lat, lat_field, "纬度"), (lon, lon_field, "经度")):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{name}必须是数值，收到 {value!r}。", field=field)
        if not math.isfinite(value):
            raise InvalidInput(f"{name}必须是有限数值，收到 {value!r}（NaN 或无穷大）。", field=field)

    has_region = bool(region_code)
    # Swapped coordinates often also break the ±90 latitude range, so detect them first.
    if (
        (has_region or check_swapped)
        and not _in_box(lat, lon, _CHINA_LAT, _CHINA_LON)
        and _in_box(lon, lat, _CHINA_LAT, _CHINA_LON)
    ):
        raise InvalidInput(_swapped_detail(lat, lon, lat_field, lon_field), field=lat_field)

    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(
            f"纬度 {lat:g} 超出范围，应在 -90 到 90 之间。Latitude out of range.", field=lat_field
        )
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(
            f"经度 {lon:g} 超出范围，应在 -180 到 180 之间。Longitude out of range.", field=lon_field
        )
    if lat == 0.0 and lon == 0.0:
        raise InvalidInput(
            "坐标为 (0, 0)，多半是未填写或定位失败，请填写实际位置。Coordinates (0, 0) look unset.",
            field=lat_field,
        )
    if not has_region:
        return

    if not _in_box(lat, lon, _CHINA_LAT, _CHINA_LON):
        raise InvalidInput(
            f"坐标（纬度 {lat:g}，经度 {lon:g}）不在中国境内（纬度 3.8–53.6，经度 73.5–135.1），"
            f"与行政区划代码 {region_code} 不符。Point is outside China.",
            field=lat_field,
        )
    if region_code is not None and region_code.startswith(_JIANGXI_PREFIX):
        if _in_box(lat, lon, _JIANGXI_LAT, _JIANGXI_LON):
            return
        if _in_box(lon, lat, _JIANGXI_LAT, _JIANGXI_LON):
            raise InvalidInput(_swapped_detail(lat, lon, lat_field, lon_field), field=lat_field)
        raise InvalidInput(
            f"坐标（纬度 {lat:g}，经度 {lon:g}）不在江西省范围内（纬度 24.4–30.1，经度 113.5–118.5），"
            f"与行政区划代码 {region_code} 不符。Point is outside Jiangxi.",
            field=lat_field,
        )
