"""The availability page /availability over HTTP, as a browser without script uses it: ask, read the answer, reserve.

The answer table must be the API's answer (same sources, same order, same figures), GCJ-02 input the answer of
the converted point, an unknown filter a readable error; reserving creates exactly one dispatch order whatever the
number of taps, and only for those who may order dispatches.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from inventory.availability.choices import region_centres
from inventory.places.geo import wgs84_to_bd09, wgs84_to_gcj02
from tests.api.helpers import created, item_type_body, location_body, page_client

PAGE = "/availability"
NEAREST = "/api/v1/availability/nearest"
BREACH = {"lat": 28.55, "lon": 115.94}  # a levee breach in 南昌县
PUMPS = {"category": "pump", "quantity": "5", "limit": "10"}
# The commander's scope: 南昌市, so every source below is his own (he may reserve from it, not only request it).
CITY = {"scope_regions": ["3601"]}


class _Page(HTMLParser):
    """The answer table's rows (id, data attributes, cell texts) and every form (action → fields)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._row: dict[str, Any] | None = None
        self._cell: list[str] | None = None
        self._form: dict[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and a.get("id", "").startswith("src-"):
            self._row = {"id": a["id"], "site": int(a["data-site"]), "item": int(a["data-item"]), "cells": []}
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None and self._form is None:
            self._cell = []
        elif tag == "form":
            self._form = {}
            self.forms.append((a.get("action", ""), self._form))
        elif self._form is not None and tag == "input" and a.get("name"):
            self._form[a["name"]] = a.get("value", "")
        elif self._form is not None and tag == "select":
            self._select = a.get("name")
        elif (self._form is not None and tag == "option" and self._select
              and (self._select not in self._form or "selected" in a)):
            self._form[self._select] = a.get("value", "")  # the first option, unless another is selected

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row["cells"].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def reserve_forms(html: str) -> list[dict[str, str]]:
    return [fields for action, fields in parsed(html).forms if action == "/availability/reserve"]


async def stock(admin: Any) -> dict[str, int]:
    """Pumps and sandbags at three depots and a vendor around 南昌; an open incident at the breach."""
    ncx = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    dhq = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90,
        contact_phone="0791-86660000")))["id"]
    xjq = (await created(admin, "/api/v1/locations", location_body(
        "D-XJQ", name="新建区应急物资储备库", region_code="360112", lat=28.69, lon=115.82, contact_phone="")))["id"]
    vendor = (await created(admin, "/api/v1/locations", location_body(
        "V-PUMP", name="江西某泵业有限公司仓库", kind="vendor", region_code="360121", lat=28.50, lon=115.99,
        agreement_lead_hours=2)))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    small = (await created(admin, "/api/v1/item-types", item_type_body(
        "PUMP-50", name="小型潜水泵", tags=["small", "light"], attributes={"flow_m3h": 50, "fuel": "electric"})))["id"]
    bag = (await created(admin, "/api/v1/item-types", item_type_body(
        "BAG", name="编织袋", unit="条", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[], inspection_interval_days=None)))["id"]
    n = 0
    for where, item, units in ((ncx, pump, 2), (dhq, pump, 2), (xjq, pump, 1), (vendor, pump, 3), (xjq, small, 1)):
        for _ in range(units):
            n += 1
            await created(admin, "/api/v1/assets", {"item_type_id": item, "serial_number": f"SN-{n}",
                                                    "location_id": where, "readiness": "ok"})
    for where, quantity in ((ncx, 500), (dhq, 300)):
        await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": where,
                                                   "lines": [{"item_type_id": bag, "quantity": quantity}]})
    incident = (await created(admin, "/api/v1/incidents", {"name": "南昌县圩堤决口", "kind": "flood",
                                                           "region_code": "360121", **BREACH}))["id"]
    return {"ncx": ncx, "dhq": dhq, "xjq": xjq, "vendor": vendor, "pump": pump, "small": small, "bag": bag,
            "incident": incident}


