"""一张图 ``/map``, the county summary ``/availability/summary``, the boundaries' GeoJSON and the vendored Leaflet,
over HTTP on both databases, as a commander's browser without script reads them.

The data is demo-like: a county depot with many ready pumps (and a faulty one) and boats, a district depot with
one pump, an empty reserve point, a vendor with generators, a site without coordinates, a site in another city,
an open and a closed incident.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from inventory.store.db import Database
from inventory.store.label_codes import ensure_label
from tests.api.helpers import item_type_body, location_body, page_client

SVG = "{http://www.w3.org/2000/svg}"
GREEN, AMBER, GREY, FAULT = "#16a34a", "#f59e0b", "#9ca3af", "#dc2626"


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code in (200, 201), f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def build(admin: Any, db: Database) -> dict[str, Any]:
    """The sites, item types and incidents of the module doc; their ids and the depot's label code."""
    ncx = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    dhq = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90,
        contact_phone="0791-86660000")))["id"]
    rp = (await created(admin, "/api/v1/locations", location_body(
        "RP-QSH", name="青山湖区某街道救灾物资储备点", kind="reserve_point", region_code="360111", lat=28.70,
        lon=115.96)))["id"]
    vendor = (await created(admin, "/api/v1/locations", location_body(
        "V-XJ", name="新建区某机电公司（协议储备）", kind="vendor", region_code="360112", lat=28.70, lon=115.82,
        agreement_lead_hours=4)))["id"]
    await created(admin, "/api/v1/locations", location_body(
        "RP-NOWHERE", name="无坐标储备点", kind="reserve_point", region_code="360121", lat=None, lon=None))
    jdz = (await created(admin, "/api/v1/locations", location_body(
        "D-JDZ", name="景德镇市应急物资储备库", region_code="360202", lat=29.27, lon=117.18)))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    boat = (await created(admin, "/api/v1/item-types", item_type_body(
        "BOAT-6", name="冲锋舟", unit="艘", category="boat", gbt_code=None, attributes={}, tags=[])))["id"]
    generator = (await created(admin, "/api/v1/item-types", item_type_body(
        "GEN-50", name="50kW 柴油发电机", unit="台", tracking="bulk", category="generator", gbt_code=None,
        attributes={}, tags=[], inspection_interval_days=None)))["id"]
    units = [(pump, ncx, "ok")] * 6 + [(pump, ncx, "fault"), (boat, ncx, "ok"), (boat, ncx, "unknown"),
                                         (pump, dhq, "ok"), (pump, jdz, "ok")]
    for n, (item, where, readiness) in enumerate(units):
        await created(admin, "/api/v1/assets", {"item_type_id": item, "serial_number": f"SN-{n}",
                                                "location_id": where, "readiness": readiness})
    await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": vendor,
                                               "lines": [{"item_type_id": generator, "quantity": 3}]})
    flood = (await created(admin, "/api/v1/incidents", {
        "name": "向塘镇内涝", "kind": "waterlogging", "region_code": "360121", "lat": 28.50, "lon": 115.95}))["id"]
    closed = (await created(admin, "/api/v1/incidents", {
        "name": "已结束的内涝", "kind": "waterlogging", "region_code": "360121", "lat": 28.52, "lon": 115.93}))["id"]
    await created(admin, f"/api/v1/incidents/{closed}/close", {})
    async with db.write() as session:
        label = await ensure_label(session, "location", ncx)
    return {"ncx": ncx, "dhq": dhq, "rp": rp, "vendor": vendor, "jdz": jdz, "flood": flood, "closed": closed,
            "label": label}


def svg_of(html: str, element_id: str) -> ET.Element:
    start = html.index(f'<svg xmlns="http://www.w3.org/2000/svg" id="{element_id}"')
    return ET.fromstring(html[start:html.index("</svg>", start) + len("</svg>")])


