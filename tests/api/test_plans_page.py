"""The pre-positioning pages (前置计划) over HTTP, as a browser without script uses them, for every role: the list,
a plan's page with its coverage map, the 审批 / 执行 buttons and their refusals, the risk points page and its list
upload, and 选址优化 from the page to a new draft plan."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl

from inventory.access.scope import Principal
from inventory.plans.schemas import PlanCreate, PlanLineIn
from inventory.plans.service import create_plan
from inventory.store.db import Database
from tests.api.helpers import item_type_body, location_body
from tests.api.test_write_offs_page import forms, page_client

PLANS = "/api/v1/plans"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SANJIANG = (28.620, 116.070)  # a reserve point by the 抚河 at 三江镇, 南昌县
POINTS = (  # code, name, lat, lon, weight: in reach of 三江 once the plan is in place; of the depot; of neither
    ("T-FH-03", "抚河三江段堤防", 28.630, 116.080, 900),
    ("T-FH-02", "抚河故道莲塘段堤防", 28.550, 115.950, 500),
    ("T-GD-01", "赣东大堤富山段", 28.370, 115.870, 4000),
)


def commander(username: str) -> Principal:
    """A 南昌市 commander, as the service layer sees him."""
    return Principal(user_id=0, username=username, display_name=username, role="commander", scope_regions=("3601",),
                     scope_locations=(), token_id=0)


async def build(admin: Any, db: Database, *, author: str = "zhang") -> dict[str, Any]:
    """南昌县's depot with two ready pumps, a reserve point at 三江, three risk points needing a pump each, and a
    draft plan by ``author`` moving one pump to 三江 with a 60-minute target."""
    depot = (await admin.post("/api/v1/locations", json=location_body("D-NCX"))).json()["id"]
    point = await admin.post("/api/v1/locations", json=location_body(
        "RP-SJ", name="三江镇救灾物资储备点", kind="reserve_point", lat=SANJIANG[0], lon=SANJIANG[1]))
    assert point.status_code == 201, point.text
    staging = point.json()["id"]
    pump = (await admin.post("/api/v1/item-types", json=item_type_body())).json()["id"]
    units = []
    for serial in ("BC-1", "BC-2"):
        r = await admin.post("/api/v1/assets", json={"item_type_id": pump, "serial_number": serial,
                                                      "location_id": depot, "readiness": "ok"})
        assert r.status_code == 201, r.text
        units.append(r.json()["id"])
    for code, name, lat, lon, weight in POINTS:
        r = await admin.post("/api/v1/risk-points", json={
            "code": code, "name": name, "kind": "embankment", "region_code": "360121", "lat": lat, "lon": lon,
            "weight": weight, "needs": [{"item_type_id": pump, "quantity": 1}]})
        assert r.status_code == 201, r.text
    async with db.write() as session:
        plan = await create_plan(session, PlanCreate(
            name="抚河沿线排涝泵前置计划", region_code="360121", season="2026年主汛期", target_minutes=60,
            item_type_ids=[pump], lines=[PlanLineIn(from_location_id=depot, to_location_id=staging,
                                                     item_type_id=pump, quantity=1)]), commander(author))
        plan_id = plan.id
    return {"plan": plan_id, "depot": depot, "pump": pump, "staging": staging, "units": units}


def kinds(html: str) -> list[str]:
    """The data-kind of every marker drawn on the page's map."""
    return re.findall(r'<g class="marker" data-lat="[^"]*" data-lon="[^"]*" data-kind="([a-z_]+)"', html)


def table(html: str, ident: str) -> str:
    """The HTML of the table with this id."""
    return html.split(f'id="{ident}"', 1)[1].split("</table>", 1)[0]


