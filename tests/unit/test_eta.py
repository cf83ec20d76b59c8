"""Estimated arrival times: defaults, per-region overrides, their parsing, the lower bound, and source taking."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.availability.eta import (
    DEFAULT_MOBILISATION,
    ENV_OVERRIDES,
    EtaConfig,
    RegionTravel,
    agreement_lead_minutes,
    load_eta_config,
    parse_eta_overrides,
)
from inventory.availability.search import Candidate, take_sources
from inventory.errors import InvalidInput


def test_defaults_are_forty_kmh_with_road_factor_one_point_four_and_mobilisation_per_kind() -> None:
    eta = EtaConfig()
    assert eta.road_factor == 1.4
    assert eta.speed_kmh == 40.0
    assert dict(DEFAULT_MOBILISATION) == {"vehicle": 10, "staging": 15, "reserve_point": 20, "depot": 30,
                                          "vendor": 60, "bin": 30}
    # 20 km straight line → 28 km of road at 40 km/h = 42 minutes, after 30 minutes of loading at a depot.
    assert eta.eta_minutes("depot", "360121", 20.0, None) == pytest.approx(72.0)
    assert eta.eta_minutes("vehicle", "360121", 0.0, None) == pytest.approx(10.0)


def test_an_unknown_kind_gets_the_fallback_mobilisation() -> None:
    assert EtaConfig().mobilisation("helipad") == 30.0


def test_a_vendor_adds_its_agreement_lead_time_and_other_kinds_do_not() -> None:
    eta = EtaConfig()
    assert eta.eta_minutes("vendor", "360121", 10.0, 6.0) == pytest.approx(60 + 21 + 360)
    assert eta.eta_minutes("vendor", "360121", 10.0, None) == pytest.approx(60 + 21)
    assert eta.eta_minutes("depot", "360121", 10.0, 6.0) == pytest.approx(30 + 21)
    assert agreement_lead_minutes("vendor", 1.5) == 90.0
    assert agreement_lead_minutes("depot", 1.5) == 0.0


def test_overrides_parse_prefix_factor_and_speed() -> None:
    assert parse_eta_overrides("3607:1.6:30,3601:1.3:45") == (RegionTravel("3607", 1.6, 30.0),
                                                               RegionTravel("3601", 1.3, 45.0))
    assert parse_eta_overrides("") == ()
    assert parse_eta_overrides(" 36 : 1.5 : 35 , ") == (RegionTravel("36", 1.5, 35.0),)


def test_the_longest_matching_prefix_wins_whatever_the_order_given() -> None:
    eta = EtaConfig(overrides=parse_eta_overrides("36:1.5:35,360121:1.2:50,3601:1.3:45"))
    assert eta.travel_for("360121100000") == RegionTravel("360121", 1.2, 50.0)
    assert eta.travel_for("360124") == RegionTravel("3601", 1.3, 45.0)
    assert eta.travel_for("360702") == RegionTravel("36", 1.5, 35.0)
    assert eta.travel_for("420102") == RegionTravel("", 1.4, 40.0)
    assert eta.eta_minutes("depot", "360121", 10.0, None) == pytest.approx(30 + 10 * 1.2 / 50 * 60)


@pytest.mark.parametrize("text", [
    "3607:1.6", "3607:1.6:30:1", "36a7:1.6:30", "3607:fast:30", "3607:0.9:30", "3607:1.6:0", "3607:1.6:-5",
    "3607:1.6:nan", "3607:1.6:30,3607:1.5:40", ":1.6:30", "1234567890123:1.6:30",
])
def test_a_malformed_override_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_eta_overrides(text)
    assert err.value.field == ENV_OVERRIDES


def test_configuration_is_read_from_the_environment() -> None:
    eta = load_eta_config({ENV_OVERRIDES: "3607:1.6:30"})
    assert eta.travel_for("360702") == RegionTravel("3607", 1.6, 30.0)
    assert load_eta_config({}).overrides == ()
    with pytest.raises(InvalidInput):
        load_eta_config({ENV_OVERRIDES: "3607"})


def test_min_minutes_per_km_is_the_fastest_travel_anywhere() -> None:
    eta = EtaConfig(overrides=parse_eta_overrides("3607:1.6:30,3601:1.2:60"))
    assert eta.min_minutes_per_km == pytest.approx(1.2 / 60 * 60)
    assert EtaConfig().min_minutes_per_km == pytest.approx(1.4 / 40 * 60)


_KINDS = st.sampled_from(sorted(DEFAULT_MOBILISATION))
_REGIONS = st.sampled_from(["360121", "360124", "360702", "3601", "360121100000", "420102"])


@given(kind=_KINDS, region=_REGIONS, distance=st.floats(0, 2000), lead=st.none() | st.floats(0, 720))
def test_no_source_arrives_before_the_lower_bound(kind: str, region: str, distance: float,
                                                  lead: float | None) -> None:
    eta = EtaConfig(overrides=parse_eta_overrides("3607:1.6:30,3601:1.2:60,360121:1.1:45"))
    bound = eta.lower_bound(min(DEFAULT_MOBILISATION.values()), distance)
    assert eta.eta_minutes(kind, region, distance, lead) >= bound - 1e-9
    assert math.isfinite(bound)


def _candidate(site: int, available: int) -> Candidate:
    return Candidate(eta=float(site), distance=float(site), site_id=site, item_type_id=1, available=available,
                     row=None)  # type: ignore[arg-type]  # rows are not looked at here


def test_sources_are_taken_until_the_quantity_is_covered() -> None:
    ranked = [_candidate(1, 2), _candidate(2, 3), _candidate(3, 5)]
    taken, stopped = take_sources(ranked, 5, 10)
    assert [c.site_id for c in taken] == [1, 2]
    assert stopped


def test_sources_are_taken_until_the_limit_even_if_the_quantity_is_not_covered() -> None:
    taken, stopped = take_sources([_candidate(1, 1), _candidate(2, 1), _candidate(3, 1)], 10, 2)
    assert [c.site_id for c in taken] == [1, 2]
    assert stopped


def test_when_everything_is_taken_and_still_short_the_search_has_not_stopped() -> None:
    taken, stopped = take_sources([_candidate(1, 1), _candidate(2, 1)], 10, 5)
    assert len(taken) == 2
    assert not stopped
