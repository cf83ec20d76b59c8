"""Readiness over HTTP: plans, checks, repairs and the readiness report; the phone's check form; errors."""

from __future__ import annotations

import datetime as dt
import html
import re
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from inventory.access.tokens import issue_token
from inventory.clock import beijing_today
from inventory.readiness.rules import add_months
from inventory.store.db import Database
from inventory.store.models import Asset, User, utcnow
from tests.api.helpers import assert_problem, item_type_body, location_body
from tests.conftest import http_client

PLANS = "/api/v1/maintenance-plans"
READINESS = "/api/v1/readiness"
NEAREST = "/api/v1/availability/nearest"
TODAY = beijing_today()


@dataclass
class Site:
    """南昌县's depot with two generators, 东湖区's with one; a keeper for each county."""

    depot: int
    generator: int
    gens: list[dict[str, Any]]
    far_gen: dict[str, Any]
    keeper: Any
    far_keeper: Any


async def created(client: Any, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == status, r.text
    result: dict[str, Any] = r.json()
    return result


async def make_site(admin: Any, client_as: Any) -> Site:
    depot = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    far = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90)))["id"]
    gen = (await created(admin, "/api/v1/item-types", item_type_body(
        "GEN-50", name="柴油发电机组", category="generator", gbt_code=None, spec="50 kW",
        attributes={"power_kw": 50}, inspection_interval_days=None)))["id"]
    gens = [await created(admin, "/api/v1/assets", {"item_type_id": gen, "serial_number": f"FD-{n}",
                                                     "location_id": depot}) for n in (1, 2)]
    far_gen = await created(admin, "/api/v1/assets", {"item_type_id": gen, "serial_number": "FD-9", "location_id": far})
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    far_keeper = await client_as("keeper", "zhao", scope_regions=["360102"])
    return Site(depot, gen, gens, far_gen, keeper, far_keeper)


async def generators_near_the_levee(client: Any) -> int:
    r = await client.get(NEAREST, params={"lat": 28.50, "lon": 115.95, "item_type": "GEN-50", "quantity": 10})
    assert r.status_code == 200, r.text
    return sum(s["available"] for s in r.json()["sources"] if s["location"]["name"].startswith("南昌县"))


def checks_of(unit: dict[str, Any]) -> str:
    return f"/api/v1/assets/{unit['id']}/checks"


async def test_a_fault_takes_a_generator_out_of_nearest_until_a_later_good_run(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    assert await generators_near_the_levee(client) == 2
    fault = await created(s.keeper, checks_of(s.gens[0]), {
        "task": "run_test", "result": "fault", "run_minutes": 4, "load_pct": 30,
        "fault_description": "带载 4 分钟后停机", "performed_at": "2026-01-05T09:00:00+08:00"})
    assert (fault["task_zh"], fault["result_zh"], fault["performed_by"], fault["recorded_by"]) == (
        "试运行", "有故障", "wang", "wang")
    assert fault["performed_at"] == "2026-01-05T01:00:00Z"
    assert await generators_near_the_levee(client) == 1
    report = (await client.get(READINESS, params={"region": "3601", "category": "generator"})).json()
    assert [(u["serial_number"], u["state"], u["reason"]) for u in report["items"]] == [
        ("FD-1", "fault", "故障：带载 4 分钟后停机")]
    assert report["total"] == {"units": 3, "ready": 2, "due_soon": 0, "overdue": 0, "fault": 1, "in_maintenance": 0}
    regions = {r["region_code"]: r["counts"]["units"] for r in report["by_region"] if r["counts"]["units"]}
    assert regions == {"360121": 2, "360102": 1}
    assert [c["category"] for c in report["by_category"]] == ["generator"]

    await created(s.keeper, checks_of(s.gens[0]), {"task": "run_test", "result": "ok", "run_minutes": 30,
                                                   "load_pct": 40, "performed_at": "2026-01-06T09:00:00+08:00"})
    assert await generators_near_the_levee(client) == 2
    history = (await s.far_keeper.get(checks_of(s.gens[0]))).json()  # reading crosses county lines
    assert [(c["result"], c["run_minutes"]) for c in history["items"]] == [("ok", 30), ("fault", 4)]
    assert history["total"] == 2
    unit = (await client.get(f"/api/v1/assets/{s.gens[0]['id']}")).json()
    assert (unit["readiness"], unit["fault_note"]) == ("ok", "")
    assert (await client.get(READINESS, params={"region": "3601"})).json()["items"] == []


async def test_a_plan_makes_units_overdue_and_the_report_says_which_task(
        client: Any, client_as: Any, db: Database) -> None:
    s = await make_site(client, client_as)
    async with db.write() as session:  # the units have been held since long before the plan began
        await session.execute(update(Asset).values(created_at=utcnow() - dt.timedelta(days=100)))
    started = TODAY - dt.timedelta(days=70)
    assert_problem(await s.keeper.post(PLANS, json={"item_type_id": s.generator, "task": "run_test",
                                                    "interval_months": 1}), 403)
    plan = await created(client, PLANS, {"item_type_id": s.generator, "task": "run_test", "interval_months": 1,
                                         "starts_on": str(started), "run_minutes": 30, "load_pct": 30,
                                         "title": "月度带载试运行", "instructions": "带载不低于额定功率 30%"})
    assert (plan["schedule_zh"], plan["active"], plan["item_name"]) == (
        "每 1 个月（自上次完成起）", True, "柴油发电机组")
    due = add_months(started, 1)
    assert await generators_near_the_levee(client) == 0
    report = (await client.get(READINESS, params={"region": "360121"})).json()
    late = f"试运行逾期 {(TODAY - due).days} 天（应于 {due} 前完成）"
    assert [(u["serial_number"], u["state"], u["reason"]) for u in report["items"]] == [
        ("FD-1", "overdue", late), ("FD-2", "overdue", late)]
    assert report["items"][0]["tasks"][0]["title"] == "月度带载试运行"
    await created(s.keeper, checks_of(s.gens[1]), {"task": "run_test", "result": "ok", "run_minutes": 30})
    assert await generators_near_the_levee(client) == 1
    soon = (await client.get(READINESS, params={"region": "360121", "state": ["due_soon", "ready"]})).json()
    assert [(u["serial_number"], u["next_due"]) for u in soon["items"]] == [("FD-2", str(add_months(TODAY, 1)))]
    listed = (await client.get(PLANS, params={"asset_id": s.gens[0]["id"], "active": "true"})).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]]


