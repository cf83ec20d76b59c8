"""The incident and dispatch-order pages over HTTP, as a browser without script uses them: filter, page, open an
incident, record paperwork, cancel — and what keepers and auditors may not do."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update

from inventory.places.geo import gcj02_to_wgs84
from inventory.store.db import Database
from inventory.store.models import Dispatch, utcnow
from tests.api.helpers import item_type_body, location_body
from tests.api.test_write_offs_page import forms, page_client

BEIJING = dt.timezone(dt.timedelta(hours=8))
ROWS = re.compile(r'<tr data-incident="(\d+)">')


async def setup(client: Any) -> dict[str, int]:
    """Two depots with 100 woven bags each, and an open incident in 南昌县 (through the API)."""
    near = (await client.post("/api/v1/locations", json=location_body("D-NEAR"))).json()["id"]
    far = (await client.post("/api/v1/locations", json=location_body(
        "D-FAR", name="东湖区储备库", region_code="360102", lat=28.68, lon=115.90))).json()["id"]
    bag = (await client.post("/api/v1/item-types", json=item_type_body(
        "BAG", name="编织袋", unit="条", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[]))).json()["id"]
    for loc in (near, far):
        r = await client.post("/api/v1/movements", json={"kind": "receipt", "location_id": loc,
                                                         "lines": [{"item_type_id": bag, "quantity": 100}]})
        assert r.status_code == 201, r.text
    incident = await open_incident(client, "向塘镇内涝", "waterlogging")
    return {"near": near, "far": far, "bag": bag, "incident": incident}


async def open_incident(client: Any, name: str, kind: str, region: str = "360121") -> int:
    r = await client.post("/api/v1/incidents", json={"name": name, "kind": kind, "region_code": region,
                                                     "lat": 28.50, "lon": 115.95})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def order(client: Any, incident: int, source: int, quantity: int = 20) -> dict[str, Any]:
    """An orally approved order for woven bags from one depot (its paperwork due within 48 hours)."""
    r = await client.post(f"/api/v1/incidents/{incident}/dispatches", json={
        "lines": [{"item_type": "BAG", "quantity": quantity, "from_location_id": source}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_overdue(db: Database, dispatch_id: int) -> None:
    """Move the paperwork deadline into the past, as if the oral approval were three days old."""
    async with db.write() as session:
        await session.execute(update(Dispatch).where(Dispatch.id == dispatch_id)
                              .values(paperwork_due_at=utcnow() - dt.timedelta(hours=24)))


def listed(html: str) -> list[int]:
    """The incident ids in the list, top to bottom."""
    return [int(i) for i in ROWS.findall(html)]


async def stock(client: Any, location: int, item: int) -> tuple[int, int]:
    rows = (await client.get("/api/v1/stock", params={"location_id": location, "item_type_id": item})).json()
    return rows["items"][0]["on_hand"], rows["items"][0]["reserved"]


async def test_the_list_filters_by_status_type_name_and_date_and_pages_newest_first(
    client: Any, client_as: Any, db: Database, anonymous: Any,
) -> None:
    ids = await setup(client)
    levee = await open_incident(client, "蒋巷镇圩堤管涌", "flood")
    slide = await open_incident(client, "梅岭山体滑坡", "landslide", region="360112")
    assert (await client.post(f"/api/v1/incidents/{slide}/close")).status_code == 200
    d = await order(client, levee, ids["near"])
    await make_overdue(db, d["id"])
    auditor = await page_client(client_as, "auditor", "shen")

    page = await auditor.get("/incidents")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [levee, ids["incident"]]  # open ones by default, newest first
    row = page.text[page.text.index(f'data-incident="{levee}"'):]
    row = row[: row.index("</tr>")]
    for text in ("蒋巷镇圩堤管涌", "洪涝", "南昌市南昌县", "处置中", "书面手续逾期 1"):
        assert text in row, text
    assert re.search(r'<td class="n">1</td>', row), row  # one order under way
    assert "书面手续逾期" not in page.text[page.text.index(f'data-incident="{ids["incident"]}"'):]

    async def shown(**params: str) -> list[int]:
        r = await auditor.get("/incidents", params=params)
        assert r.status_code == 200, r.text
        return listed(r.text)

    assert await shown(status="closed") == [slide]
    assert await shown(status="all") == [slide, levee, ids["incident"]]
    assert await shown(status="all", kind="flood") == [levee]
    assert await shown(status="all", q="圩堤") == [levee]
    assert await shown(status="all", q="%") == []  # a wildcard is a character like any other
    today = dt.datetime.now(BEIJING).date()
    every = [slide, levee, ids["incident"]]
    assert await shown(status="all", since=today.isoformat(), until=today.isoformat()) == every
    assert await shown(status="all", since=(today + dt.timedelta(days=1)).isoformat()) == []
    assert await shown(status="all", until=(today - dt.timedelta(days=1)).isoformat()) == []

    first = await auditor.get("/incidents", params={"status": "all", "limit": "2"})
    assert listed(first.text) == [slide, levee]
    assert "第 1–2 起，共 3 起" in first.text
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert next_url, first.text
    target = next_url.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(target).query) == {"status": ["all"], "limit": ["2"], "offset": ["2"]}
    second = await auditor.get(target)
    assert listed(second.text) == [ids["incident"]]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text

    bad = await auditor.get("/incidents", params={"since": "2026-13-40"})
    assert bad.status_code == 422
    assert "开始日期" in bad.text and "不是日期" in bad.text
    assert (await auditor.get("/incidents", params={"limit": "0"})).status_code == 422
    signed_out = await anonymous.get("/incidents?status=all")
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/login?next=/incidents")


async def test_a_commander_opens_an_incident_with_the_form_once_whatever_the_taps(client: Any, client_as: Any) -> None:
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    page = await chief.get("/incidents")
    form = forms(page.text)["/incidents"]
    assert form["_csrf_token"] and form["idempotency_key"]
    assert '<option value="360121105000">南昌县 蒋巷镇</option>' in page.text  # townships to pick from
    typed = {**form, "name": "蒋巷镇圩堤管涌", "kind": "flood", "region_code": "360121105000",
             "lat": "28.6051", "lon": "116.0432", "crs": "gcj02"}
    tapped = [await chief.post("/incidents", data=typed) for _ in range(2)]  # a double tap
    assert tapped[0].status_code == 303, tapped[0].text
    assert tapped[0].headers["location"] == tapped[1].headers["location"]
    incident_id = int(tapped[0].headers["location"].split("/")[2].split("?")[0])
    made = (await client.get("/api/v1/incidents", params={"status": "open"})).json()
    assert [i["id"] for i in made["items"]] == [incident_id]
    stored = made["items"][0]
    lon, lat = gcj02_to_wgs84(116.0432, 28.6051)
    assert (stored["source_crs"], round(stored["lat"], 6), round(stored["lon"], 6)) == ("gcj02", round(lat, 6),
                                                                                          round(lon, 6))
    shown = await chief.get(tapped[0].headers["location"])
    for text in ("事件已登记", "蒋巷镇圩堤管涌", "南昌市南昌县蒋巷镇", "尚未下达动用指令", "高德"):
        assert text in shown.text, text
    nearby = re.search(r'href="(/availability\?[^"]+)"', shown.text)
    assert nearby, shown.text
    query = parse_qs(urlsplit(nearby.group(1).replace("&amp;", "&")).query)
    assert (query["lat"], query["lon"]) == ([f"{stored['lat']:.6f}"], [f"{stored['lon']:.6f}"])

    # Two copies of one form at the same moment (a double tap on a slow network): one incident.
    fresh = forms((await chief.get("/incidents")).text)["/incidents"]
    racing = {**fresh, "name": "黄马乡山洪", "kind": "flood", "region_code": "360121", "lat": "28.40", "lon": "116.00"}
    both = await asyncio.gather(*(chief.post("/incidents", data=racing) for _ in range(2)))
    assert [r.status_code for r in both] == [303, 303], [r.text[:300] for r in both]
    assert both[0].headers["location"] == both[1].headers["location"]
    assert (await client.get("/api/v1/incidents", params={"status": "open"})).json()["total"] == 2

    # A pair pasted from a map picker (longitude first) into 纬度, and a place given by its township alone.
    fresh = forms((await chief.get("/incidents")).text)["/incidents"]
    r = await chief.post("/incidents", data={**fresh, "name": "向塘镇内涝", "kind": "waterlogging",
                                              "region_code": "360121", "lat": "115.95, 28.50", "lon": ""})
    assert r.status_code == 303, r.text
    fresh = forms((await chief.get("/incidents")).text)["/incidents"]
    r = await chief.post("/incidents", data={**fresh, "name": "幽兰镇内涝", "kind": "waterlogging",
                                              "region_code": "360121", "lat": "", "lon": ""})
    assert r.status_code == 303, r.text
    items = (await client.get("/api/v1/incidents")).json()["items"]
    centre_lon, centre_lat = gcj02_to_wgs84(115.933742, 28.558296)  # 南昌县's published centre (GCJ-02)
    assert [(i["name"], round(i["lat"], 5), round(i["lon"], 5)) for i in items[:2]] == [
        ("幽兰镇内涝", round(centre_lat, 5), round(centre_lon, 5)), ("向塘镇内涝", 28.5, 115.95)]


async def test_a_form_with_a_mistake_says_which_field_in_chinese_and_opens_nothing(client: Any, client_as: Any) -> None:
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    form = forms((await chief.get("/incidents")).text)["/incidents"]
    good = {**form, "name": "蒋巷镇圩堤管涌", "kind": "flood", "region_code": "360121", "lat": "28.60",
            "lon": "116.04", "crs": "wgs84"}
    cases = [({"name": " "}, "事件名称"), ({"lon": ""}, "经度"), ({"lat": "北纬28度"}, "纬度"),
             ({"lat": "116.04", "lon": "28.60"}, "填反"), ({"region_code": "", "region_other": "369999"}, "行政区划"),
             ({"kind": "meteor"}, "事件类型"), ({"crs": "utm"}, "坐标系"), ({"lat": "nan"}, "纬度")]
    for change, named in cases:
        r = await chief.post("/incidents", data={**good, **change})
        assert r.status_code == 422, (change, r.text)
        error = re.search(r'<p class="err" role="alert"[^>]*>([^<]+)</p>', r.text)
        assert error and named in error.group(1), (change, error and error.group(1))
        assert "登记新事件" in r.text  # the form is shown again, filled in
        assert (await client.get("/api/v1/incidents")).json()["total"] == 0
    again = forms(r.text)["/incidents"]
    assert again["name"] == "蒋巷镇圩堤管涌" and again["idempotency_key"] != form["idempotency_key"]


async def test_the_order_page_shows_lines_status_history_vouchers_and_overdue_paperwork(
    client: Any, client_as: Any, db: Database,
) -> None:
    ids = await setup(client)
    d = await order(client, ids["incident"], ids["near"])
    await make_overdue(db, d["id"])
    auditor = await page_client(client_as, "auditor", "shen")
    page = await auditor.get(f"/dispatches/{d['id']}")
    assert page.status_code == 200, page.text
    for text in (f"动用指令 #{d['id']}", "向塘镇内涝", "编织袋", "20条", "南昌县综合应急物资储备库", "已预留，待出库",
                 "书面手续逾期", "已逾期", "口头批准", "值班领导", "下达指令，预留物资", "YL"):
        assert text in page.text, text
    incident = await auditor.get(f"/incidents/{ids['incident']}")
    assert incident.status_code == 200, incident.text
    for text in (f'href="/dispatches/{d["id"]}"', "书面手续逾期", "编织袋", "20条", "就近查找", "进行中 1 条"):
        assert text in incident.text, text
    listed_orders = await auditor.get("/dispatches", params={"paperwork": "overdue"})
    assert f'data-dispatch="{d["id"]}"' in listed_orders.text
    assert 'data-dispatch="' not in (await auditor.get("/dispatches", params={"status": "in_transit"})).text

    keeper = await client_as("keeper", "k1", scope_regions=["360121"])
    assert (await keeper.post(f"/api/v1/dispatches/{d['id']}/execute", json={})).status_code == 200
    page = await auditor.get(f"/dispatches/{d['id']}")
    for text in ("在途", "已出库，在途", "出库执行，调往事件现场", "k1", "DB"):
        assert text in page.text, text
    assert "书面手续逾期" in page.text  # executing does not do the paperwork
    assert "出库执行：k1" in (await auditor.get(f"/incidents/{ids['incident']}")).text

    assert (await keeper.post(f"/api/v1/dispatches/{d['id']}/deliver")).status_code == 200
    r = await keeper.post(f"/api/v1/dispatches/{d['id']}/return", json={"to_location_id": ids["near"]})
    assert r.status_code == 200, r.text
    page = await auditor.get(f"/dispatches/{d['id']}")
    expected = ["下达指令，预留物资", "出库执行，调往事件现场", "事件现场签收", "归还，调回储备库",
                "储备库收回入库"]
    assert re.findall(r"<td>(" + "|".join(expected) + r")</td>", page.text) == expected
    assert "已归还" in page.text and "SH" in page.text
    assert "进行中 0 条，共 1 条" in (await auditor.get(f"/incidents/{ids['incident']}")).text


async def test_recording_the_written_paperwork_on_the_page_once(client: Any, client_as: Any, db: Database) -> None:
    ids = await setup(client)
    d = await order(client, ids["incident"], ids["near"])
    await make_overdue(db, d["id"])
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    action = f"/dispatches/{d['id']}/paperwork"
    form = forms((await chief.get(f"/dispatches/{d['id']}")).text)[action]
    empty = await chief.post(action, data={**form, "document_no": "  "})
    assert empty.status_code == 422
    assert "书面批准文号" in empty.text
    tapped = [await chief.post(action, data={**form, "document_no": "县防指〔2026〕3号"}) for _ in range(2)]
    assert [(t.status_code, t.headers.get("location")) for t in tapped] == [
        (303, f"/dispatches/{d['id']}?done=paperwork")] * 2
    stored = (await client.get(f"/api/v1/dispatches/{d['id']}")).json()
    assert (stored["document_no"], stored["paperwork_overdue"]) == ("县防指〔2026〕3号", False)
    page = await chief.get(f"/dispatches/{d['id']}?done=paperwork")
    assert "书面手续已登记" in page.text and "县防指〔2026〕3号" in page.text
    assert action not in forms(page.text)  # nothing left to record
    assert 'class="badge overdue"' not in (await chief.get("/incidents")).text
    late = await chief.post(action, data={**forms(empty.text)[action], "document_no": "另一个文号"})
    assert late.status_code == 409
    assert "已于" in late.text
    assert (await client.get(f"/api/v1/dispatches/{d['id']}")).json()["document_no"] == "县防指〔2026〕3号"


async def test_cancelling_on_the_page_asks_for_confirmation_and_releases_the_reservation(
    client: Any, client_as: Any,
) -> None:
    ids = await setup(client)
    d = await order(client, ids["incident"], ids["near"], quantity=30)
    assert await stock(client, ids["near"], ids["bag"]) == (100, 30)
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    action = f"/dispatches/{d['id']}/cancel"
    page = await chief.get(f"/dispatches/{d['id']}")
    assert "确认取消此动用指令" in page.text
    form = forms(page.text)[action]
    unconfirmed = await chief.post(action, data={k: v for k, v in form.items() if k != "confirm"})
    assert unconfirmed.status_code == 422
    assert "确认" in unconfirmed.text
    assert await stock(client, ids["near"], ids["bag"]) == (100, 30)
    tapped = [await chief.post(action, data={**form, "confirm": "yes"}) for _ in range(2)]
    assert [(t.status_code, t.headers.get("location")) for t in tapped] == [
        (303, f"/dispatches/{d['id']}?done=cancelled")] * 2
    assert await stock(client, ids["near"], ids["bag"]) == (100, 0)
    near = (await client.get("/api/v1/availability/nearest", params={
        "lat": 28.5457, "lon": 115.9440, "item_type": "BAG", "quantity": 200})).json()
    assert near["fulfilled"], near
    assert (await client.get(f"/api/v1/dispatches/{d['id']}")).json()["status"] == "cancelled"
    page = await chief.get(f"/dispatches/{d['id']}?done=cancelled")
    for text in ("已取消", "已释放", "取消，释放预留", "chief"):
        assert text in page.text, text
    assert action not in forms(page.text)
    assert f'data-dispatch="{d["id"]}"' in (await chief.get("/dispatches", params={"status": "cancelled"})).text
    # Closing the incident: confirmed, once.
    close = f"/incidents/{ids['incident']}/close"
    form = forms((await chief.get(f"/incidents/{ids['incident']}")).text)[close]
    r = await chief.post(close, data={**form, "confirm": "yes"})
    assert (r.status_code, r.headers["location"]) == (303, f"/incidents/{ids['incident']}?done=closed")
    assert (await client.get(f"/api/v1/incidents/{ids['incident']}")).json()["status"] == "closed"
    assert close not in forms((await chief.get(f"/incidents/{ids['incident']}")).text)


async def test_keepers_and_auditors_see_no_forms_and_forged_posts_are_refused(
    client: Any, client_as: Any, db: Database,
) -> None:
    ids = await setup(client)
    d = await order(client, ids["incident"], ids["near"])
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    chief_forms = {
        **forms((await chief.get("/incidents")).text), **forms((await chief.get(f"/dispatches/{d['id']}")).text),
        **forms((await chief.get(f"/incidents/{ids['incident']}")).text)}
    posts = {"/incidents": {"name": "伪造事件", "kind": "flood", "region_code": "360121", "lat": "28.5",
                            "lon": "115.9"},
             f"/dispatches/{d['id']}/paperwork": {"document_no": "伪造文号"},
             f"/dispatches/{d['id']}/cancel": {"confirm": "yes"},
             f"/incidents/{ids['incident']}/close": {"confirm": "yes"}}
    assert set(posts) <= set(chief_forms)
    keeper = await page_client(client_as, "keeper", "wang", scope_regions=["360121"])
    auditor = await page_client(client_as, "auditor", "shen")
    for who in (keeper, auditor):
        for path in ("/incidents", f"/incidents/{ids['incident']}", f"/dispatches/{d['id']}", "/dispatches"):
            page = await who.get(path)
            assert page.status_code == 200, page.text
            # logout and the filters; the keeper whose depot holds the reservation executes it (出库) from here
            own = {f"/dispatches/{d['id']}/execute"} if who is keeper and path == f"/dispatches/{d['id']}" else set()
            assert set(forms(page.text)) <= {"/logout", "/incidents", "/dispatches", *own}, path
            assert "登记新事件" not in page.text and "确认取消" not in page.text and "确认关闭" not in page.text
        csrf = forms((await who.get("/incidents")).text)["/logout"]["_csrf_token"]
        for path, fields in posts.items():
            r = await who.post(path, data={**chief_forms[path], **fields, "_csrf_token": csrf})
            assert r.status_code == 403, (path, r.text)
            assert "权限" in r.text
    stored = (await client.get(f"/api/v1/dispatches/{d['id']}")).json()
    assert (stored["status"], stored["document_no"]) == ("reserved", None)
    assert (await client.get(f"/api/v1/incidents/{ids['incident']}")).json()["status"] == "open"
    assert (await client.get("/api/v1/incidents")).json()["total"] == 1
    assert await stock(client, ids["near"], ids["bag"]) == (100, 20)
    # Without the CSRF token the middleware refuses before the page is reached.
    r = await chief.post(f"/dispatches/{d['id']}/cancel", data={**chief_forms[f"/dispatches/{d['id']}/cancel"],
                                                                 "confirm": "yes", "_csrf_token": "forged"})
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/dispatches/{d['id']}")).json()["status"] == "reserved"
    # The keeper whose depot holds the reservation is pointed to where the order is executed.
    page = await keeper.get(f"/dispatches/{d['id']}")
    assert "保管员办理" in page.text and 'data-step="execute"' in page.text and "/execute" in page.text
    far_keeper = await page_client(client_as, "keeper", "li", scope_regions=["360102"])
    assert 'data-step="execute"' not in (await far_keeper.get(f"/dispatches/{d['id']}")).text
    assert "保管员办理" not in (await auditor.get(f"/dispatches/{d['id']}")).text


async def test_unknown_incidents_and_orders_are_a_chinese_404(client: Any, client_as: Any) -> None:
    auditor = await page_client(client_as, "auditor", "shen")
    for path in ("/incidents/999999", "/dispatches/999999", "/incidents/99999999999", "/dispatches/0"):
        r = await auditor.get(path)
        assert r.status_code == 404, (path, r.text)
        assert "不存在" in r.text
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    csrf = forms((await chief.get("/incidents")).text)["/logout"]["_csrf_token"]
    r = await chief.post("/dispatches/999999/cancel", data={"_csrf_token": csrf, "confirm": "yes"})
    assert r.status_code == 404
    assert "不存在" in r.text
