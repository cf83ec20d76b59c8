"""The default travel-time estimate: straight-line distance × road factor ÷ speed + mobilisation, for whole matrices.

The same estimate as ``nearest`` (``inventory/availability/eta.py``) with its defaults (road factor 1.4,
40 km/h), and the same great-circle distance as ``inventory/places/geo.py:haversine_km`` — repeated here
with numpy because ``inventory.placement`` sits below those packages (tests compare them).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from inventory.errors import InvalidInput
from inventory.placement.problem import FloatArray

__all__ = ["DEFAULT_MINUTES_PER_KM", "EARTH_RADIUS_KM", "estimate_minutes", "haversine_km_matrix",
           "site_to_site_minutes"]

EARTH_RADIUS_KM: Final = 6371.0088
"""Mean earth radius (IUGG R1), as ``inventory.places.geo.EARTH_RADIUS_KM``."""

_ROAD_FACTOR: Final = 1.4
_SPEED_KMH: Final = 40.0
DEFAULT_MINUTES_PER_KM: Final = _ROAD_FACTOR / _SPEED_KMH * 60.0
"""Travel minutes per straight-line kilometre by default: road factor 1.4 ÷ 40 km/h × 60 (= 2.1)."""


def haversine_km_matrix(lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike,
                        lon2: npt.ArrayLike) -> FloatArray:
    """Great-circle kilometres from every (lat1, lon1) (rows) to every (lat2, lon2) (columns)."""
    a_lat, a_lon = _coordinates(lat1, lon1, "起点 origins")
    b_lat, b_lon = _coordinates(lat2, lon2, "终点 destinations")
    phi1 = np.radians(a_lat)[:, None]
    phi2 = np.radians(b_lat)[None, :]
    dphi = phi2 - phi1
    dlmb = np.radians(b_lon[None, :] - a_lon[:, None])
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2.0) ** 2
    km: FloatArray = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return km


def estimate_minutes(site_lat: npt.ArrayLike, site_lon: npt.ArrayLike, point_lat: npt.ArrayLike,
                     point_lon: npt.ArrayLike, *, minutes_per_km: npt.ArrayLike = DEFAULT_MINUTES_PER_KM,
                     mobilisation: npt.ArrayLike = 0.0) -> FloatArray:
    """Minutes from every site (rows) to every point (columns): mobilisation + km × minutes per km.

    ``minutes_per_km`` and ``mobilisation`` are one number for all sites or one per site.
    """
    km = haversine_km_matrix(site_lat, site_lon, point_lat, point_lon)
    per_km = _per_site(minutes_per_km, km.shape[0], "minutes_per_km", "每公里分钟数")
    ready = _per_site(mobilisation, km.shape[0], "mobilisation", "出动准备时间")
    minutes: FloatArray = ready[:, None] + km * per_km[:, None]
    return minutes


def site_to_site_minutes(site_lat: npt.ArrayLike, site_lon: npt.ArrayLike, *,
                         minutes_per_km: npt.ArrayLike = DEFAULT_MINUTES_PER_KM,
                         mobilisation: npt.ArrayLike = 0.0) -> FloatArray:
    """Minutes to move a load from every site (rows) to every site (columns); the from-site's figures apply.

    The diagonal is 0: stock that stays where it is does not travel.
    """
    minutes = estimate_minutes(site_lat, site_lon, site_lat, site_lon, minutes_per_km=minutes_per_km,
                               mobilisation=mobilisation)
    np.fill_diagonal(minutes, 0.0)
    return minutes


def _coordinates(lat: npt.ArrayLike, lon: npt.ArrayLike, what: str) -> tuple[FloatArray, FloatArray]:
    """Latitudes and longitudes as 1-D float arrays of one length, finite and in range."""
    lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if lat_a.ndim != 1 or lat_a.shape != lon_a.shape:
        raise InvalidInput(f"{what} 的纬度与经度个数不一致 (latitudes and longitudes differ in length).", field="lat")
    if not (np.all(np.isfinite(lat_a)) and np.all(np.abs(lat_a) <= 90.0)):
        raise InvalidInput(f"{what} 的纬度应为 -90 到 90 之间的数 (latitude must be within -90..90).", field="lat")
    if not (np.all(np.isfinite(lon_a)) and np.all(np.abs(lon_a) <= 180.0)):
        raise InvalidInput(f"{what} 的经度应为 -180 到 180 之间的数 (longitude must be within -180..180).",
                           field="lon")
    return lat_a, lon_a


def _per_site(value: npt.ArrayLike, n_sites: int, field: str, zh: str) -> FloatArray:
    """One non-negative finite number per site, from a scalar or a per-site sequence."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_sites, float(arr))
    if arr.shape != (n_sites,):
        raise InvalidInput(f"{zh}应为一个数或每个站点一个数（{n_sites} 个），收到 {arr.size} 个 "
                           f"({field}: one number, or one per site).", field=field)
    if not (np.all(np.isfinite(arr)) and np.all(arr >= 0.0)):
        raise InvalidInput(f"{zh}应为非负有限数 ({field} must be finite and ≥ 0).", field=field)
    return arr