async def test_a_repair_takes_a_unit_away_and_brings_it_back_ready(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    unit = s.gens[0]
    repair = await created(s.keeper, f"/api/v1/assets/{unit['id']}/repairs", {
        "vendor": "南昌某机电维修有限公司", "problem": "调压板烧毁"})
    assert (repair["away"], repair["sent_on"], repair["back_on"]) == (True, str(TODAY), None)
    assert (await client.get(f"/api/v1/assets/{unit['id']}")).json()["status"] == "maintenance"
    assert await generators_near_the_levee(client) == 1
    report = (await client.get(READINESS, params={"region": "360121"})).json()
    assert [(u["state"], u["reason"]) for u in report["items"]] == [
        ("in_maintenance", f"送修中：南昌某机电维修有限公司，{TODAY} 送出（调压板烧毁）")]
    assert_problem(await s.keeper.post(f"/api/v1/assets/{unit['id']}/repairs", json={"vendor": "另一家"}), 409)
    assert_problem(await s.keeper.post(checks_of(unit), json={"task": "visual_check", "result": "ok"}), 409)
    assert_problem(await s.keeper.post(f"/api/v1/repairs/{repair['id']}/back", json={"work_done": ""}), 422,
                   "work_done")
    r = await s.keeper.post(f"/api/v1/repairs/{repair['id']}/back", json={"work_done": "更换调压板", "cost": 860})
    assert r.status_code == 200, r.text
    assert (r.json()["away"], r.json()["back_on"], r.json()["cost"]) == (False, str(TODAY), 860)
    unit_now = (await client.get(f"/api/v1/assets/{unit['id']}")).json()
    assert (unit_now["status"], unit_now["readiness"]) == ("available", "ok")
    assert await generators_near_the_levee(client) == 2
    assert_problem(await s.keeper.post(f"/api/v1/repairs/{repair['id']}/back", json={"work_done": "再修"}), 409)
    assert_problem(await s.keeper.post("/api/v1/repairs/999999/back", json={"work_done": "x"}), 404)


async def test_bad_input_is_refused_naming_the_field(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    path = checks_of(s.gens[0])
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    cases = [
        ({"task": "run_test", "result": "ok"}, "run_minutes"),
        ({"task": "battery_charge", "result": "ok", "battery_pct": 101}, "battery_pct"),
        ({"task": "visual_check", "result": "ok", "fuel_pct": -5}, "fuel_pct"),
        ({"task": "run_test", "result": "ok", "run_minutes": 30, "load_pct": 150}, "load_pct"),
        ({"task": "visual_check", "result": "ok", "performed_at": future}, "performed_at"),
        ({"task": "visual_check", "result": "fault"}, "fault_description"),
        ({"task": "tea_break", "result": "ok"}, "task"),
        ({"task": "visual_check", "result": "ok", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        assert_problem(await s.keeper.post(path, json=body), 422, field)
    assert (await client.get(path)).json()["total"] == 0
    plan_cases = [
        ({"task": "run_test", "interval_days": 30}, "item_type_id"),
        ({"item_type_id": s.generator, "task": "run_test"}, "interval_days"),
        ({"item_type_id": s.generator, "task": "pre_flood_check", "anchor": "calendar", "due_month": 2,
          "due_day": 30}, "due_day"),
        ({"item_type_id": s.generator, "task": "run_test", "interval_days": 0}, "interval_days"),
    ]
    for body, field in plan_cases:
        assert_problem(await client.post(PLANS, json=body), 422, field)
    assert (await client.get(PLANS)).json()["total"] == 0
    assert_problem(await client.get(READINESS), 422, "region")
    assert_problem(await client.get(READINESS, params={"region": "3601", "state": "broken"}), 422, "state")
    assert_problem(await client.get(READINESS, params={"region": "9999"}), 422, "region")
    assert_problem(await s.keeper.post(f"/api/v1/assets/{s.gens[0]['id']}/repairs",
                                       json={"vendor": "某厂", "sent_on": str(TODAY + dt.timedelta(days=1))}),
                   422, "sent_on")


async def test_a_keeper_cannot_check_or_repair_another_countys_units(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    for path, body in ((checks_of(s.far_gen), {"task": "visual_check", "result": "ok"}),
                       (f"/api/v1/assets/{s.far_gen['id']}/repairs", {"vendor": "某厂"})):
        assert "辖区" in assert_problem(await s.keeper.post(path, json=body), 403)["detail"]
    repair = await created(s.far_keeper, f"/api/v1/assets/{s.far_gen['id']}/repairs", {"vendor": "东湖某维修厂"})
    assert_problem(await s.keeper.post(f"/api/v1/repairs/{repair['id']}/back", json={"work_done": "修好"}), 403)
    assert (await client.get(checks_of(s.far_gen))).json()["total"] == 0
    assert (await client.get(f"/api/v1/assets/{s.far_gen['id']}")).json()["status"] == "maintenance"


async def test_a_retried_post_with_the_same_idempotency_key_applies_once(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    body = {"task": "battery_charge", "result": "ok", "battery_pct": 95}
    headers = {"Idempotency-Key": "check-retry-0001"}
    one = await s.keeper.post(checks_of(s.gens[0]), json=body, headers=headers)
    two = await s.keeper.post(checks_of(s.gens[0]), json=body, headers=headers)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert two.headers.get("Idempotent-Replayed") == "true"
    assert (await client.get(checks_of(s.gens[0]))).json()["total"] == 1
    sent = [await s.keeper.post(f"/api/v1/assets/{s.gens[1]['id']}/repairs", json={"vendor": "某厂"},
                                headers={"Idempotency-Key": "repair-retry-0001"}) for _ in range(2)]
    assert [r.status_code for r in sent] == [201, 201] and sent[0].json() == sent[1].json()
    back = [await s.keeper.post(f"/api/v1/repairs/{sent[0].json()['id']}/back", json={"work_done": "换电瓶"},
                                headers={"Idempotency-Key": "back-retry-0001"}) for _ in range(2)]
    assert [r.status_code for r in back] == [200, 200] and back[1].headers.get("Idempotent-Replayed") == "true"
    plan = {"item_type_id": s.generator, "task": "visual_check", "interval_days": 7}
    made = [await client.post(PLANS, json=plan, headers={"Idempotency-Key": "plan-retry-0001"}) for _ in range(2)]
    assert made[0].json()["id"] == made[1].json()["id"]
    assert (await client.get(PLANS)).json()["total"] == 1


@pytest.fixture
async def phone(app: Any, db: Database, password_hash: str) -> Any:
    """A keeper of 南昌县 signed in on a phone: a session cookie and the pages' CSRF token."""
    async with AsyncExitStack() as stack:
        async with db.write() as session:
            user = User(username="phone-keeper", display_name="李保管", phone="", role="keeper",
                        scope_regions=["360121"], scope_locations=[], active=True, password_hash=password_hash)
            session.add(user)
            await session.flush()
            token, _ = await issue_token(session, user, kind="session")
        c = await stack.enter_async_context(http_client(app))
        c.cookies.set("inv_session", token)
        c.csrf = (await c.get("/login")).cookies["inv_csrf"]
        yield c


def alert(page: str) -> str:
    m = re.search(r'<p class="err" role="alert">(.*?)</p>', page, re.S)
    return html.unescape(m.group(1)) if m else ""


async def test_the_phone_shows_the_tasks_due_and_records_a_run_in_one_tap(
        client: Any, client_as: Any, phone: Any) -> None:
    s = await make_site(client, client_as)
    await created(client, PLANS, {"item_type_id": s.generator, "task": "run_test", "interval_days": 5,
                                  "run_minutes": 30, "load_pct": 30})
    code = s.gens[0]["label_code"]
    page = (await phone.get(f"/s/{code}")).text
    assert 'data-task="run_test" data-task-state="due_soon"' in page
    assert "试运行将于" in page and "暂无检查记录" in page
    quick = re.search(r'<form [^>]*data-quick="run_test">(.*?)</form>', page, re.S)
    assert quick and "试运行正常（30 分钟，负载 30%）" in quick.group(1)
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', quick.group(1)))
    r = await phone.post(f"/s/{code}", data={**fields, "_csrf_token": phone.csrf})
    assert r.status_code == 303, r.text
    checks = (await client.get(checks_of(s.gens[0]))).json()["items"]
    assert [(c["task"], c["result"], c["run_minutes"], c["load_pct"], c["performed_by"]) for c in checks] == [
        ("run_test", "ok", 30, 30, "李保管")]
    page = (await phone.get(f"/s/{code}?done=inspect")).text
    assert "检查已记录" in page and 'data-check="' in page and "运行 30 分钟（负载 30%）" in page

    # The full form: a run without minutes is refused in Chinese, naming the field as the form labels it.
    r = await phone.post(f"/s/{code}", data={"_csrf_token": phone.csrf, "action": "inspect", "task": "run_test",
                                             "result": "ok", "run_minutes": "", "note": ""})
    assert r.status_code == 422
    assert "试运行须填写运行分钟数" in alert(r.text) and "run_minutes" not in alert(r.text)
    r = await phone.post(f"/s/{code}", data={"_csrf_token": phone.csrf, "action": "inspect", "task": "battery_charge",
                                             "result": "not_ready", "battery_pct": "15", "note": "电瓶亏电"})
    assert r.status_code == 303
    assert await generators_near_the_levee(client) == 1
    page = (await phone.get(f"/s/{code}")).text
    assert 'data-readiness="fault"' in page and "未就绪：电瓶亏电" in page


async def test_a_damage_report_from_the_phone_is_a_fault_check_and_a_good_check_brings_the_unit_back(
        client: Any, client_as: Any, phone: Any) -> None:
    s = await make_site(client, client_as)
    unit, code = s.gens[1], s.gens[1]["label_code"]
    r = await phone.post(f"/s/{code}", data={"_csrf_token": phone.csrf, "action": "damaged", "note": "油箱漏油"})
    assert r.status_code == 303, r.text
    assert (await client.get(f"/api/v1/assets/{unit['id']}")).json()["status"] == "maintenance"
    [damage] = (await client.get(checks_of(unit))).json()["items"]
    assert (damage["task"], damage["result"], damage["fault_description"]) == ("other", "fault", "油箱漏油")
    assert await generators_near_the_levee(client) == 1
    r = await phone.post(f"/s/{code}", data={"_csrf_token": phone.csrf, "action": "inspect", "task": "visual_check",
                                             "result": "ok", "fuel_pct": "70", "note": ""})
    assert r.status_code == 303, r.text
    after = (await client.get(f"/api/v1/assets/{unit['id']}")).json()
    assert (after["status"], after["readiness"], after["fuel_pct"]) == ("available", "ok", 70)
    assert await generators_near_the_levee(client) == 2


async def test_a_unit_registered_after_a_plan_gets_its_first_due_date_from_it(client: Any, client_as: Any) -> None:
    s = await make_site(client, client_as)
    await created(client, PLANS, {"item_type_id": s.generator, "task": "run_test", "interval_days": 30,
                                  "run_minutes": 30, "load_pct": 30})
    unit = await created(client, "/api/v1/assets", {"item_type_id": s.generator, "serial_number": "FD-NEW",
                                                    "location_id": s.depot})
    assert unit["next_inspection_due"] is not None
    due = dt.date.fromisoformat(unit["next_inspection_due"])
    assert TODAY + dt.timedelta(days=29) <= due <= TODAY + dt.timedelta(days=31)
