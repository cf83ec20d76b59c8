"""The server-drawn map (api.pages.svgmap): markers, escaping, fills, framing, click-back coordinates, no style."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from api.pages.svgmap import Line, Marker, render_map
from inventory.places.boundaries import counties

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"
NANCHANG_COUNTY = "360121"  # 南昌县
DEPOT = Marker(lat=28.546, lon=115.944, kind="depot", colour="#16a34a", label="南昌县综合应急物资储备库",
               href="/s/PABCDEFGHJ", detail="排涝泵 5")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def inside_paths(root: ET.Element) -> list[ET.Element]:
    group = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "counties")
    return group.findall("svg:path", NS)


def markers(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "marker"]


def bbox(root: ET.Element) -> tuple[float, ...]:
    return tuple(float(v) for v in (root.get("data-bbox") or "").split(","))


def test_every_marker_in_the_frame_is_drawn_once_with_its_link_and_title() -> None:
    others = [Marker(lat=28.68, lon=115.90, kind="reserve_point", colour="#9ca3af", label="滕王阁街道救灾物资储备点"),
              Marker(lat=28.70, lon=116.05, kind="incident", colour="#b3261e", label="内涝", href="/incidents/3")]
    root = parse(render_map(markers=[DEPOT, *others], region="3601"))
    drawn = markers(root)
    assert len(drawn) == 3
    assert [g.get("data-kind") for g in drawn] == ["depot", "reserve_point", "incident"]
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/s/PABCDEFGHJ", "/incidents/3"], "a marker without href is not a link"
    title = drawn[0].find("svg:title", NS)
    assert title is not None and title.text == "南昌县综合应急物资储备库\n排涝泵 5"
    assert drawn[0].find("svg:rect", NS) is not None, "a depot is a square"
    assert drawn[2].find("svg:polygon", NS) is not None, "an incident is a triangle"


def test_a_marker_outside_the_frame_is_left_out_unless_the_frame_is_fitted_to_the_markers() -> None:
    far = Marker(lat=25.85, lon=114.93, kind="vendor", colour="#f59e0b", label="赣州某协议单位")  # 赣州, not 南昌
    assert len(markers(parse(render_map(markers=[DEPOT, far], region="3601")))) == 1
    fitted = parse(render_map(markers=[DEPOT, far], region="3601", fit_markers=True))
    assert len(markers(fitted)) == 2
    west, south, east, north = bbox(fitted)
    assert west < 114.93 < east and south < 25.85 < north


def test_names_and_links_with_markup_characters_are_escaped() -> None:
    evil = Marker(lat=28.55, lon=115.95, kind="vendor", colour='red" onclick="x', label='A <b>&"仓库"</b>',
                  href='/s/X?a=1&b="2"', detail="<script>alert(1)</script>")
    svg = render_map(markers=[evil], region=NANCHANG_COUNTY, title="<标题>&")
    assert "<script>" not in svg and "<b>" not in svg and 'onclick="' not in svg
    root = parse(svg)  # well-formed XML despite the input
    (marker,) = markers(root)
    title = marker.find("svg:title", NS)
    assert title is not None and title.text == 'A <b>&"仓库"</b>\n<script>alert(1)</script>'
    (link,) = root.iter(f"{SVG}a")
    assert link.get("href") == '/s/X?a=1&b="2"'
    shape = marker.find("svg:polygon", NS)
    assert shape is not None and shape.get("fill") == 'red" onclick="x'
    svg_title = root.find("svg:title", NS)
    assert svg_title is not None and svg_title.text == "<标题>&"


def test_fills_colour_the_counties_they_name_and_notes_go_into_the_hover_title() -> None:
    root = parse(render_map(region="3601", fills={NANCHANG_COUNTY: "#2b7a4b", "360102": "#d7eedf"},
                            notes={NANCHANG_COUNTY: "可用 12 台"}))
    by_code = {p.get("data-adcode"): p for p in inside_paths(root)}
    assert by_code[NANCHANG_COUNTY].get("fill") == "#2b7a4b"
    assert by_code["360102"].get("fill") == "#d7eedf"
    assert by_code["360111"].get("fill") == "#fbfaf6", "a county without a fill gets the plain one"
    title = by_code[NANCHANG_COUNTY].find("svg:title", NS)
    assert title is not None and title.text == "南昌县：可用 12 台"


@pytest.mark.parametrize(("region", "expected"), [("36", 100), ("3601", 9), ("360121", 1), ("360121100", 1),
                                                  ("99", 100)])
def test_the_region_frames_its_own_counties_and_draws_the_neighbours_faint(region: str, expected: int) -> None:
    root = parse(render_map(region=region))
    codes = [p.get("data-adcode") or "" for p in inside_paths(root)]
    assert len(codes) == expected
    if region != "99":  # an unknown region shows the whole province
        assert all(c.startswith(region[:6]) for c in codes)
    west, south, east, north = bbox(root)
    for county in counties():
        if county.adcode in codes:
            cw, cs, ce, cn = county.bbox
            assert west <= cw and ce <= east and south <= cs and cn <= north, county.name
    faint = [g for g in root.iter(f"{SVG}g") if g.get("class") == "counties outside"]
    if expected < 100:
        assert faint and faint[0].findall("svg:path", NS), "the neighbours are drawn as context"
        assert not set(codes) & {p.get("data-adcode") for p in faint[0].findall("svg:path", NS)}
    no_context = parse(render_map(region=region, context=False))
    assert not [g for g in no_context.iter(f"{SVG}g") if g.get("class") == "counties outside"]


def test_a_click_maps_back_to_coordinates_through_the_bbox() -> None:
    root = parse(render_map(markers=[DEPOT], region="3601", width=960, height=640))
    west, south, east, north = bbox(root)
    assert root.get("viewBox") == "0 0 960 640"
    square = markers(root)[0].find("svg:rect", NS)
    assert square is not None
    x = float(square.get("x") or 0) + float(square.get("width") or 0) / 2
    y = float(square.get("y") or 0) + float(square.get("height") or 0) / 2
    lon = west + x / 960 * (east - west)
    lat = north - y / 640 * (north - south)
    assert abs(lon - DEPOT.lon) < 0.002 and abs(lat - DEPOT.lat) < 0.002
    # Equal distances on the ground are equal on screen (cos(lat) scaling): one degree of longitude is shorter.
    units_per_lon = 960 / (east - west)
    units_per_lat = 640 / (north - south)
    assert units_per_lon / units_per_lat == pytest.approx(math.cos(math.radians((north + south) / 2)), rel=1e-6)


def test_the_output_is_deterministic_and_uses_no_inline_style() -> None:
    first = render_map(markers=[DEPOT], region="3601", fills={NANCHANG_COUNTY: "#2b7a4b"}, legend=[("#2b7a4b", "多")],
                       title="南昌市")
    assert first == render_map(markers=[DEPOT], region="3601", fills={NANCHANG_COUNTY: "#2b7a4b"},
                               legend=[("#2b7a4b", "多")], title="南昌市")
    root = parse(first)
    assert not [e for e in root.iter() if "style" in e.attrib], "the pages' CSP forbids style attributes"
    assert root.get("class") == "svgmap" and root.get("id") == "map"
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    assert texts == ["多", "储备库"], "the given swatches, then the shapes of the kinds drawn"


def test_lines_are_drawn_under_the_markers_from_their_start_to_their_end_with_an_arrowhead() -> None:
    depot = DEPOT
    point = Marker(lat=28.62, lon=116.08, kind="risk_uncovered", colour="#dc2626", label="抚河三江段")
    move = Line(from_lat=depot.lat, from_lon=depot.lon, to_lat=28.62, to_lon=116.08, colour="#2563eb",
                label="拖挂式排涝泵 ×2 → 三江镇")
    svg = render_map(markers=[depot, point], lines=[move], region="3601", line_legend=[("#2563eb", "调拨")])
    assert svg == render_map(markers=[depot, point], lines=[move], region="3601", line_legend=[("#2563eb", "调拨")])
    root = parse(svg)
    groups = [g.get("class") for g in root if g.tag == f"{SVG}g"]
    assert groups.index("lines") < groups.index("markers"), "lines under the markers"
    (line,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "line"]
    assert (line.get("data-from-lat"), line.get("data-to-lon"), line.get("data-colour")) == (
        "28.54600", "116.08000", "#2563eb")
    title = line.find("svg:title", NS)
    assert title is not None and title.text == "拖挂式排涝泵 ×2 → 三江镇"
    path = line.find("svg:path", NS)
    assert path is not None and path.get("stroke") == "#2563eb"
    start, end = (path.get("d") or "").removeprefix("M").split("L")
    west, south, east, north = bbox(root)
    x1, y1 = (float(v) for v in start.split())
    x2, y2 = (float(v) for v in end.split())
    assert abs(west + x1 / 960 * (east - west) - depot.lon) < 0.002
    assert abs(north - y2 / 640 * (north - south) - 28.62) < 0.002
    head = line.find("svg:polygon", NS)
    assert head is not None, "an arrowhead shows the direction"
    tip = [float(v) for v in (head.get("points") or "").split()[0].split(",")]
    # The tip lies past the middle of the segment, towards its end.
    assert (tip[0] - (x1 + x2) / 2) * (x2 - x1) > 0 and (tip[1] - (y1 + y2) / 2) * (y2 - y1) > 0
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["储备库", "未覆盖风险点", "调拨"]
    assert not [e for e in root.iter() if "style" in e.attrib]


def test_a_line_with_neither_end_in_the_frame_is_left_out_unless_the_frame_is_fitted() -> None:
    far = Line(from_lat=25.85, from_lon=114.93, to_lat=25.9, to_lon=115.0, colour="#2563eb")  # 赣州
    assert 'class="line"' not in render_map(lines=[far], region="3601")
    fitted = parse(render_map(lines=[far], region="3601", fit_markers=True))
    assert len([g for g in fitted.iter(f"{SVG}g") if g.get("class") == "line"]) == 1
    assert 'class="lines"' not in render_map(region="3601"), "no empty group without lines"


def test_covered_and_uncovered_risk_points_have_shapes_of_their_own() -> None:
    covered = Marker(lat=28.55, lon=115.95, kind="risk_covered", colour="#16a34a", label="莲塘")
    uncovered = Marker(lat=28.62, lon=116.08, kind="risk_uncovered", colour="#dc2626", label="三江")
    root = parse(render_map(markers=[covered, uncovered], region="360121"))
    shapes = [g.find("svg:polygon", NS) for g in markers(root)]
    assert all(s is not None for s in shapes)
    counts = [len((s.get("points") or "").split()) for s in shapes if s is not None]
    assert counts == [3, 8], "a triangle for covered, a four-pointed × for uncovered"
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["已覆盖风险点", "未覆盖风险点"]
