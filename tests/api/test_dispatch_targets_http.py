"""Response-time targets over HTTP: the incident's level, an order's target and estimate, ``late=true``, and the
pages that show them (orders placed at fixed times in the past through the service, read through the app)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from inventory.access.scope import Principal
from inventory.response import dispatch
from inventory.response.schemas import Approval, DispatchCreate, DispatchLineRequest, ExecuteRequest
from inventory.store.db import Database
from inventory.store.models import utcnow
from tests.api.helpers import assert_problem, item_type_body, location_body
from tests.api.test_write_offs_page import forms, page_client

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
INCIDENTS, DISPATCHES = "/api/v1/incidents", "/api/v1/dispatches"
HOUR = dt.timedelta(hours=1)
LATE_ROW = re.compile(r'<tr data-dispatch="(\d+)">')


async def setup(client: Any, level: str | None = "county") -> dict[str, int]:
    """南昌县's depot near the incident and 赣州's some 300 km away, 500 woven bags each; an incident at 向塘镇."""
    near = (await client.post("/api/v1/locations", json=location_body("D-NEAR"))).json()["id"]
    far = (await client.post("/api/v1/locations", json=location_body(
        "D-GZ", name="赣州市储备库", region_code="360702", lat=25.83, lon=114.93))).json()["id"]
    bag = (await client.post("/api/v1/item-types", json=item_type_body(
        "BAG", name="编织袋", unit="条", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[]))).json()["id"]
    for loc in (near, far):
        r = await client.post("/api/v1/movements", json={"kind": "receipt", "location_id": loc,
                                                         "lines": [{"item_type_id": bag, "quantity": 500}]})
        assert r.status_code == 201, r.text
    body: dict[str, Any] = {"name": "向塘镇内涝", "kind": "waterlogging", "region_code": "360121", "lat": 28.50,
                            "lon": 115.95}
    if level is not None:
        body["level"] = level
    r = await client.post(INCIDENTS, json=body)
    assert r.status_code == 201, r.text
    return {"near": near, "far": far, "bag": bag, "incident": r.json()["id"]}


def order(source: int, quantity: int = 10) -> dict[str, Any]:
    return {"lines": [{"item_type": "BAG", "quantity": quantity, "from_location_id": source}],
            "approval": {"mode": "oral", "approved_by": "值班领导"}}


async def test_an_incident_carries_its_level_and_a_bad_one_is_422_naming_the_field(client: Any) -> None:
    ids = await setup(client, level=None)
    assert (await client.get(f"{INCIDENTS}/{ids['incident']}")).json()["level"] == "county"  # the default
    r = await client.post(INCIDENTS, json={"name": "赣江洪水", "kind": "flood", "region_code": "360121", "lat": 28.6,
                                           "lon": 115.9, "level": "province"})
    assert r.status_code == 201, r.text
    assert r.json()["level"] == "province"
    for bad in ("town", "", 3, None):
        r = await client.post(INCIDENTS, json={"name": "x", "kind": "flood", "region_code": "360121", "lat": 28.6,
                                               "lon": 115.9, "level": bad})
        assert_problem(r, 422, field="level")
    assert (await client.get(INCIDENTS)).json()["total"] == 2


async def test_an_order_says_its_target_whether_the_estimate_meets_it_and_whether_delivery_did(
    client: Any,
) -> None:
    ids = await setup(client, level="city")
    r = await client.post(f"{INCIDENTS}/{ids['incident']}/dispatches", json=order(ids["far"]))
    assert r.status_code == 201, r.text
    far = r.json()
    assert far["target_hours"] == 8.0
    assert far["estimated_minutes"] > 8 * 60
    assert far["estimate_meets_target"] is False
    assert far["ordered_at"] == far["created_at"]
    assert (far["executed_at"], far["delivered_at"], far["delivered_within_target"], far["late"]) == (
        None, None, None, False)
    r = await client.post(f"{INCIDENTS}/{ids['incident']}/dispatches", json=order(ids["near"]))
    near = r.json()
    assert (near["estimate_meets_target"], near["estimated_minutes"] < 60) == (True, True)

    r = await client.post(f"{DISPATCHES}/{near['id']}/execute", json={})
    assert r.status_code == 200, r.text
    assert r.json()["executed_at"] is not None and r.json()["delivered_at"] is None
    r = await client.post(f"{DISPATCHES}/{near['id']}/deliver")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "delivered" and done["delivered_at"] >= done["executed_at"] >= done["ordered_at"]
    assert (done["delivered_within_target"], done["late"]) == (True, False)
    assert (await client.get(f"{DISPATCHES}/{near['id']}")).json()["delivered_within_target"] is True


async def place(db: Database, incident: int, source: int, at: dt.datetime) -> int:
    async with db.write() as s:
        d = await dispatch.create_dispatch(s, incident, DispatchCreate(
            approval=Approval(mode="oral", approved_by="值班领导"),
            lines=[DispatchLineRequest(item_type="BAG", quantity=5, from_location_id=source)]),
            actor="admin", now=at, targets={"county": 6.0, "city": 8.0, "province": 10.0})
        return d.id


async def deliver(db: Database, dispatch_id: int, at: dt.datetime) -> None:
    async with db.write() as s:
        await dispatch.execute_dispatch(s, dispatch_id, ExecuteRequest(), ADMIN, now=at - HOUR)
        await dispatch.deliver_dispatch(s, dispatch_id, ADMIN, now=at)


async def test_late_true_lists_exactly_the_late_orders_and_the_pages_show_them_in_red(
    client: Any, client_as: Any, db: Database,
) -> None:
    ids = await setup(client)  # county: 6 hours
    now = utcnow()
    open_late = await place(db, ids["incident"], ids["near"], now - 10 * HOUR)
    delivered_late = await place(db, ids["incident"], ids["near"], now - 10 * HOUR)
    await deliver(db, delivered_late, now - 3 * HOUR)  # 7 hours after the order
    on_time = await place(db, ids["incident"], ids["near"], now - 10 * HOUR)
    await deliver(db, on_time, now - 5 * HOUR)  # 5 hours after the order
    fresh = await place(db, ids["incident"], ids["near"], now - HOUR)

    late = (await client.get(DISPATCHES, params={"late": "true"})).json()
    assert sorted(x["id"] for x in late["items"]) == sorted([open_late, delivered_late])
    assert late["total"] == 2 and all(x["late"] for x in late["items"])
    not_late = (await client.get(DISPATCHES, params={"late": "false"})).json()
    assert sorted(x["id"] for x in not_late["items"]) == sorted([on_time, fresh])
    both = (await client.get(DISPATCHES, params={"late": "true", "incident": ids["incident"],
                                                 "status": "delivered"})).json()
    assert [x["id"] for x in both["items"]] == [delivered_late]
    bad = await client.get(DISPATCHES, params={"late": "maybe"})
    assert_problem(bad, 422, field="late")

    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    page = await chief.get("/dispatches", params={"late": "true"})
    assert page.status_code == 200, page.text
    assert sorted(int(i) for i in LATE_ROW.findall(page.text)) == sorted([open_late, delivered_late])
    assert '<option value="true" selected>超时</option>' in page.text
    assert (await chief.get("/dispatches", params={"late": "soon"})).status_code == 422
    shown = (await chief.get(f"/dispatches/{delivered_late}")).text
    target = re.search(r'<dd id="response-target">(.*?)</dd>', shown, re.S)
    assert target, shown
    assert "县级响应 6 小时" in target.group(1)
    assert '<strong class="late">超时送达</strong>' in target.group(1)
    assert "满足时限" in target.group(1)  # the estimate from 南昌县 was well within
    assert 'id="late-badge"' in shown
    shown = (await chief.get(f"/dispatches/{on_time}")).text
    assert "在时限内送达" in shown and 'id="late-badge"' not in shown
    shown = (await chief.get(f"/dispatches/{open_late}")).text
    assert "已超过到达时限，尚未签收" in shown


async def test_the_estimate_that_misses_the_target_is_red_on_the_order_page(client: Any, client_as: Any) -> None:
    ids = await setup(client)
    far = (await client.post(f"{INCIDENTS}/{ids['incident']}/dispatches", json=order(ids["far"]))).json()
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    shown = (await chief.get(f"/dispatches/{far['id']}")).text
    target = re.search(r'<dd id="response-target">(.*?)</dd>', shown, re.S)
    assert target and '<strong class="late">超出时限</strong>' in target.group(1), shown
    hours, minutes = divmod(round(far["estimated_minutes"]), 60)
    assert f"约 {hours} 小时 {minutes} 分" in target.group(1)


async def test_the_commander_picks_the_level_on_the_incident_form(client: Any, client_as: Any) -> None:
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    page = await chief.get("/incidents")
    assert '<option value="city">市级（8 小时内到达）</option>' in page.text
    form = forms(page.text)["/incidents"]
    typed = {**form, "name": "赣江南昌段洪水", "kind": "flood", "region_code": "360121", "lat": "28.60",
             "lon": "116.04", "crs": "wgs84", "level": "city"}
    r = await chief.post("/incidents", data=typed)
    assert r.status_code == 303, r.text
    shown = await chief.get(r.headers["location"])
    assert re.search(r'<dd id="incident-level">市级</dd>', shown.text), shown.text
    assert [i["level"] for i in (await client.get(INCIDENTS)).json()["items"]] == ["city"]
    form = forms((await chief.get("/incidents")).text)["/incidents"]
    r = await chief.post("/incidents", data={**typed, **form, "name": "另一险情", "level": "township"})
    assert r.status_code == 422, r.text
    error = re.search(r'<p class="err" role="alert"[^>]*>([^<]+)</p>', r.text)
    assert error and "响应级别" in error.group(1), r.text
    assert (await client.get(INCIDENTS)).json()["total"] == 1