async def test_the_plan_page_maps_covered_and_uncovered_points_and_lists_what_is_short(
    client: Any, client_as: Any, db: Database,
) -> None:
    site = await build(client, db)
    plan_id = site["plan"]
    li = await page_client(client_as, "commander", "li", scope_regions=["3601"])
    listed = await li.get("/plans?region=3601")
    assert listed.status_code == 200, listed.text
    assert f'href="/plans/{plan_id}"' in listed.text and "抚河沿线排涝泵前置计划" in listed.text
    assert "草稿" in listed.text and '<a href="/plans">前置计划</a>' in listed.text, "the nav names the plans page"
    assert "/plans/propose" in forms(listed.text), "a commander gets the 选址优化 form"

    page = await li.get(f"/plans/{plan_id}")
    assert page.status_code == 200, page.text
    for text in ("抚河沿线排涝泵前置计划", "2026年主汛期", "南昌县（360121）", "60 分钟", "zhang", "待审批"):
        assert text in page.text, text
    # The pump moved to 三江 covers 三江's levee, the one left at the depot covers 莲塘's; 富山 is out of reach.
    assert sorted(kinds(page.text)) == ["risk_covered", "risk_covered", "risk_uncovered", "source", "staging"]
    assert page.text.count('<g class="line"') == 1, "one segment: the depot to 三江"
    assert "覆盖风险人口 1400 / 5400（26%）" in page.text
    assert "已覆盖风险点 2 个" in page.text and "未覆盖 1 个" in page.text
    uncovered = table(page.text, "uncovered-points")
    assert "赣东大堤富山段" in uncovered and "抚河三江段堤防" not in uncovered
    assert re.search(r"移动泵车 缺 <strong[^>]*>1</strong>台（需 1）", uncovered), uncovered
    assert "抚河三江段堤防" in table(page.text, "covered-points")
    lines = table(page.text, "plan-lines")
    assert "三江镇救灾物资储备点" in lines and "计划调拨（未执行）" in lines and "1台" in lines
    assert f"/plans/{plan_id}/approve" in forms(page.text), "li did not write the plan: he may approve it"
    assert 'id="approve-why-not"' not in page.text

    missing = await li.get("/plans/999999")
    assert missing.status_code == 404 and "不存在" in missing.text


async def test_another_commander_approves_with_the_form_then_executes_the_plan(
    client: Any, client_as: Any, db: Database,
) -> None:
    site = await build(client, db)
    plan_id = site["plan"]
    li = await page_client(client_as, "commander", "li", scope_regions=["3601"])
    form = forms((await li.get(f"/plans/{plan_id}")).text)[f"/plans/{plan_id}/approve"]
    assert form["_csrf_token"] and form["idempotency_key"]
    tapped = [await li.post(f"/plans/{plan_id}/approve", data=form) for _ in range(2)]  # a double tap
    assert [(t.status_code, t.headers.get("location")) for t in tapped] == [
        (303, f"/plans/{plan_id}?done=approve")] * 2
    approved = (await client.get(f"{PLANS}/{plan_id}")).json()
    assert (approved["status"], approved["approved_by"]) == ("approved", "li")
    shown = await li.get(f"/plans/{plan_id}?done=approve")
    assert "已审批，可以执行" in shown.text and "已审批" in shown.text
    assert f"/plans/{plan_id}/approve" not in forms(shown.text)

    done = await li.post(f"/plans/{plan_id}/execute", data=forms(shown.text)[f"/plans/{plan_id}/execute"])
    assert (done.status_code, done.headers.get("location")) == (303, f"/plans/{plan_id}?done=execute")
    executed = (await client.get(f"{PLANS}/{plan_id}")).json()
    assert executed["status"] == "executing"
    assert executed["lines"][0]["transfer_status"] == "in_transit"
    page = await li.get(f"/plans/{plan_id}")
    assert 'data-state="in_transit"' in page.text and "执行中" in page.text
    assert f"#{executed['lines'][0]['transfer_id']} 在途" in page.text
    assert f"/plans/{plan_id}/recall" in forms(page.text), "an executing plan can be recalled after the season"


async def test_the_author_sees_why_he_may_not_approve_and_a_posted_approval_is_refused_in_chinese(
    client: Any, client_as: Any, db: Database,
) -> None:
    site = await build(client, db, author="zhang")
    plan_id = site["plan"]
    zhang = await page_client(client_as, "commander", "zhang", scope_regions=["3601"])
    page = await zhang.get(f"/plans/{plan_id}")
    assert page.status_code == 200, page.text
    assert f"/plans/{plan_id}/approve" not in forms(page.text)
    assert "本计划由您制定，须由另一名指挥人员或管理员审批" in page.text
    csrf = forms(page.text)["/logout"]["_csrf_token"]
    refused = await zhang.post(f"/plans/{plan_id}/approve", data={"_csrf_token": csrf, "idempotency_key": "own-1"})
    assert refused.status_code == 403, refused.text
    assert "不能审批本人制定的前置计划" in refused.text and 'role="alert"' in refused.text
    assert (await client.get(f"{PLANS}/{plan_id}")).json()["status"] == "draft"