def drawn_markers(svg: ET.Element) -> dict[str, dict[str, Any]]:
    """href → the marker's kind, fill, outline and title, for every marker link on the map."""
    found = {}
    for a in svg.iter(f"{SVG}a"):
        g = a.find(f"{SVG}g")
        if g is None or g.get("class") != "marker":
            continue
        shape = next(e for e in g if e.tag != f"{SVG}title")
        title = g.find(f"{SVG}title")
        found[a.get("href") or ""] = {"kind": g.get("data-kind"), "fill": shape.get("fill"),
                                      "outline": shape.get("stroke"), "title": title.text if title is not None else ""}
    return found


class Rows(HTMLParser):
    """Every table row: its id and its cells' text; and every link in it."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.rows.append({"id": a.get("id"), "cells": [], "links": []})
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and self.rows:
            self.rows[-1]["links"].append(a.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1]["cells"].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rows_of(html: str) -> list[dict[str, Any]]:
    parser = Rows()
    parser.feed(html)
    return parser.rows


async def test_the_map_shows_each_site_with_coordinates_and_each_open_incident_as_a_marker(
    client: Any, client_as: Any, db: Database,
) -> None:
    ids = await build(client, db)
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    page = await chief.get("/map")
    assert page.status_code == 200, page.text
    assert "一张图：南昌市" in page.text
    markers = drawn_markers(svg_of(page.text, "map-svg"))
    # Four sites of 南昌市 with coordinates and the open incident; not the site without coordinates, not 景德镇,
    # not the closed incident, and not the open incident's staging location (it is the incident's marker).
    assert set(markers) == {f"#site-{ids[k]}" for k in ("ncx", "dhq", "rp", "vendor")} | {f"#incident-{ids['flood']}"}
    ncx, dhq, rp = markers[f"#site-{ids['ncx']}"], markers[f"#site-{ids['dhq']}"], markers[f"#site-{ids['rp']}"]
    assert (ncx["kind"], ncx["fill"], ncx["outline"]) == ("depot", GREEN, FAULT), "6 ready pumps, one faulty"
    assert (dhq["fill"], dhq["outline"]) == (AMBER, None), "one pump: few"
    assert (rp["kind"], rp["fill"]) == ("reserve_point", GREY)
    assert markers[f"#site-{ids['vendor']}"]["kind"] == "vendor"
    assert markers[f"#incident-{ids['flood']}"]["kind"] == "incident"
    assert ncx["title"].startswith("南昌县综合应急物资储备库（储备库）\n可用：排涝泵 6 · 舟艇 2 · 发电机 0 · 故障 1")
    assert "0791-86660000" in dhq["title"]

    rows = {r["id"]: r for r in rows_of(page.text) if r["id"]}
    ncx_row = rows[f"site-{ids['ncx']}"]
    assert ncx_row["cells"][:7] == ["南昌县综合应急物资储备库", "储备库", "南昌县", "6", "2", "0", "1/0"]
    assert f"/s/{ids['label']}" in ncx_row["links"]
    assert "/availability?lat=28.54570&lon=115.94400" in ncx_row["links"]
    vendor_row = rows[f"site-{ids['vendor']}"]
    assert vendor_row["cells"][1:6] == ["协议供应商仓库", "新建区", "0", "0", "3"]
    incident_row = rows[f"incident-{ids['flood']}"]
    assert incident_row["cells"][0] == "向塘镇内涝"
    assert incident_row["links"] == [f"/incidents/{ids['flood']}", "/availability?lat=28.50000&lon=115.95000"]
    assert f"incident-{ids['closed']}" not in rows
    assert 'data-geojson="/map/counties.geojson?region=3601"' in page.text
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in page.text


async def test_the_region_parameter_and_the_users_scope_choose_the_frame(
    client: Any, client_as: Any, db: Database,
) -> None:
    ids = await build(client, db)
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    province = await chief.get("/map", params={"region": "36"})
    assert province.status_code == 200 and "一张图：江西省" in province.text
    assert f"#site-{ids['jdz']}" in drawn_markers(svg_of(province.text, "map-svg"))
    county = drawn_markers(svg_of((await chief.get("/map", params={"region": "360121"})).text, "map-svg"))
    assert set(county) == {f"#site-{ids['ncx']}", f"#incident-{ids['flood']}"}
    wrong = await chief.get("/map", params={"region": "11<b>"})
    assert wrong.status_code == 200
    assert "区域代码 11&lt;b&gt; 不存在或不在江西省" in wrong.text and "一张图：南昌市" in wrong.text
    keeper = await page_client(client_as, "keeper", "wang", scope_regions=["360121"])
    mine = await keeper.get("/map")
    assert "一张图：南昌县" in mine.text
    signed_out = await (await client_as("auditor", "nobody")).get("/map", headers={"Authorization": ""})
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/login?next=/map")


async def test_the_summary_page_shows_the_apis_figures_per_county_as_a_table_and_a_choropleth(
    client: Any, client_as: Any, db: Database,
) -> None:
    await build(client, db)
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    for category in ("pump", "boat", "generator"):
        page = await chief.get("/availability/summary", params={"category": category})
        assert page.status_code == 200, page.text
        api = (await client.get("/api/v1/availability/summary",
                                params={"region": "3601", "category": category})).json()
        table = {r["cells"][0]: r["cells"][1:] for r in rows_of(page.text) if r["cells"]}
        for region in api["regions"]:
            expected = [str(region[k]) for k in ("on_hand", "reserved", "available", "in_transit", "sites")]
            assert table[region["region_name"]] == expected, (category, region)
        total = api["total"]
        assert table["合计"] == [str(total[k]) for k in ("on_hand", "reserved", "available", "in_transit", "sites")]
        svg = svg_of(page.text, "summary-svg")
        fills = {p.get("data-adcode"): p.get("fill") for g in svg.iter(f"{SVG}g") if g.get("class") == "counties"
                 for p in g}
        assert len(fills) == 9
        empty = {api_row["region_code"] for api_row in api["regions"] if api_row["available"] == 0}
        assert {code for code, fill in fills.items() if fill == "#f1f2f4"} == empty, category
    pump_page = (await chief.get("/availability/summary", params={"category": "pump"})).text
    assert re.search(r'<option value="boat"[^>]*>舟艇', pump_page) and '<option value="pump" selected>' in pump_page
    unknown = await chief.get("/availability/summary", params={"category": "nonsense", "region": "3601"})
    assert unknown.status_code == 200 and "物资类别 nonsense 在物资目录中不存在" in unknown.text
    province = await chief.get("/availability/summary", params={"category": "pump", "region": "36"})
    table = {r["cells"][0]: r["cells"][1:] for r in rows_of(province.text) if r["cells"]}
    assert table["南昌市"][2] == "7" and table["景德镇市"][2] == "1", "ready pumps per city"
    fills = {p.get("data-adcode"): p.get("fill") for g in svg_of(province.text, "summary-svg").iter(f"{SVG}g")
             if g.get("class") == "counties" for p in g}
    assert len(fills) == 100 and fills["360121"] == fills["360102"], "a city colours all its counties alike"


async def test_the_county_boundaries_are_served_as_geojson_gzipped_when_accepted(anonymous: Any) -> None:
    r = await anonymous.get("/map/counties.geojson", params={"region": "3601"}, headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["content-encoding"] == "gzip" and "public" in r.headers["cache-control"]
    features = r.json()["features"]
    assert len(features) == 9 and {f["properties"]["adcode"][:4] for f in features} == {"3601"}
    plain = await anonymous.get("/map/counties.geojson", params={"region": "<script>"},
                                headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.json()["features"]) == 100


async def test_the_vendored_leaflet_and_the_map_script_are_served_with_their_types(anonymous: Any) -> None:
    leaflet = "/static/vendor/leaflet"
    expected = {f"{leaflet}/leaflet.js": "text/javascript", f"{leaflet}/leaflet.css": "text/css",
                f"{leaflet}/images/layers.png": "image/png", "/static/map.js": "text/javascript",
                "/static/map.css": "text/css"}
    for path, media in expected.items():
        r = await anonymous.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].split(";")[0] == media, path
    assert b"Leaflet 1.9.4" in (await anonymous.get("/static/vendor/leaflet/leaflet.js")).content
    assert (await anonymous.get("/static/vendor/leaflet/LICENSE")).status_code == 200
