"""Leases over HTTP: lend a pump out and take it back, lease in and give back, errors, extension, fees, retries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from inventory.clock import beijing_today
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from tests.api.helpers import NANCHANG_COUNTY, assert_problem, item_type_body, location_body
from tests.api.test_scan_pages_http import phone_as  # noqa: F401  (the signed-in phone fixture)

LEASES = "/api/v1/leases"
NEAREST = "/api/v1/availability/nearest"
TODAY = beijing_today()  # leases count days in Beijing time


@dataclass
class Site:
    """南昌县's depot with two pumps and 20 tents (one lot), 东湖区's depot; a keeper of 南昌县."""

    depot: int
    other: int
    pump: int
    tent: int
    units: list[int]
    keeper: Any


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(admin: Any, client_as: Any) -> Site:
    depot = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    other = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90)))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    units = [(await created(admin, "/api/v1/assets", {"item_type_id": pump, "serial_number": f"BC-{i}",
                                                      "location_id": depot}))["id"] for i in (1, 2)]
    await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": depot, "lines": [
        {"item_type_id": tent, "quantity": 20, "lot": {"number": "L1"}}]})
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    return Site(depot, other, pump, tent, units, keeper)


def lend_body(s: Site, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "direction": "out", "counterparty": "进贤县应急管理局", "counterparty_kind": "unit", "contact_name": "刘科长",
        "contact_phone": "0791-85600000", "agreement_number": "JX-2026-01", "location_id": s.depot,
        "start_date": str(TODAY), "due_date": str(TODAY + dt.timedelta(days=7)), "fee_basis": "per_day",
        "rate": 200, "deposit": 5000, "lines": [{"item_type_id": s.pump, "asset_id": s.units[0]}],
    }
    body.update(over)
    return body


async def offered(client: Any, depot: int) -> int:
    r = await client.get(NEAREST, params={"lat": NANCHANG_COUNTY["lat"], "lon": NANCHANG_COUNTY["lon"],
                                          "item_type": "PUMP-300", "quantity": 1})
    assert r.status_code == 200, r.text
    return sum(src["available"] for src in r.json()["sources"] if src["location"]["id"] == depot)


async def assert_verified(db: Database) -> None:
    async with db.read() as session:
        report = await verify_ledger(session)
    assert report.ok, report.differences


async def test_a_lent_pump_is_not_offered_by_nearest_and_is_offered_again_after_its_return(
        client: Any, client_as: Any, db: Database, phone_as: Any) -> None:  # noqa: F811
    s = await make_site(client, client_as)
    assert await offered(client, s.depot) == 2
    lease = await created(s.keeper, LEASES, lend_body(s))
    assert lease["status"] == "draft" and lease["fee"]["amount"] == 0
    r = await s.keeper.post(f"{LEASES}/{lease['id']}/out")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "active" and out["counterparty_location_id"]
    unit = (await client.get(f"/api/v1/assets/{s.units[0]}")).json()
    assert (unit["status"], unit["location_id"]) == ("leased_out", out["counterparty_location_id"])
    assert await offered(client, s.depot) == 1
    await assert_verified(db)
    # Scanning the lent unit's label: who has it since when, and the lease with its due date.
    scan = (await s.keeper.get(f"/api/v1/scan/{unit['label_code']}")).json()
    assert scan["holder"] == "进贤县应急管理局" and scan["held_since"]
    facts = dict(scan["facts"])
    assert facts["借用方"].startswith("进贤县应急管理局") and facts["应还日期"] == lease["due_date"]
    assert scan["actions"] == []
    phone = (await phone_as("li", "keeper", ["360121"])).client
    page = await phone.get(f"/s/{unit['label_code']}")
    assert page.status_code == 200 and f'href="/leases/{lease["id"]}"' in page.text
    listing = await phone.get("/leases", params={"status": "active"})
    assert listing.status_code == 200 and "进贤县应急管理局" in listing.text

    line = out["lines"][0]["id"]
    r = await s.keeper.post(f"{LEASES}/{lease['id']}/return", json={"lines": [{"line_id": line}]})
    assert r.status_code == 200, r.text
    back = r.json()
    assert back["status"] == "returned" and back["lines"][0]["outstanding"] == 0
    assert back["fee"]["amount"] == 200 and back["fee"]["late_days"] == 0
    unit = (await client.get(f"/api/v1/assets/{s.units[0]}")).json()
    assert (unit["status"], unit["location_id"]) == ("available", s.depot)
    assert await offered(client, s.depot) == 2
    await assert_verified(db)


async def test_bad_input_is_refused_and_nothing_changes(client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    r = await s.keeper.post(LEASES, json=lend_body(s, due_date=str(TODAY - dt.timedelta(days=1))))
    assert_problem(r, 422, "due_date")
    await client.patch(f"/api/v1/assets/{s.units[1]}", json={"status": "maintenance"})
    r = await s.keeper.post(LEASES, json=lend_body(s, lines=[{"item_type_id": s.pump, "asset_id": s.units[1]}]))
    assert "BC-2" in assert_problem(r, 409, "lines.0.asset_id")["detail"]
    r = await s.keeper.post(LEASES, json=lend_body(s, location_id=s.other))
    assert_problem(r, 403)
    lease = await created(s.keeper, LEASES, lend_body(s, lines=[{"item_type_id": s.tent, "quantity": 5}]))
    # Between the contract and the handing over the unit got reserved elsewhere: 409 naming it.
    lease2 = await created(s.keeper, LEASES, lend_body(s))
    await created(client, "/api/v1/write-offs", {"location_id": s.depot, "reason": "测试预留", "lines": [
        {"item_type_id": s.pump, "quantity": 1, "asset_ids": [s.units[0]]}]})
    r = await s.keeper.post(f"{LEASES}/{lease2['id']}/out")
    assert "BC-1" in assert_problem(r, 409)["detail"]
    out = (await s.keeper.post(f"{LEASES}/{lease['id']}/out")).json()
    line = out["lines"][0]
    assert line["lot_id"] is not None
    r = await s.keeper.post(f"{LEASES}/{lease['id']}/return", json={"lines": [{"line_id": line["id"], "quantity": 6}]})
    assert_problem(r, 409, "lines.0.quantity")
    other_keeper = await client_as("keeper", "zhao", scope_regions=["360102"])
    r = await other_keeper.post(f"{LEASES}/{lease['id']}/return", json={"lines": [{"line_id": line["id"]}]})
    assert_problem(r, 403)
    await assert_verified(db)


async def test_partial_return_damage_loss_extension_and_late_fees(client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    start = TODAY - dt.timedelta(days=10)
    lease = await created(s.keeper, LEASES, lend_body(
        s, start_date=str(start), due_date=str(start + dt.timedelta(days=3)), rate=100,
        lines=[{"item_type_id": s.pump, "asset_id": s.units[0]}, {"item_type_id": s.pump, "asset_id": s.units[1]},
               {"item_type_id": s.tent, "quantity": 10}]))
    out = (await s.keeper.post(f"{LEASES}/{lease['id']}/out")).json()
    assert out["status"] == "overdue"  # due a week ago
    ext = await s.keeper.post(f"{LEASES}/{lease['id']}/extend", json={"due_date": str(TODAY - dt.timedelta(days=2)),
                                                                        "reason": "汛期延长"})
    assert ext.status_code == 200, ext.text
    assert ext.json()["extensions"][0]["previous_due"] == str(start + dt.timedelta(days=3))
    assert ext.json()["status"] == "overdue"
    r = await s.keeper.post(f"{LEASES}/{lease['id']}/extend", json={"due_date": str(start)})
    assert_problem(r, 422, "due_date")
    overdue = (await client.get(LEASES, params={"status": "overdue"})).json()
    assert [x["id"] for x in overdue["items"]] == [lease["id"]]

    pump1, pump2, tents = (ln["id"] for ln in out["lines"])
    r = await s.keeper.post(f"{LEASES}/{lease['id']}/return", json={"location_id": s.depot, "lines": [
        {"line_id": pump1, "condition": "damaged", "note": "叶轮破损"}, {"line_id": tents, "quantity": 4}]})
    assert r.status_code == 200, r.text
    part = r.json()
    assert part["status"] == "overdue"
    assert [ln["outstanding"] for ln in part["lines"]] == [0, 1, 6]
    unit = (await client.get(f"/api/v1/assets/{s.units[0]}")).json()
    assert (unit["status"], unit["fault_note"]) == ("maintenance", "叶轮破损")
    await assert_verified(db)

    r = await s.keeper.post(f"{LEASES}/{lease['id']}/return", json={"lines": [
        {"line_id": pump2, "condition": "lost"}, {"line_id": tents, "quantity": 6}]})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "closed_short" and done["write_off_request_ids"]
    req = (await client.get(f"/api/v1/write-offs/{done['write_off_request_ids'][0]}")).json()
    assert req["status"] == "pending"
    assert (await client.get(f"/api/v1/assets/{s.units[1]}")).json()["status"] == "reserved"
    assert done["fee"]["late_days"] == 2
    await assert_verified(db)

    fees = (await client.get(f"{LEASES}/fees", params={"year": start.year})).json()
    assert fees["counterparties"][0]["counterparty"] == "进贤县应急管理局"
    assert fees["counterparties"][0]["receivable"] == done["fee"]["amount"] > 0


async def test_lease_in_receives_units_leased_in_and_giving_back_issues_them(
        client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    lease = await created(s.keeper, LEASES, lend_body(
        s, direction="in", counterparty="江西某泵业有限公司", counterparty_kind="firm", fee_basis="lump_sum",
        rate=3000, lines=[{"item_type_id": s.pump, "serial_number": "ZL-500-01"}]))
    out = (await s.keeper.post(f"{LEASES}/{lease['id']}/out")).json()
    unit_id = out["lines"][0]["asset_id"]
    unit = (await client.get(f"/api/v1/assets/{unit_id}")).json()
    assert (unit["ownership"], unit["status"], unit["location_id"]) == ("leased_in", "available", s.depot)
    facts = dict((await s.keeper.get(f"/api/v1/scan/{unit['label_code']}")).json()["facts"])
    assert facts["出租方"] == "江西某泵业有限公司 刘科长 0791-85600000" and facts["应还日期"] == lease["due_date"]
    assert await offered(client, s.depot) == 3
    await assert_verified(db)
    r = await s.keeper.post(f"{LEASES}/{lease['id']}/return", json={"lines": [{"line_id": out["lines"][0]["id"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned" and r.json()["fee"]["amount"] == 3000
    assert await offered(client, s.depot) == 2
    fees = (await client.get(f"{LEASES}/fees", params={"year": TODAY.year})).json()
    assert fees["payable"] == 3000
    await assert_verified(db)


async def test_a_retried_post_with_the_same_idempotency_key_applies_once(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    headers = {"Idempotency-Key": "lease-retry-0001"}
    first = await s.keeper.post(LEASES, json=lend_body(s), headers=headers)
    again = await s.keeper.post(LEASES, json=lend_body(s), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert (await client.get(LEASES)).json()["total"] == 1
    lease = first.json()["id"]
    out_headers = {"Idempotency-Key": "lease-out-0001"}
    a = await s.keeper.post(f"{LEASES}/{lease}/out", headers=out_headers)
    b = await s.keeper.post(f"{LEASES}/{lease}/out", headers=out_headers)
    assert a.status_code == b.status_code == 200
    assert b.headers.get("Idempotent-Replayed")


async def test_the_keeper_records_a_return_on_the_lease_page_once(
        client: Any, client_as: Any, db: Database, phone_as: Any) -> None:  # noqa: F811
    s = await make_site(client, client_as)
    lease = await created(s.keeper, LEASES, lend_body(s, lines=[{"item_type_id": s.tent, "quantity": 5}]))
    out = (await s.keeper.post(f"{LEASES}/{lease['id']}/out")).json()
    line = out["lines"][0]["id"]
    phone = await phone_as("li", "keeper", ["360121"])
    page = await phone.client.get(f"/leases/{lease['id']}")
    assert page.status_code == 200 and f'name="q_{line}"' in page.text
    form = {"_csrf_token": phone.csrf, "idempotency_key": "page-return-1", f"q_{line}": "2", f"c_{line}": "ok",
            f"n_{line}": ""}
    for _ in range(2):  # a double tap records it once
        r = await phone.client.post(f"/leases/{lease['id']}/return", data=form)
        assert r.status_code == 303, r.text
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert after["lines"][0]["returned"] == 2
    too_many = await phone.client.post(f"/leases/{lease['id']}/return", data={
        "_csrf_token": phone.csrf, "idempotency_key": "page-return-2", f"q_{line}": "9"})
    assert too_many.status_code == 409 and "超过未还数量" in too_many.text
    auditor = await phone_as("shen", "auditor")
    page = await auditor.client.get(f"/leases/{lease['id']}")
    assert page.status_code == 200 and f'name="q_{line}"' not in page.text
    refused = await auditor.client.post(f"/leases/{lease['id']}/return", data={
        "_csrf_token": auditor.csrf, f"q_{line}": "1"})
    assert refused.status_code == 403
    assert (await client.get(f"{LEASES}/{lease['id']}")).json()["lines"][0]["returned"] == 2
    await assert_verified(db)


async def test_the_keeper_hands_over_and_extends_a_lease_from_its_page_once_each(
        client: Any, client_as: Any, db: Database, phone_as: Any) -> None:  # noqa: F811
    s = await make_site(client, client_as)
    lease = await created(s.keeper, LEASES, lend_body(s))
    phone = await phone_as("li", "keeper", ["360121"])
    page = await phone.client.get(f"/leases/{lease['id']}")
    assert page.status_code == 200 and 'id="hand-over"' in page.text and 'id="extend"' in page.text
    for _ in range(2):  # a double tap hands over once
        r = await phone.client.post(f"/leases/{lease['id']}/out", data={
            "_csrf_token": phone.csrf, "idempotency_key": "page-out-1"})
        assert r.status_code == 303, r.text
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert after["status"] == "active" and after["out_at"]
    assert await offered(client, s.depot) == 1  # the lent pump is out of nearest
    page = await phone.client.get(f"/leases/{lease['id']}?done=out")
    assert "已交付" in page.text and 'id="hand-over"' not in page.text
    new_due = str(TODAY + dt.timedelta(days=30))
    for _ in range(2):
        r = await phone.client.post(f"/leases/{lease['id']}/extend", data={
            "_csrf_token": phone.csrf, "idempotency_key": "page-extend-1", "due_date": new_due, "reason": "汛情未退"})
        assert r.status_code == 303, r.text
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert after["due_date"] == new_due and len(after["extensions"]) == 1
    bad = await phone.client.post(f"/leases/{lease['id']}/extend", data={
        "_csrf_token": phone.csrf, "idempotency_key": "page-extend-2", "due_date": "明天"})
    assert bad.status_code == 422 and "新的到期日须为日期" in bad.text
    earlier = await phone.client.post(f"/leases/{lease['id']}/extend", data={
        "_csrf_token": phone.csrf, "idempotency_key": "page-extend-3", "due_date": str(TODAY)})
    assert earlier.status_code in (409, 422) and "到期" in earlier.text
    auditor = await phone_as("shen", "auditor")
    page = await auditor.client.get(f"/leases/{lease['id']}")
    assert 'id="extend"' not in page.text
    refused = await auditor.client.post(f"/leases/{lease['id']}/extend", data={
        "_csrf_token": auditor.csrf, "due_date": new_due})
    assert refused.status_code == 403
    assert len((await client.get(f"{LEASES}/{lease['id']}")).json()["extensions"]) == 1
    await assert_verified(db)
