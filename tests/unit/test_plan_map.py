"""A plan's map (api.pages.plan_map): covered and uncovered points, staging sites and sources, lines by state."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.pages.plan_map import LINE_COLOURS, line_state, plan_svg
from inventory.plans.schemas import NeedCoverage, PlanCoverage, PlanLineRead, PointCoverage

SVG = "{http://www.w3.org/2000/svg}"
DEPOT, STAGING = 7, 9
PLACES = {DEPOT: ("南昌县综合应急物资储备库", 28.546, 115.944), STAGING: ("三江镇救灾物资储备点", 28.62, 116.07)}


def line(transfer: int | None = None, status: str | None = None, recall: int | None = None) -> PlanLineRead:
    return PlanLineRead(id=1, from_location_id=DEPOT, from_name=PLACES[DEPOT][0], to_location_id=STAGING,
                        to_name=PLACES[STAGING][0], item_type_id=3, item_name="大流量潜水泵", unit="台", quantity=2,
                        asset_ids=[], transfer_id=transfer, transfer_status=status, recall_transfer_id=recall,
                        recall_status=None)


def point(ident: int, covered: bool) -> PointCoverage:
    need = NeedCoverage(item_type_id=3, item_name="大流量潜水泵", unit="台", needed=1, covered=int(covered),
                        shortfall=int(not covered), sources=[])
    return PointCoverage(risk_point_id=ident, code=f"RP-{ident}", name=f"风险点{ident}", kind="village",
                         kind_zh="低洼村庄", lat=28.6 + ident / 100, lon=116.0, weight=100.0 * ident, covered=covered,
                         nearest_minutes=30.0 if covered else None, needs=[need])


def test_a_line_is_planned_in_transit_received_or_recalled() -> None:
    assert [line_state(ln) for ln in (line(), line(5, "cancelled"), line(5, "in_transit"), line(5, "received"),
                                      line(5, "received", recall=6))] == [
        "planned", "planned", "in_transit", "received", "recalled"]


def test_the_map_draws_points_by_coverage_sites_sources_and_a_line_linking_to_the_rows_below() -> None:
    cover = PlanCoverage(plan_id=1, target_minutes=60, total_weight=300.0, covered_weight=100.0,
                         points=[point(1, True), point(2, False)],
                         sites=[{"location_id": STAGING, "name": PLACES[STAGING][0], "lat": 28.62, "lon": 116.07,
                                 "lines": [{"item_name": "大流量潜水泵", "quantity": 2}]}])
    svg = plan_svg(cover, [line(5, "in_transit")], PLACES, region="360121", title="计划")
    assert svg == plan_svg(cover, [line(5, "in_transit")], PLACES, region="360121", title="计划"), "deterministic"
    root = ET.fromstring(svg)
    drawn = {g.get("data-kind"): g for g in root.iter(f"{SVG}g") if g.get("class") == "marker"}
    assert set(drawn) == {"source", "staging", "risk_covered", "risk_uncovered"}
    links = {g.get("data-kind"): a.get("href") for a in root.iter(f"{SVG}a") for g in a.iter(f"{SVG}g")}
    assert links == {"source": f"#line-from-{DEPOT}", "staging": f"#line-to-{STAGING}", "risk_covered": "#point-1",
                     "risk_uncovered": "#point-2"}
    title = drawn["risk_uncovered"].find(f"{SVG}title")
    assert title is not None and "大流量潜水泵缺 1台" in (title.text or "")
    staged = drawn["staging"].find(f"{SVG}title")
    assert staged is not None and "拟前置：大流量潜水泵 ×2" in (staged.text or "")
    (segment,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "line"]
    assert segment.get("data-colour") == LINE_COLOURS["in_transit"]
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert "在途" in [t.text for t in legend.iter(f"{SVG}text")]