async def test_executing_when_the_pumps_have_gone_shows_the_shortfall_and_posts_nothing(
    client: Any, client_as: Any, db: Database,
) -> None:
    site = await build(client, db)
    plan_id = site["plan"]
    li = await page_client(client_as, "commander", "li", scope_regions=["3601"])
    form = forms((await li.get(f"/plans/{plan_id}")).text)[f"/plans/{plan_id}/approve"]
    assert (await li.post(f"/plans/{plan_id}/approve", data=form)).status_code == 303
    page = await li.get(f"/plans/{plan_id}")
    issued = await client.post("/api/v1/movements", json={
        "kind": "issue", "location_id": site["depot"], "counterparty": "县防汛抢险队",
        "lines": [{"item_type_id": site["pump"], "quantity": 2, "asset_ids": site["units"]}]})
    assert issued.status_code == 201, issued.text
    refused = await li.post(f"/plans/{plan_id}/execute", data=forms(page.text)[f"/plans/{plan_id}/execute"])
    assert refused.status_code == 409, refused.text
    assert "库存不足" in refused.text and "缺 1台" in refused.text
    after = (await client.get(f"{PLANS}/{plan_id}")).json()
    assert after["status"] == "approved" and after["lines"][0]["transfer_id"] is None


async def test_keepers_and_auditors_see_the_pages_but_no_write_forms_and_a_forged_post_changes_nothing(
    client: Any, client_as: Any, db: Database,
) -> None:
    site = await build(client, db)
    plan_id = site["plan"]
    for role, scope in (("keeper", ["360121"]), ("auditor", [])):
        viewer = await page_client(client_as, role, f"{role}-viewer", scope_regions=scope)
        for path in ("/plans", f"/plans/{plan_id}", "/risk-points?region=360121"):
            r = await viewer.get(path)
            assert r.status_code == 200, f"{role} {path}: {r.text[:300]}"
            writes = {a for a in forms(r.text) if a not in ("/logout", "/plans", "/risk-points")}
            assert not writes, f"{role} sees write forms on {path}: {writes}"
        page = await viewer.get(f"/plans/{plan_id}")
        assert "抚河沿线排涝泵前置计划" in page.text and len(kinds(page.text)) == 5
        assert 'id="approve-why-not"' not in page.text
        csrf = forms(page.text)["/logout"]["_csrf_token"]
        forged = await viewer.post(f"/plans/{plan_id}/approve", data={"_csrf_token": csrf,
                                                                      "idempotency_key": f"{role}-1"})
        assert forged.status_code == 403, forged.text
        assert 'role="alert"' in forged.text
        assert (await client.get(f"{PLANS}/{plan_id}")).json()["status"] == "draft"
        listed = await viewer.get("/plans")
        assert "/plans/propose" not in forms(listed.text)


