"""The demo's risk points (inventory.demo.risk_points): inside their counties, along the rivers, sensibly weighted."""

from __future__ import annotations

from collections import Counter

from inventory.demo.catalog import ITEM_TYPES
from inventory.demo.risk_points import COUNTIES, RISK_POINTS, SUBMERSIBLE_PUMP
from inventory.places.boundaries import boundary_at
from inventory.plans.schemas import RISK_KIND_ZH


def test_every_demo_risk_point_lies_inside_its_county_and_a_kilometre_from_its_edge() -> None:
    assert len(RISK_POINTS) == 40
    for p in RISK_POINTS:
        county = boundary_at(p.lon, p.lat)
        assert county is not None and county.adcode == p.region_code, (p.code, p.name, county and county.name)
        for dlat, dlon in ((0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)):  # about a kilometre each way
            near = boundary_at(p.lon + dlon, p.lat + dlat)
            assert near is not None and near.adcode == p.region_code, f"{p.code} {p.name} is on its county's edge"


def test_the_demo_risk_points_are_spread_over_three_counties_with_unique_codes_and_known_needs() -> None:
    assert Counter(p.region_code for p in RISK_POINTS) == {"360121": 17, "360112": 12, "360124": 11}
    assert set(COUNTIES) == {p.region_code for p in RISK_POINTS}
    assert len({p.code for p in RISK_POINTS}) == len(RISK_POINTS)
    assert len({p.name for p in RISK_POINTS}) == len(RISK_POINTS)
    assert {p.kind for p in RISK_POINTS} == {"embankment", "village", "underpass", "school"} <= set(RISK_KIND_ZH)
    assert all(300 <= p.weight <= 10_000 for p in RISK_POINTS), "people at risk: hundreds to thousands"
    catalogue = {t.code for t in ITEM_TYPES}
    assert {code for p in RISK_POINTS for code in p.needs} <= catalogue
    assert all(p.needs and all(n > 0 for n in p.needs.values()) for p in RISK_POINTS)
    # The plan places the submersible pumps: a dozen points need fifteen, about what 南昌市 holds ready.
    pumps = [p.needs[SUBMERSIBLE_PUMP] for p in RISK_POINTS if SUBMERSIBLE_PUMP in p.needs]
    assert (len(pumps), sum(pumps)) == (12, 15)
