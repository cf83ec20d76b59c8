"""Unit tests for inventory.places.geo: datum conversion, distances, bounding boxes and point validation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.errors import InvalidInput
from inventory.places.geo import (
    bbox_around,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_km,
    to_wgs84,
    validate_point,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

NANCHANG = (28.68, 115.86)  # (lat, lon)
JIUJIANG = (29.71, 116.00)

china_lat = st.floats(min_value=3.8, max_value=53.6, allow_nan=False, allow_infinity=False)
china_lon = st.floats(min_value=73.5, max_value=135.1, allow_nan=False, allow_infinity=False)


# --------------------------------------------------------------------------- conversions


def test_amap_published_example_converts_wgs84_to_gcj02_within_1e5_degrees() -> None:
    lon, lat = wgs84_to_gcj02(116.481499, 39.990475)
    assert lon == pytest.approx(116.487586, abs=1e-5)
    assert lat == pytest.approx(39.991754, abs=1e-5)


def test_gcj02_offset_in_china_is_a_few_hundred_metres() -> None:
    lon, lat = wgs84_to_gcj02(NANCHANG[1], NANCHANG[0])
    shift_m = haversine_km(NANCHANG[0], NANCHANG[1], lat, lon) * 1000
    assert 50 < shift_m < 1000


def test_gcj02_equals_wgs84_outside_china() -> None:
    assert wgs84_to_gcj02(2.3522, 48.8566) == (2.3522, 48.8566)  # Paris
    assert gcj02_to_wgs84(-74.006, 40.7128) == (-74.006, 40.7128)  # New York


@settings(max_examples=300)
@given(lat=china_lat, lon=china_lon)
def test_wgs84_to_gcj02_and_back_round_trips_under_one_metre(lat: float, lon: float) -> None:
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert haversine_km(lat, lon, w_lat, w_lon) * 1000 < 1.0
    assert haversine_km(lat, lon, w_lat, w_lon) * 1000 < 0.01  # the iterative inverse is far better


@settings(max_examples=300)
@given(lat=china_lat, lon=china_lon)
def test_wgs84_to_bd09_and_back_round_trips_under_one_metre(lat: float, lon: float) -> None:
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    w_lon, w_lat = bd09_to_wgs84(b_lon, b_lat)
    assert haversine_km(lat, lon, w_lat, w_lon) * 1000 < 1.0


@settings(max_examples=200)
@given(lat=china_lat, lon=china_lon)
def test_gcj02_to_bd09_and_back_round_trips_under_one_metre(lat: float, lon: float) -> None:
    g_lon, g_lat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert haversine_km(lat, lon, g_lat, g_lon) * 1000 < 1.0


def test_bd09_is_offset_from_gcj02_by_about_0_006_degrees_of_longitude() -> None:
    g_lon, g_lat = wgs84_to_gcj02(116.481499, 39.990475)
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    assert b_lon - g_lon == pytest.approx(0.0065, abs=0.001)
    assert b_lat - g_lat == pytest.approx(0.006, abs=0.001)


def test_to_wgs84_takes_and_returns_lat_first() -> None:
    assert to_wgs84(NANCHANG[0], NANCHANG[1], "wgs84") == NANCHANG
    g_lon, g_lat = wgs84_to_gcj02(NANCHANG[1], NANCHANG[0])
    lat, lon = to_wgs84(g_lat, g_lon, "gcj02")
    assert haversine_km(lat, lon, *NANCHANG) * 1000 < 0.01
    b_lon, b_lat = wgs84_to_bd09(NANCHANG[1], NANCHANG[0])
    lat, lon = to_wgs84(b_lat, b_lon, "bd09")
    assert haversine_km(lat, lon, *NANCHANG) * 1000 < 0.01


def test_to_wgs84_rejects_an_unknown_crs() -> None:
    with pytest.raises(InvalidInput) as exc:
        to_wgs84(28.68, 115.86, "cgcs2000")  # type: ignore[arg-type]
    assert exc.value.field == "crs"


# --------------------------------------------------------------------------- distances


def test_haversine_from_nanchang_to_jiujiang_is_about_115_km() -> None:
    assert haversine_km(*NANCHANG, *JIUJIANG) == pytest.approx(115, abs=2)


def test_haversine_of_a_point_with_itself_is_zero() -> None:
    assert haversine_km(*NANCHANG, *NANCHANG) == 0.0


def test_haversine_of_a_quarter_meridian_is_a_quarter_circumference() -> None:
    assert haversine_km(0, 0, 90, 0) == pytest.approx(math.pi * 6371.0088 / 2)


def _destination(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """Point reached from (lat, lon) after ``km`` along ``bearing_deg`` on the mean sphere."""
    delta = km / 6371.0088
    phi1, lmb1, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * math.sin(phi2)
    )
    lon2 = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lon2


@settings(max_examples=500)
@given(
    lat=st.floats(min_value=-89.0, max_value=89.0),
    lon=st.floats(min_value=-179.9, max_value=179.9),
    km=st.floats(min_value=0.0, max_value=2000.0),
    bearing=st.floats(min_value=0.0, max_value=360.0),
    fraction=st.floats(min_value=0.0, max_value=1.0),
)
def test_bbox_around_contains_every_point_within_the_radius(
    lat: float, lon: float, km: float, bearing: float, fraction: float
) -> None:
    min_lat, max_lat, min_lon, max_lon = bbox_around(lat, lon, km)
    p_lat, p_lon = _destination(lat, lon, bearing, km * fraction)
    assert haversine_km(lat, lon, p_lat, p_lon) <= km * (1 + 1e-9) + 1e-9
    assert min_lat <= p_lat <= max_lat
    assert min_lon <= p_lon <= max_lon


@settings(max_examples=200)
@given(lat=china_lat, lon=china_lon, km=st.floats(min_value=0.0, max_value=300.0))
def test_bbox_around_stays_tight_for_points_in_china(lat: float, lon: float, km: float) -> None:
    min_lat, max_lat, min_lon, max_lon = bbox_around(lat, lon, km)
    assert max_lat - min_lat == pytest.approx(2 * math.degrees(km / 6371.0088), rel=1e-6, abs=1e-9)
    assert max_lon - min_lon < 2 * math.degrees(km / 6371.0088) / math.cos(math.radians(lat)) * 1.1 + 1e-9


def test_bbox_around_near_a_pole_covers_every_longitude() -> None:
    min_lat, max_lat, min_lon, max_lon = bbox_around(89.5, 10.0, 100.0)
    assert (min_lon, max_lon) == (-180.0, 180.0)
    assert max_lat == 90.0
    assert min_lat < 89.5


def test_bbox_around_rejects_a_negative_radius() -> None:
    with pytest.raises(InvalidInput) as exc:
        bbox_around(28.68, 115.86, -1.0)
    assert exc.value.field == "km"


# --------------------------------------------------------------------------- validation


def test_validate_point_accepts_a_real_nanchang_point_with_a_jiangxi_region() -> None:
    validate_point(28.682892, 115.858197, region_code="360102")
    validate_point(*NANCHANG, region_code="3601")
    validate_point(*NANCHANG, region_code=None)


def test_validate_point_accepts_a_point_anywhere_when_no_region_is_given() -> None:
    validate_point(48.8566, 2.3522, region_code=None)
    validate_point(-33.86, 151.21, region_code=None)


def test_validate_point_accepts_a_point_in_beijing_for_a_beijing_region() -> None:
    validate_point(39.9042, 116.4074, region_code="110101")


@pytest.mark.parametrize(
    ("lat", "lon", "field", "fragment"),
    [
        (90.5, 115.0, "lat", "纬度"),
        (-91.0, 0.0, "lat", "纬度"),
        (28.0, 180.5, "lon", "经度"),
        (28.0, -200.0, "lon", "经度"),
    ],
)
def test_validate_point_rejects_out_of_range_coordinates(
    lat: float, lon: float, field: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(lat, lon, region_code=None)
    assert exc.value.field == field
    assert fragment in exc.value.detail
    assert "超出范围" in exc.value.detail


def test_validate_point_uses_the_given_field_names() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(28.0, 181.0, region_code=None, lat_field="site.lat", lon_field="site.lon")
    assert exc.value.field == "site.lon"


@pytest.mark.parametrize("region_code", [None, "360121"])
def test_validate_point_rejects_zero_zero_as_probably_unset(region_code: str | None) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(0.0, 0.0, region_code=region_code)
    assert exc.value.detail.startswith("坐标为 (0, 0)，多半是未填写")


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (math.nan, 115.86, "lat"),
        (28.68, math.nan, "lon"),
        (math.inf, 115.86, "lat"),
        (28.68, -math.inf, "lon"),
    ],
)
def test_validate_point_rejects_nan_and_infinity(lat: float, lon: float, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(lat, lon, region_code="360121")
    assert exc.value.field == field
    assert "有限数值" in exc.value.detail


def test_validate_point_reports_swapped_jiangxi_coordinates() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(115.9, 28.7, region_code="360121")
    assert exc.value.detail.startswith("纬度和经度似乎填反了")
    assert exc.value.field == "lat"


def test_validate_point_reports_swapped_coordinates_for_any_chinese_region() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(87.6, 43.8, region_code="650102")  # Ürümqi, swapped
    assert exc.value.detail.startswith("纬度和经度似乎填反了")


def test_validate_point_rejects_a_beijing_point_for_a_jiangxi_region() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(39.9042, 116.4074, region_code="3601")
    assert "江西省" in exc.value.detail
    assert "3601" in exc.value.detail
    assert "填反" not in exc.value.detail


def test_validate_point_rejects_a_point_outside_china_when_a_region_is_given() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(48.8566, 2.3522, region_code="110101")
    assert "中国境内" in exc.value.detail
    assert "填反" not in exc.value.detail


@settings(max_examples=200)
@given(
    lat=st.floats(min_value=24.4, max_value=30.1),
    lon=st.floats(min_value=113.5, max_value=118.5),
)
def test_validate_point_accepts_every_point_in_the_jiangxi_box(lat: float, lon: float) -> None:
    validate_point(lat, lon, region_code="360121")


@settings(max_examples=200)
@given(
    lat=st.floats(min_value=24.4, max_value=30.1),
    lon=st.floats(min_value=113.5, max_value=118.5),
)
def test_validate_point_flags_every_swapped_jiangxi_point_as_swapped(lat: float, lon: float) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_point(lon, lat, region_code="36")
    assert exc.value.detail.startswith("纬度和经度似乎填反了")