def risk_sheet(rows: list[list[Any]]) -> bytes:
    """A 风险隐患点 list with the columns people write."""
    book = openpyxl.Workbook()
    book.active.append(["编号", "名称", "类型", "行政区划代码", "纬度", "经度", "受威胁人数", "需求"])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_the_risk_points_page_lists_needs_and_a_commander_imports_a_list_through_it(
    client: Any, client_as: Any, db: Database,
) -> None:
    await build(client, db)
    li = await page_client(client_as, "commander", "li", scope_regions=["3601"])
    page = await li.get("/risk-points?region=360121")
    assert page.status_code == 200, page.text
    listed = table(page.text, "risk-point-list")
    for text in ("赣东大堤富山段", "T-GD-01", "堤段", "4000", "移动泵车 ×1台"):
        assert text in listed, text
    assert 'href="/risk-points/template.xlsx?region=360121"' in page.text
    form = forms(page.text)["/risk-points/import"]
    assert form["_csrf_token"] and form["idempotency_key"] and form.pop("file") == ""

    template = await li.get("/risk-points/template.xlsx?region=360121")
    assert template.status_code == 200 and template.headers["content-type"].startswith(XLSX)
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True)
             for c in row]
    assert "T-GD-01" in cells

    bad = risk_sheet([["T-VL-01", "三江镇前进村", "低洼村庄", "360121", 28.65, 116.07, 860, "不存在的物资×1"]])
    refused = await li.post("/risk-points/import", data={**form, "region": "360121"},
                            files={"file": ("risk.xlsx", bad, XLSX)})
    assert refused.status_code == 422, refused.text
    assert "第 2 行" in refused.text and "未导入任何数据" in refused.text
    good = risk_sheet([["T-VL-01", "三江镇前进村", "低洼村庄", "360121", 28.65, 116.07, 860, "移动泵车×2"]])
    form = {k: v for k, v in forms(refused.text)["/risk-points/import"].items() if k != "file"}
    done = await li.post("/risk-points/import", data={**form, "region": "360121"},
                         files={"file": ("risk.xlsx", good, XLSX)})
    assert done.status_code == 303, done.text
    shown = await li.get(done.headers["location"])
    assert "风险隐患点清单已导入：新建 1、修改 0、未变 0" in shown.text
    assert "三江镇前进村" in table(shown.text, "risk-point-list") and "移动泵车 ×2台" in shown.text
    only_villages = await li.get("/risk-points?region=360121&kind=village")
    assert "三江镇前进村" in only_villages.text and "赣东大堤富山段" not in only_villages.text

    keeper = await page_client(client_as, "keeper", "wang", scope_regions=["360121"])
    seen = await keeper.get("/risk-points?region=360121")
    assert "/risk-points/import" not in forms(seen.text) and "template.xlsx" not in seen.text


async def test_a_commander_runs_the_optimiser_from_the_page_and_makes_a_draft_plan_of_its_answer(
    client: Any, client_as: Any, db: Database,
) -> None:
    site = await build(client, db)
    li = await page_client(client_as, "commander", "li", scope_regions=["3601"])
    listed = await li.get("/plans?region=360121")
    form = forms(listed.text)["/plans/propose"]
    assert (form["region_code"], form["target_minutes"]) == ("360121", "60")
    wrong = await li.post("/plans/propose", data={**form, "objective": "coverage", "p": ""})
    assert wrong.status_code == 422 and "最大覆盖需要填写前置点个数" in wrong.text

    asked = {**form, "objective": "stock", "item_type_id": str(site["pump"])}
    ran = await li.post("/plans/propose", data=asked)
    assert ran.status_code == 303, ran.text
    where = ran.headers["location"]
    assert re.fullmatch(r"/plans/proposals/\d+", where), where
    again = await li.post("/plans/propose", data=asked)  # a double tap: the same run, not a second one
    assert again.headers.get("location") == where
    assert (await client.get("/api/v1/plans/proposals")).json()["total"] == 1

    page = await li.get(where)
    assert page.status_code == 200, page.text
    assert "已完成" in page.text and "按现有库存布放：移动泵车" in page.text
    moves = table(page.text, "proposal-moves")
    assert "南昌县综合应急物资储备库" in moves and "三江镇救灾物资储备点" in moves and "1台" in moves
    assert "赣东大堤富山段" in page.text, "the point out of reach is listed as not covered"
    new = forms(page.text)[f"{where}/plan"]
    made = [await li.post(f"{where}/plan", data={**new, "name": "页面生成的前置计划", "season": "2026年主汛期"})
            for _ in range(2)]
    assert made[0].status_code == 303 and made[0].headers["location"] == made[1].headers["location"]
    plan_page = await li.get(made[0].headers["location"])
    assert "前置计划已保存为草稿" in plan_page.text and "页面生成的前置计划" in plan_page.text
    plan_id = int(re.findall(r"/plans/(\d+)", made[0].headers["location"])[0])
    plan = (await client.get(f"{PLANS}/{plan_id}")).json()
    assert (plan["author"], plan["status"], plan["target_minutes"], plan["region_code"]) == (
        "li", "draft", 60, "360121")
    assert [(ln["from_location_id"], ln["to_location_id"], ln["quantity"]) for ln in plan["lines"]] == [
        (site["depot"], site["staging"], 1)]
    assert (await client.get(PLANS, params={"limit": 10})).json()["total"] == 2, "one new plan, not two"

    keeper = await page_client(client_as, "keeper", "wang", scope_regions=["360121"])
    seen = await keeper.get(where)
    assert seen.status_code == 200 and f"{where}/plan" not in forms(seen.text)