def api_rows(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What the page's table shows of the API's answer, formatted as the page formats it."""
    return [(s["location"]["id"], s["item_type"]["id"], s["location"]["name"], s["item_type"]["name"],
             f"{s['distance_km']:.1f}", f"{s['eta_minutes']:.0f}", f"{s['available']}{s['item_type']['unit']}",
             str(s["cumulative"])) for s in answer["sources"]]


def page_rows(html: str) -> list[tuple[Any, ...]]:
    return [(r["site"], r["item"], r["cells"][1].rsplit(" ", 1)[0], r["cells"][3], r["cells"][4], r["cells"][5],
             r["cells"][6], r["cells"][7]) for r in parsed(html).rows]


async def test_the_page_opens_for_every_role_and_only_those_who_may_order_see_the_reserve_form(
    client: Any, client_as: Any, anonymous: Any,
) -> None:
    await stock(client)
    query = {**BREACH, **PUMPS}
    signed_out = await anonymous.get(PAGE, params=query)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=/availability%3F")
    for role, may in (("admin", True), ("commander", True), ("keeper", False), ("auditor", False)):
        c = await page_client(client_as, role, f"p-{role}", **({"keeper": {"scope_regions": ["360121"]},
                                                                 "commander": CITY}.get(role, {})))
        empty = await c.get(PAGE)
        assert empty.status_code == 200, empty.text
        for text in ("就近调配", 'name="lat"', "排涝泵（pump）", "快（fast）", "流量（m³/h） flow_m3h", "莲塘镇",
                     'class="svgmap"', "/static/availability.js"):
            assert text in empty.text, (role, text)
        asked = await c.get(PAGE, params=query)
        assert asked.status_code == 200, asked.text
        # The three nearest of everyone's; the keeper of 南昌县 also sees his own beyond them (his own, apart).
        assert len(parsed(asked.text).rows) == (4 if role == "keeper" else 3), role
        assert bool(reserve_forms(asked.text)) is may, role
        assert 'href="tel:079185700000"' in asked.text


@pytest.mark.parametrize("query", [
    {**BREACH, **PUMPS},
    {**BREACH, "category": "pump", "quantity": "20", "limit": "20"},
    {**BREACH, "category": "pump", "an": "flow_m3h", "ao": ">=", "av": "300", "quantity": "4", "agreement": "0"},
    {**BREACH, "tag": "small", "quantity": "1"},
    {**BREACH, "category": "flood_control", "quantity": "600"},
])
async def test_the_answer_table_is_the_apis_answer_for_the_same_question(
    client: Any, client_as: Any, query: dict[str, Any],
) -> None:
    await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    page = await commander.get(PAGE, params=query)
    assert page.status_code == 200, page.text
    attr = [f"{query['an']}{query['ao']}{query['av']}"] if "an" in query else []
    params = {k: v for k, v in query.items() if k not in ("an", "ao", "av", "agreement")}
    api = await client.get(NEAREST, params={**params, "attr": attr, "include_agreement": query.get("agreement") != "0"})
    assert api.status_code == 200, api.text
    answer = api.json()
    assert answer["sources"], "the question finds something"
    assert page_rows(page.text) == api_rows(answer)
    if answer["fulfilled"]:
        assert "还差" not in page.text
    else:
        unit = answer["item_types"][0]["unit"]
        assert f"还差 {answer['shortfall']} {unit}" in page.text
        assert 'data-fulfilled="false"' in page.text


async def test_the_sources_are_on_the_map_with_the_place_asked_about(client: Any, client_as: Any) -> None:
    ids = await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    page = await commander.get(PAGE, params={**BREACH, **PUMPS})
    assert 'data-kind="origin"' in page.text
    assert 'data-region="3601"' in page.text
    for row in parsed(page.text).rows:
        assert f'href="#{row["id"]}"' in page.text
    assert page.text.count('class="marker"') == 1 + len({r["site"] for r in parsed(page.text).rows})
    assert ids["ncx"] in {r["site"] for r in parsed(page.text).rows}


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
async def test_coordinates_from_amap_or_baidu_give_the_answer_of_the_converted_gps_point(
    client: Any, client_as: Any, crs: str,
) -> None:
    await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    lon, lat = (wgs84_to_gcj02 if crs == "gcj02" else wgs84_to_bd09)(BREACH["lon"], BREACH["lat"])
    shifted = await commander.get(PAGE, params={"lat": f"{lat:.8f}", "lon": f"{lon:.8f}", "crs": crs, **PUMPS})
    gps = await commander.get(PAGE, params={**BREACH, "crs": "wgs84", **PUMPS})
    assert shifted.status_code == gps.status_code == 200, shifted.text
    assert page_rows(shifted.text) == page_rows(gps.text)
    assert len(page_rows(gps.text)) == 3
    assert "换算为 WGS-84：纬度 28.550000，经度 115.940000" in shifted.text
    api = await client.get(NEAREST, params={"lat": f"{lat:.8f}", "lon": f"{lon:.8f}", "crs": crs, **PUMPS})
    assert page_rows(shifted.text) == api_rows(api.json())


async def test_a_township_is_asked_from_its_county_centre_and_says_so(client: Any, client_as: Any) -> None:
    await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    page = await commander.get(PAGE, params={"by": "township", "township": "360121100000", **PUMPS})  # 莲塘镇
    assert page.status_code == 200, page.text
    assert "莲塘镇（南昌县）" in page.text
    assert "按所在县（区）南昌县的中心计算距离" in page.text
    lat, lon = region_centres()["360121"]
    api = await client.get(NEAREST, params={"lat": round(lat, 6), "lon": round(lon, 6), **PUMPS})
    assert page_rows(page.text) == api_rows(api.json())
    # A township chosen while coordinates are also in the form: the radio button decides.
    both = await commander.get(PAGE, params={"by": "point", "township": "360121100000", **BREACH, **PUMPS})
    assert "莲塘镇（南昌县）" not in both.text and "纬度 28.55，经度 115.94" in both.text


async def test_the_map_pages_links_fill_the_place_and_ask_for_the_need(client: Any, client_as: Any) -> None:
    commander = await page_client(client_as, "commander", "chief", **CITY)
    page = await commander.get(PAGE, params=BREACH)
    assert page.status_code == 200, page.text
    assert 'value="28.55"' in page.text and 'value="115.94"' in page.text
    assert "请在“需要什么”中选择" in page.text
    assert 'data-kind="origin"' in page.text


@pytest.mark.parametrize(("query", "field", "said"), [
    ({**BREACH, "category": "pumpz"}, "category", "未知的物资类别 category：“pumpz”"),
    ({**BREACH, "tag": "huge"}, "tag", "未知的能力标签 tag：“huge”"),
    ({**BREACH, "category": "pump", "an": "flwo_m3h", "ao": ">=", "av": "300"}, "attr", "未知的属性 attr：“flwo_m3h”"),
    ({**BREACH, "category": "pump", "an": "flow_m3h", "ao": ">=", "av": ""}, "attr", "请填写 flow_m3h 的比较值"),
    ({**BREACH, "category": "pump", "an": "flow_m3h", "ao": ">=", "av": "many"}, "attr", "不是数字"),
    ({"lat": "north", "lon": "115.94", "category": "pump"}, "lat", "纬度 lat：“north”不是数字"),
    ({"lat": "28.55", "category": "pump"}, "lon", "经度 lon：请填写"),
    ({"lat": "115.94", "lon": "28.55", "category": "pump"}, "lat", "填反"),
    ({"lat": "95", "lon": "115.94", "category": "pump"}, "lat", "纬度 95 超出范围"),
    ({**BREACH, "crs": "utm", "category": "pump"}, "crs", "坐标系 crs"),
    ({"category": "pump"}, "lat", "地点：请填写坐标"),
    ({"by": "township", "township": "999", "category": "pump"}, "township", "乡镇（街道）township：请从列表中选择"),
    ({**BREACH, "category": "pump", "quantity": "six"}, "quantity", "需求数量 quantity：“six”不是整数"),
    ({**BREACH, "category": "pump", "quantity": "0"}, "quantity", "需求数量"),
    ({**BREACH, "item_type": "999999"}, "item_type", "物资品目 999999 不存在"),
])
async def test_a_bad_question_is_a_readable_error_on_the_page_naming_the_field(
    client: Any, client_as: Any, query: dict[str, str], field: str, said: str,
) -> None:
    await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    page = await commander.get(PAGE, params=query)
    assert page.status_code == 422, page.text
    assert f'<li data-field="{field}">' in page.text, page.text
    assert said in page.text
    assert parsed(page.text).rows == []
    assert 'id="ask"' in page.text, "the form is shown again with what was typed"


async def reserve_form(commander: Any, query: dict[str, Any], row: int = 0) -> tuple[dict[str, str], Any]:
    page = await commander.get(PAGE, params=query)
    assert page.status_code == 200, page.text
    forms = reserve_forms(page.text)
    assert forms, "a commander sees the reserve forms"
    return forms[row], page


async def test_reserving_from_a_source_creates_one_order_and_a_retry_creates_none(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    query = {**BREACH, **PUMPS}
    form, page = await reserve_form(commander, query)
    first = parsed(page.text).rows[0]
    assert (form["site_id"], form["item_type_id"]) == (str(first["site"]), str(first["item"]))
    assert form["incident_id"] == str(ids["incident"])
    assert form["quantity"] == "2", "prefilled with what this source covers (both of its pumps)"
    assert form["approval_mode"] == "oral" and form["approved_by"] == "chief"
    assert form["_csrf_token"] and form["idempotency_key"]
    posts = [await commander.post("/availability/reserve", data=form) for _ in range(2)]  # a double tap
    assert [p.status_code for p in posts] == [303, 303], posts[0].text
    assert posts[0].headers["location"] == posts[1].headers["location"]
    dispatch_id = int(posts[0].headers["location"].removeprefix("/dispatches/"))
    orders = (await client.get("/api/v1/dispatches", params={"incident": ids["incident"]})).json()
    assert orders["total"] == 1
    order = orders["items"][0]
    assert (order["id"], order["status"], order["approval_mode"], order["approved_by"], order["created_by"]) == (
        dispatch_id, "reserved", "oral", "chief", "chief")
    assert sorted((ln["location_id"], ln["item_type_id"], ln["quantity"]) for ln in order["lines"]) == [
        (first["site"], first["item"], 1)] * 2
    # The reserved pumps are no longer available: asked again, that source is gone.
    again = await commander.get(PAGE, params=query)
    assert first["site"] not in {r["site"] for r in parsed(again.text).rows if r["item"] == first["item"]}
    # A second order from a fresh form is a new order (a new key).
    form, _ = await reserve_form(commander, query)
    r = await commander.post("/availability/reserve", data={**form, "quantity": "1"})
    assert r.status_code == 303, r.text
    assert (await client.get("/api/v1/dispatches", params={"incident": ids["incident"]})).json()["total"] == 2


async def test_a_reservation_the_source_cannot_cover_is_refused_on_the_page_and_changes_nothing(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    form, _ = await reserve_form(commander, {**BREACH, **PUMPS})
    refused = await commander.post("/availability/reserve", data={**form, "quantity": "9"})
    assert refused.status_code == 409, refused.text
    assert "预留未完成，未做任何更改" in refused.text and "库存不足" in refused.text
    assert len(parsed(refused.text).rows) == 3, "the question is answered again under the error"
    written = await commander.post("/availability/reserve", data={**form, "approval_mode": "written",
                                                                  "document_no": ""})
    assert written.status_code == 422
    assert "批准文号：书面批准须填写批准文号" in written.text
    closed = await client.post(f"/api/v1/incidents/{ids['incident']}/close")
    assert closed.status_code == 200, closed.text
    late = await commander.post("/availability/reserve", data=form)
    assert late.status_code == 409
    assert "已关闭" in late.text
    assert (await client.get("/api/v1/dispatches")).json()["total"] == 0
    page = await commander.get(PAGE, params={**BREACH, **PUMPS})
    assert not reserve_forms(page.text)
    assert "没有进行中的事件" in page.text


@pytest.mark.parametrize("role", ["keeper", "auditor"])
async def test_a_keeper_or_auditor_sees_no_reserve_form_and_a_forged_post_is_refused(
    client: Any, client_as: Any, role: str,
) -> None:
    ids = await stock(client)
    commander = await page_client(client_as, "commander", "chief", **CITY)
    form, _ = await reserve_form(commander, {**BREACH, **PUMPS})
    other = await page_client(client_as, role, f"p-{role}", **({"scope_regions": ["360121"]} if role == "keeper"
                                                               else {}))
    page = await other.get(PAGE, params={**BREACH, **PUMPS})
    assert page.status_code == 200
    assert not reserve_forms(page.text)
    assert "/availability/reserve" not in page.text
    forged = await other.post("/availability/reserve", data={**form, "_csrf_token": other.cookies["inv_csrf"]})
    assert forged.status_code == 403, forged.text
    assert "不能下达动用指令" in forged.text and "未做任何更改" in forged.text
    assert (await client.get("/api/v1/dispatches", params={"incident": ids["incident"]})).json()["total"] == 0
    stolen = await other.post("/availability/reserve", data=form)  # another user's CSRF token
    assert stolen.status_code == 403
    assert (await client.get("/api/v1/dispatches")).json()["total"] == 0


async def test_the_incident_pages_link_preselects_its_incident_and_the_nearest_comes_first_otherwise(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    other = (await created(client, "/api/v1/incidents", {"name": "东湖区内涝", "kind": "waterlogging",
                                                         "region_code": "360102", "lat": 28.70, "lon": 115.91}))["id"]
    commander = await page_client(client_as, "commander", "chief", **CITY)
    nearest, page = await reserve_form(commander, {**BREACH, **PUMPS})
    assert nearest["incident_id"] == str(ids["incident"]), "the incident at the breach is the nearest"
    assert "（距查询点 0.0 公里）" in page.text
    linked, page = await reserve_form(commander, {**BREACH, **PUMPS, "incident": str(other)})
    assert linked["incident_id"] == str(other)
    assert f"incident={other}" in linked["back"]
    r = await commander.post("/availability/reserve", data=linked)
    assert r.status_code == 303, r.text
    assert (await client.get("/api/v1/dispatches", params={"incident": other})).json()["total"] == 1
