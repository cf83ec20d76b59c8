"""The optimiser's default travel estimate: the same distance and the same defaults as ``nearest``."""

from __future__ import annotations

import numpy as np
import pytest

from inventory.availability.eta import DEFAULT_MOBILISATION, EtaConfig
from inventory.errors import InvalidInput
from inventory.placement.travel import (
    DEFAULT_MINUTES_PER_KM,
    EARTH_RADIUS_KM,
    estimate_minutes,
    haversine_km_matrix,
    site_to_site_minutes,
)
from inventory.places import geo


def test_the_vectorised_haversine_agrees_with_the_places_one_on_random_points() -> None:
    rng = np.random.default_rng(18)
    lat1, lon1 = rng.uniform(-89, 89, 40), rng.uniform(-180, 180, 40)
    lat2, lon2 = rng.uniform(-89, 89, 60), rng.uniform(-180, 180, 60)
    # and points a few metres to a few kilometres apart, as in one county
    lat2[:20], lon2[:20] = lat1[:20] + rng.normal(0, 0.02, 20), lon1[:20] + rng.normal(0, 0.02, 20)
    km = haversine_km_matrix(lat1, lon1, lat2, lon2)
    assert km.shape == (40, 60)
    for j in range(40):
        for i in range(60):
            expected = geo.haversine_km(lat1[j], lon1[j], lat2[i], lon2[i])
            assert km[j, i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert EARTH_RADIUS_KM == geo.EARTH_RADIUS_KM


def test_a_point_and_itself_and_the_antipode() -> None:
    km = haversine_km_matrix([28.68, 0.0], [115.86, 0.0], [28.68, 0.0], [115.86, 180.0])
    assert km[0, 0] == 0.0
    assert km[1, 1] == pytest.approx(np.pi * EARTH_RADIUS_KM, rel=1e-12)


def test_the_default_minutes_per_km_is_nearests_default() -> None:
    assert EtaConfig().travel_for("").minutes_per_km == DEFAULT_MINUTES_PER_KM
    assert pytest.approx(2.1) == DEFAULT_MINUTES_PER_KM


def test_the_estimate_is_nearests_eta_for_a_site_of_one_kind() -> None:
    sites_lat, sites_lon = [28.68, 28.55, 28.90], [115.86, 116.05, 115.70]
    points_lat, points_lon = [28.70, 28.40], [115.90, 116.20]
    depot = DEFAULT_MOBILISATION["depot"]
    minutes = estimate_minutes(sites_lat, sites_lon, points_lat, points_lon, mobilisation=depot)
    assert minutes.shape == (3, 2)
    eta = EtaConfig()
    for j in range(3):
        for i in range(2):
            km = geo.haversine_km(sites_lat[j], sites_lon[j], points_lat[i], points_lon[i])
            assert minutes[j, i] == pytest.approx(eta.eta_minutes("depot", "360121", km, None), rel=1e-9)


def test_per_site_speed_and_mobilisation_apply_to_their_rows() -> None:
    lat, lon = [28.0, 28.0], [115.0, 115.0]
    minutes = estimate_minutes(lat, lon, [28.1], [115.0], minutes_per_km=[1.0, 3.0], mobilisation=[0.0, 10.0])
    km = geo.haversine_km(28.0, 115.0, 28.1, 115.0)
    assert minutes[:, 0] == pytest.approx([km, 10.0 + 3.0 * km], rel=1e-12)


def test_site_to_site_uses_the_from_sites_mobilisation_and_staying_put_costs_nothing() -> None:
    lat, lon = [28.0, 28.2, 28.4], [115.0, 115.1, 115.3]
    minutes = site_to_site_minutes(lat, lon, mobilisation=[5.0, 0.0, 20.0])
    assert minutes.shape == (3, 3)
    assert list(np.diag(minutes)) == [0.0, 0.0, 0.0]
    km01 = geo.haversine_km(28.0, 115.0, 28.2, 115.1)
    assert minutes[0, 1] == pytest.approx(5.0 + km01 * DEFAULT_MINUTES_PER_KM, rel=1e-12)
    assert minutes[1, 0] == pytest.approx(km01 * DEFAULT_MINUTES_PER_KM, rel=1e-12)
    assert minutes[2, 0] - minutes[0, 2] == pytest.approx(15.0, rel=1e-9)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"minutes_per_km": -1.0}, "minutes_per_km"),
    ({"minutes_per_km": [1.0, 2.0, 3.0]}, "minutes_per_km"),
    ({"mobilisation": float("nan")}, "mobilisation"),
    ({"mobilisation": [1.0]}, "mobilisation"),
])
def test_bad_speeds_or_mobilisation_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        estimate_minutes([28.0, 28.1], [115.0, 115.0], [28.2], [115.0], **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_coordinates_out_of_range_or_mismatched_are_refused() -> None:
    with pytest.raises(InvalidInput, match="纬度"):
        estimate_minutes([91.0], [115.0], [28.0], [115.0])
    with pytest.raises(InvalidInput, match="经度"):
        estimate_minutes([28.0], [115.0], [28.0], [np.nan])
    with pytest.raises(InvalidInput, match="个数不一致"):
        estimate_minutes([28.0, 28.1], [115.0], [28.0], [115.0])
