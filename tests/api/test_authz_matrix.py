"""The authorisation matrix, generated from the application's route table and checked against PERMISSIONS.

Every route × every role (and no credentials at all) × a target inside and outside a keeper's scope is
sent as a real, valid request. A new route without a permission entry or without a request builder below
makes this test fail: add the builder here and the action to ``inventory/access/permissions.py``.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.handlers.base import BaseRouteHandler

from api.auth import is_framework_options
from inventory.access import tokens, users
from inventory.access.permissions import PERMISSIONS, ROLES
from inventory.clock import beijing_today
from inventory.store.db import Database
from tests.api import snapshot
from tests.api.helpers import item_type_body, location_body

PROBLEM = "application/problem+json"
KEEPER_SCOPE = "360121"  # 南昌县
TARGET_REGION = {"in": KEEPER_SCOPE, "out": "360102"}  # 南昌县 is the keeper's, 东湖区 is not
TARGETS = ("in", "out")
SIGN_IN_USER, SIGN_IN_PASSWORD = "matrix-sign-in", "matrix-password-123"


@dataclass
class Site:
    """What the requests act on, one of each per target ("in" or "out" of the keeper's scope)."""

    admin: Any
    depot: dict[str, int]
    asset: dict[str, int]
    document: dict[str, int]
    transfer: dict[str, int]
    tent: int
    pump: int
    user: int
    label: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    numbers: Iterator[int] = field(default_factory=itertools.count)
    db: Any = None
    vendor: dict[str, int] = field(default_factory=dict)
    agreement: dict[str, int] = field(default_factory=dict)
    agreement_line: dict[str, int] = field(default_factory=dict)

    def other(self, target: str) -> int:
        """The depot on the other side of the scope line."""
        return self.depot["out" if target == "in" else "in"]

    def unique(self, prefix: str) -> str:
        """A code not used before in this test."""
        return f"{prefix}{next(self.numbers)}"


@dataclass
class Call:
    """One request: path parameters for the route's template, query, body, headers, and whether to spend a token."""

    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | None = None
    json: Any = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fresh_token: bool = False
    files: dict[str, Any] | None = None


Builder = Callable[[Site, str], "Call | Awaitable[Call]"]


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


def receipt(location: int, item: int, quantity: int) -> dict[str, Any]:
    """A receipt document body."""
    return {"kind": "receipt", "location_id": location, "lines": [{"item_type_id": item, "quantity": quantity}]}


async def _call(ident: Awaitable[int], name: str, json: Any = None) -> Call:
    """A call whose path parameter comes from setup done just before it."""
    return Call({name: await ident}, json=json)


async def reverse_a_fresh_receipt(s: Site, target: str) -> Call:
    """Each reversal needs a document not reversed yet."""
    doc = await created(s.admin, "/api/v1/movements", receipt(s.depot[target], s.tent, 1))
    return Call({"document_id": doc["id"]}, json={"reason": "录入错误"})


async def a_lot(s: Site, target: str) -> Call:
    """A lot received at the target's depot (its id from the receipt's movement)."""
    doc = await created(s.admin, "/api/v1/movements", {
        "kind": "receipt", "location_id": s.depot[target],
        "lines": [{"item_type_id": s.tent, "quantity": 1, "lot": {"number": s.unique("M-LOT-"), "quality": "合格"}}]})
    return Call({"lot_id": doc["movements"][0]["lot_id"]})


async def receive_a_fresh_transfer(s: Site, target: str) -> Call:
    """Each receipt needs a transfer still in transit to the target."""
    sent = await created(s.admin, "/api/v1/movements", {
        "kind": "transfer", "location_id": s.other(target), "to_location_id": s.depot[target],
        "lines": [{"item_type_id": s.tent, "quantity": 1}]})
    return Call({"transfer_id": sent["id"]}, json={})


async def reissue_a_fresh_label(s: Site, target: str) -> Call:
    """Each re-issue retires a code: use a new asset's label at the target."""
    unit = await created(s.admin, "/api/v1/assets", {"item_type_id": s.pump, "serial_number": s.unique("BC-L"),
                                                      "location_id": s.depot[target]})
    return Call({"code": unit["label_code"]})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INCIDENT_POINT = {"in": (28.5457, 115.944), "out": (28.68, 115.90)}


async def an_incident(s: Site, target: str) -> int:
    """A new incident in the target's region (its staging site is then in or out of the keeper's scope)."""
    lat, lon = INCIDENT_POINT[target]
    body = {"name": s.unique("演练事件"), "kind": "flood", "region_code": TARGET_REGION[target], "lat": lat, "lon": lon}
    incident_id: int = (await created(s.admin, "/api/v1/incidents", body))["id"]
    return incident_id


async def a_dispatch(s: Site, target: str, *, steps: tuple[str, ...] = ()) -> int:
    """A dispatch of one tent from the target's depot to an incident in the target's region, taken through steps."""
    incident = await an_incident(s, target)
    d = await created(s.admin, f"/api/v1/incidents/{incident}/dispatches", {
        "lines": [{"item_type": "TENT-12", "quantity": 1, "from_location_id": s.depot[target]}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    for step in steps:
        r = await s.admin.post(f"/api/v1/dispatches/{d['id']}/{step}", json={})
        assert r.status_code == 200, f"setup {step}: {r.text}"
    dispatch_id: int = d["id"]
    return dispatch_id


async def new_incident(s: Site, target: str) -> Call:
    """A body for a new incident in the target's region."""
    lat, lon = INCIDENT_POINT[target]
    return Call(json={"name": s.unique("事件"), "kind": "flood", "region_code": TARGET_REGION[target],
                      "lat": lat, "lon": lon})


async def dispatch_from(s: Site, target: str) -> Call:
    """A dispatch order of one tent from the target's depot."""
    return Call({"incident_id": await an_incident(s, target)}, json={
        "lines": [{"item_type": "TENT-12", "quantity": 1, "from_location_id": s.depot[target]}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})


async def return_to(s: Site, target: str) -> Call:
    """A delivered dispatch coming back to the target's depot."""
    return Call({"dispatch_id": await a_dispatch(s, target, steps=("execute", "deliver"))},
                json={"to_location_id": s.depot[target]})


async def a_stocktake(s: Site, target: str) -> int:
    """A stocktake of the target's depot, opened by the admin."""
    body = {"location_id": s.depot[target], "period": "2026Q4"}
    stocktake_id: int = (await created(s.admin, "/api/v1/stocktakes", body))["id"]
    return stocktake_id


async def counted_sheet(s: Site, target: str) -> Call:
    """The target's counting sheet, downloaded and filled in with counts equal to the book."""
    import io

    import openpyxl

    stocktake_id = await a_stocktake(s, target)
    raw = (await s.admin.get(f"/api/v1/stocktakes/{stocktake_id}/sheet.xlsx")).content
    book = openpyxl.load_workbook(io.BytesIO(raw))
    sheet = book.active
    header = next(r for r in range(1, 21) if "实盘数量" in [c.value for c in sheet[r]])
    names = [c.value for c in sheet[header]]
    count, book_col = names.index("实盘数量") + 1, names.index("账面数量") + 1
    for r in range(header + 1, sheet.max_row + 1):
        if sheet.cell(r, book_col).value is not None:
            sheet.cell(r, count).value = sheet.cell(r, book_col).value
    out = io.BytesIO()
    book.save(out)
    return Call({"stocktake_id": stocktake_id}, files={"file": ("count.xlsx", out.getvalue(), XLSX)})


async def approvable(s: Site, target: str) -> Call:
    """A stocktake counted by another admin (the approver may not be the importer)."""
    call = await counted_sheet(s, target)
    name = s.unique("importer-")
    await created(s.admin, "/api/v1/users", {"username": name, "password": "long-enough-1", "role": "admin"})
    token = (await created(s.admin, "/api/v1/auth/token", {"username": name, "password": "long-enough-1"}))["token"]
    r = await s.admin.post(f"/api/v1/stocktakes/{call.params['stocktake_id']}/counts", files=call.files,
                           headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, f"setup counts: {r.text}"
    return Call(call.params)


async def refused_upload(s: Site, target: str) -> Call:
    """A refused opening-balance upload (unknown item code), whose marked-up copy can be downloaded."""
    from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet

    raw = write_count_sheet(SheetHeader(place="期初"), [SheetRow(item_code="NO-SUCH-ITEM", book_quantity=1)])
    r = await s.admin.post("/api/v1/imports/opening-balances", data={"location": "D-IN"},
                           files={"file": ("bad.xlsx", raw, XLSX)})
    assert r.status_code == 422, f"setup refused upload: {r.text}"
    return Call({"upload_id": r.json()["upload_id"]})


async def opening_sheet(s: Site, target: str) -> Call:
    """An opening-balance sheet for the target's depot (one tent)."""
    from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet

    raw = write_count_sheet(SheetHeader(place="期初"), [SheetRow(item_code="TENT-12", book_quantity=2)])
    codes = {"in": "D-IN", "out": "D-OUT"}
    return Call(form={"location": codes[target]}, files={"file": ("opening.xlsx", raw, XLSX)})


def new_location(s: Site, target: str) -> Call:
    """A depot in the target's region."""
    return Call(json=location_body(s.unique("D-M"), region_code=TARGET_REGION[target]))


def new_user(s: Site, target: str) -> Call:
    """A keeper for the target's region."""
    return Call(json={"username": s.unique("keeper-"), "password": "long-enough-1", "role": "keeper",
                      "scope_regions": [TARGET_REGION[target]]})


async def page_form(s: Site, form: dict[str, str], **params: Any) -> Call:
    """A page form post with a valid CSRF token (pages, unlike the API, are CSRF-protected)."""
    if not s.csrf:
        r = await s.admin.get("/login")
        s.csrf = r.cookies["inv_csrf"]
    return Call(params, form=form, headers={"x-csrftoken": s.csrf, "cookie": f"inv_csrf={s.csrf}"})


async def station_action(s: Site, target: str) -> Call:
    """The scan station's JSON action (检查完好 on the target's pump) in an admin's page session: without a
    session it answers 401 JSON (the station keeps the entry) instead of the pages' redirect, and every column
    here signs in with bearer tokens only."""
    async with s.db.write() as session:
        token, _ = await tokens.issue_token(session, await users.get_user_by_name(session, "admin"), kind="session")
    csrf = (await s.admin.get("/login", headers={"cookie": f"inv_session={token}"})).cookies["inv_csrf"]
    return Call(json={"idempotency_key": f"matrix-{s.unique('station-')}", "code": s.label[target],
                      "action": "inspect", "fields": {"result": "ok"}},
                headers={"x-csrftoken": csrf, "cookie": f"inv_csrf={csrf}; inv_session={token}"})


def write_off_body(s: Site, target: str) -> dict[str, Any]:
    """A request to write off one tent at the target's depot."""
    return {"location_id": s.depot[target], "lines": [{"item_type_id": s.tent, "quantity": 1}], "reason": "霉变"}


async def a_write_off(s: Site, target: str, *, by: str | None = None, password: str = "long-enough-1") -> int:
    """A pending write-off at the target's depot, requested by the admin or by ``by`` (another user)."""
    headers = {}
    if by is not None:
        token = (await created(s.admin, "/api/v1/auth/token", {"username": by, "password": password}))["token"]
        headers = {"Authorization": f"Bearer {token}"}
    r = await s.admin.post("/api/v1/write-offs", json=write_off_body(s, target), headers=headers)
    assert r.status_code == 201, f"setup write-off: {r.text}"
    request_id: int = r.json()["id"]
    return request_id


async def decidable_write_off(s: Site, target: str, json: Any = None) -> Call:
    """A write-off requested by another admin (the approver may not be the requester)."""
    name = s.unique("requester-")
    await created(s.admin, "/api/v1/users", {"username": name, "password": "long-enough-1", "role": "admin"})
    return Call({"request_id": await a_write_off(s, target, by=name)}, json=json)


async def cancellable_write_off(s: Site, target: str) -> Call:
    """In scope, the matrix keeper's own request (only the requester or an admin cancels); outside it, the admin's."""
    from tests.conftest import TEST_PASSWORD

    if target == "in":
        return Call({"request_id": await a_write_off(s, target, by="keeper", password=TEST_PASSWORD)})
    return Call({"request_id": await a_write_off(s, target)})


def lease_body(s: Site, target: str) -> dict[str, Any]:
    """Lend one tent from the target's depot to a neighbouring county for a week."""
    return {"direction": "out", "counterparty": "进贤县应急管理局", "location_id": s.depot[target],
            "start_date": "2026-12-01", "due_date": "2026-12-08", "lines": [{"item_type_id": s.tent, "quantity": 1}]}


async def a_lease(s: Site, target: str, *, out: bool = False) -> int:
    """A lease at the target's depot, handed over when ``out``."""
    lease: int = (await created(s.admin, "/api/v1/leases", lease_body(s, target)))["id"]
    if out:
        r = await s.admin.post(f"/api/v1/leases/{lease}/out")
        assert r.status_code == 200, f"setup lease: {r.text}"
    return lease


async def returnable_lease(s: Site, target: str) -> Call:
    """A lease handed over, and its one line coming back."""
    lease = await a_lease(s, target, out=True)
    line = (await s.admin.get(f"/api/v1/leases/{lease}")).json()["lines"][0]["id"]
    return Call({"lease_id": lease}, json={"lines": [{"line_id": line}]})


TODAY = beijing_today()


def agreement_body(s: Site, target: str) -> dict[str, Any]:
    """A physical agreement, valid today, for 1000 tents at the target's vendor warehouse."""
    return {"number": s.unique("XY-M-"), "name": "帐篷协议代储", "vendor_location_id": s.vendor[target],
            "kind": "physical", "valid_from": str(TODAY - dt.timedelta(days=30)),
            "valid_until": str(TODAY + dt.timedelta(days=365)), "response_hours": 6,
            "lines": [{"item_type_id": s.tent, "quantity": 1000}]}


CHECK = {"checked_on": str(TODAY), "method": "regular", "result": "pass"}


async def settleable_calloff(s: Site, target: str) -> Call:
    """A call-off of one tent from the target's agreement, executed (so its settlement is due), not yet settled."""
    incident = await an_incident(s, target)
    d = await created(s.admin, f"/api/v1/incidents/{incident}/dispatches", {
        "lines": [{"item_type": "TENT-12", "quantity": 1, "agreement_id": s.agreement[target]}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    r = await s.admin.post(f"/api/v1/dispatches/{d['id']}/execute", json={})
    assert r.status_code == 200, f"setup execute: {r.text}"
    calloffs = (await s.admin.get(f"/api/v1/agreements/{s.agreement[target]}/calloffs")).json()
    calloff = next(c["id"] for c in calloffs if c["dispatch_id"] == d["id"])
    return Call({"agreement_id": s.agreement[target], "calloff_id": calloff}, json={"note": "已付款"})


async def agreement_check_form(s: Site, target: str) -> Call:
    """The agreement page's check form: a drill with a count of its one line."""
    return await page_form(s, {
        "idempotency_key": s.unique("agreement-check-"), "checked_on": str(TODAY), "method": "drill",
        "result": "pass", "deficiency": "", "requested_at": "2026-06-01T08:00", "arrived_at": "2026-06-01T13:00",
        f"count_{s.agreement_line[target]}": "1000"}, agreement_id=s.agreement[target])


async def a_quota(s: Site, target: str) -> Call:
    """A quota of a new item type at the target's depot (so that each call has one of its own)."""
    item = await created(s.admin, "/api/v1/item-types", item_type_body(s.unique("Q-ITEM-"), tracking="bulk",
                                                                        gbt_code=None, attributes={}, tags=[]))
    quota = await created(s.admin, "/api/v1/quotas", {"location_id": s.depot[target], "item_type_id": item["id"],
                                                      "minimum": 2})
    return Call({"quota_id": quota["id"]})


async def a_relief_site(s: Site, target: str) -> int:
    """An incident in the target's region whose staging place (in or out of the keeper's scope) holds tents."""
    incident = await an_incident(s, target)
    site = (await s.admin.get(f"/api/v1/incidents/{incident}")).json()["location_id"]
    await created(s.admin, "/api/v1/movements", receipt(site, s.tent, 5))
    return incident


async def relief_to(s: Site, target: str) -> Call:
    """A tent handed to a new household at the staging place of an incident in the target's region."""
    from inventory.relief.ids import check_character

    first17 = f"36012119800101{next(s.numbers) % 1000:03d}"
    household = {"head_name": "矩阵户主", "id_number": first17 + check_character(first17), "village": "八一村",
                 "size": 3}
    return Call({"incident_id": await a_relief_site(s, target)},
                json={"household": household, "lines": [{"item_type": "TENT-12", "quantity": 1}]})


async def relief_register(s: Site, target: str) -> Call:
    """The register of a village and round of an incident in the target's region."""
    return Call({"incident_id": await an_incident(s, target)}, query={"village": "八一村", "round": 1})


async def new_quota(s: Site, target: str) -> Call:
    """A quota body for a new item type at the target's depot."""
    item = await created(s.admin, "/api/v1/item-types", item_type_body(s.unique("Q-NEW-"), tracking="bulk",
                                                                        gbt_code=None, attributes={}, tags=[]))
    return Call(json={"location_id": s.depot[target], "item_type_id": item["id"], "minimum": 5, "warning_margin": 1,
                      "season": {"start": "04-01", "end": "09-30", "minimum": 8}})


async def patch_a_quota(s: Site, target: str) -> Call:
    """A change of a quota at the target's depot."""
    call = await a_quota(s, target)
    return Call(call.params, json={"minimum": 3})


def quota_sheet(s: Site, target: str) -> Call:
    """The reserve catalogue with one row for the target's depot (tents)."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["库点编码", "物资编码", "最低储备量", "预警余量"])
    book.active.append(["D-IN" if target == "in" else "D-OUT", "TENT-12", 10, 2])
    out = io.BytesIO()
    book.save(out)
    return Call(files={"file": ("quotas.xlsx", out.getvalue(), XLSX)})


def risk_point_body(s: Site, target: str) -> dict[str, Any]:
    """A new risk point (a unique code) in the target's region, needing tents."""
    lat, lon = INCIDENT_POINT[target]
    return {"code": s.unique("M-RP-"), "name": "矩阵风险隐患点", "kind": "embankment",
            "region_code": TARGET_REGION[target], "lat": lat, "lon": lon, "weight": 120,
            "needs": [{"item_type_id": s.tent, "quantity": 5}]}


async def a_risk_point(s: Site, target: str) -> Call:
    """A risk point of the target's region (each call has one of its own)."""
    point = await created(s.admin, "/api/v1/risk-points", risk_point_body(s, target))
    return Call({"risk_point_id": point["id"]})


async def patch_a_risk_point(s: Site, target: str) -> Call:
    """A change of a risk point in the target's region."""
    call = await a_risk_point(s, target)
    return Call(call.params, json={"weight": 300, "needs": [{"item_type_id": s.tent, "quantity": 8}]})


def risk_point_sheet(s: Site, target: str) -> Call:
    """The 风险隐患点 list with one new point in the target's region needing tents."""
    import io

    import openpyxl

    lat, lon = INCIDENT_POINT[target]
    book = openpyxl.Workbook()
    book.active.append(["编号", "名称", "类型", "行政区划代码", "纬度", "经度", "受威胁人数", "需求"])
    book.active.append([s.unique("M-RPX-"), "矩阵导入风险点", "低洼村庄", TARGET_REGION[target], lat, lon, 80,
                        "TENT-12×5"])
    out = io.BytesIO()
    book.save(out)
    return Call(files={"file": ("risk-points.xlsx", out.getvalue(), XLSX)})


PLANNER = "matrix-planner"  # a plan's author: not the admin who approves it in the matrix


async def a_plan(s: Site, target: str, *steps: str) -> int:
    """A plan of the target's region: one tent from its depot to a new staging site, written by another admin;
    ``steps`` take it on ("approve", "execute", "receive")."""
    from inventory.access.scope import Principal
    from inventory.plans import service as plans
    from inventory.plans.schemas import PlanCreate
    from inventory.stock.schemas import TransferReceive
    from inventory.stock.transfers import receive_transfer

    lat, lon = INCIDENT_POINT[target]
    staging = await created(s.admin, "/api/v1/locations", location_body(
        s.unique("S-PLAN-"), name="矩阵前置点", kind="staging", region_code=TARGET_REGION[target], lat=lat, lon=lon))
    author = Principal(0, PLANNER, PLANNER, "admin", (), (), 0)
    checker = Principal(0, "matrix-checker", "matrix-checker", "admin", (), (), 0)
    async with s.db.write() as session:
        plan = await plans.create_plan(session, PlanCreate(
            name=s.unique("矩阵前置计划"), region_code=TARGET_REGION[target],
            lines=plan_lines(s, target, staging["id"])), author)
        if "approve" in steps:
            await plans.approve_plan(session, plan.id, checker)
        if "execute" in steps:
            await plans.execute_plan(session, plan.id, checker)
        if "receive" in steps:
            for line in await plans.plan_lines(session, plan.id):
                assert line.transfer_id is not None
                await receive_transfer(session, line.transfer_id, TransferReceive(), actor="matrix-keeper")
        return plan.id


def plan_lines(s: Site, target: str, staging: int) -> list[Any]:
    """One tent from the target's depot to a staging site."""
    from inventory.plans.schemas import PlanLineIn

    return [PlanLineIn(from_location_id=s.depot[target], to_location_id=staging, item_type_id=s.tent, quantity=1)]


async def new_plan(s: Site, target: str) -> Call:
    """A plan body for the target's region, from its depot to a new staging site."""
    lat, lon = INCIDENT_POINT[target]
    staging = await created(s.admin, "/api/v1/locations", location_body(
        s.unique("S-NEW-"), name="矩阵前置点", kind="staging", region_code=TARGET_REGION[target], lat=lat, lon=lon))
    return Call(json={"name": "矩阵前置计划", "region_code": TARGET_REGION[target], "lines": [
        {"from_location_id": s.depot[target], "to_location_id": staging["id"], "item_type_id": s.tent,
         "quantity": 1}]})


async def a_plan_call(s: Site, target: str, *steps: str, json: Any = None) -> Call:
    """A call on a plan of the target's region taken through ``steps``."""
    return Call({"plan_id": await a_plan(s, target, *steps)}, json=json)


async def repairable_unit(s: Site, target: str) -> Call:
    """A new pump at the target's depot, to be sent to a repairer (each call needs a unit not away yet)."""
    unit = await created(s.admin, "/api/v1/assets", {"item_type_id": s.pump, "serial_number": s.unique("BC-R"),
                                                      "location_id": s.depot[target]})
    return Call({"asset_id": unit["id"]}, json={"vendor": "南昌某机电维修厂", "problem": "漏油"})


async def repair_away(s: Site, target: str) -> Call:
    """A pump of the target's depot away at a repairer, coming back."""
    sent = await repairable_unit(s, target)
    repair = await created(s.admin, f"/api/v1/assets/{sent.params['asset_id']}/repairs", sent.json)
    return Call({"repair_id": repair["id"]}, json={"work_done": "更换密封件", "cost": 120})


async def an_alert(s: Site, target: str) -> Call:
    """An open alert (an expired lot) at the target's depot, as the alerts computation would leave it."""
    from inventory.store.models import Alert

    async with s.db.write() as session:
        alert = Alert(kind="lot_expired", subject_type="lot", subject_id=1, severity="high",
                      dedupe_key=s.unique(f"matrix-alert-{target}-"), region_code=TARGET_REGION[target],
                      location_id=s.depot[target], title="过期：矩阵测试批次", detail="")
        session.add(alert)
        await session.flush()
        alert_id = alert.id
    return Call({"alert_id": alert_id})


async def a_proposal_request(s: Site, target: str) -> Call:
    """Cover a new risk point in the target's region from its depot (one candidate, one site to choose)."""
    from inventory.store.models import RiskPoint

    lat, lon = INCIDENT_POINT[target]
    async with s.db.write() as session:
        session.add(RiskPoint(code=s.unique("M-RISK-"), name="矩阵风险点", kind="village", lat=lat, lon=lon,
                              region_code=TARGET_REGION[target], weight=10.0, note="", created_by="matrix"))
    return Call(json={"region_code": TARGET_REGION[target], "objective": "coverage", "p": 1,
                      "site_ids": [s.depot[target]], "time_limit_seconds": 5})


async def a_proposal(s: Site, target: str) -> Call:
    """A finished optimiser run for the target's region."""
    from inventory.store.models import PlanProposal

    async with s.db.write() as session:
        row = PlanProposal(status="done", objective="coverage", region_code=TARGET_REGION[target], params={"p": 1},
                           progress={"stage": "done"}, answer={"sites": [str(s.depot[target])]}, error="",
                           created_by="matrix")
        session.add(row)
        await session.flush()
        ident = row.id
    return Call({"proposal_id": ident})


def request_body(s: Site, target: str, incident: int) -> dict[str, Any]:
    """A request (物资调用申请) for one tent, sent to the target's region from the region across the scope line."""
    needed_by = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).isoformat()
    return {"incident_id": incident, "from_region": TARGET_REGION["out" if target == "in" else "in"],
            "to_region": TARGET_REGION[target], "purpose": "矩阵演练", "needed_by": needed_by,
            "transport": "either", "contact_name": "矩阵联系人", "contact_phone": "13800000000",
            "lines": [{"item_type": "TENT-12", "quantity": 1}]}


async def new_request(s: Site, target: str) -> Call:
    """A request body toward a new incident in the target's region, addressed to that region."""
    return Call(json=request_body(s, target, await an_incident(s, target)))


async def a_request(s: Site, target: str) -> tuple[int, int]:
    """An open request addressed to the target's region, sent by the admin: its id and its one line's id."""
    r = await created(s.admin, "/api/v1/requests", request_body(s, target, await an_incident(s, target)))
    return r["id"], r["lines"][0]["id"]


async def a_request_id(s: Site, target: str) -> int:
    """An open request addressed to the target's region."""
    return (await a_request(s, target))[0]


async def acceptable_request(s: Site, target: str) -> Call:
    """An open request to the target's region (each call answers one of its own), given from its depot."""
    request_id, line_id = await a_request(s, target)
    return Call({"request_id": request_id}, json={
        "lines": [{"line_id": line_id, "quantity": 1, "from_location_id": s.depot[target]}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})


async def declinable_request(s: Site, target: str) -> Call:
    """An open request to the target's region, refused with a reason."""
    request_id, _ = await a_request(s, target)
    return Call({"request_id": request_id}, json={"reason": "本级库存不足"})


# Pages are "public" to the permission guard: they read the session cookie themselves and send anyone
# without one to /login (303), which is what every column here sees, since the matrix signs in with bearer
# tokens. What a signed-in user may do on the scan page is the scan tests' business.
BUILDERS: dict[tuple[str, str], Builder] = {
    ("GET", "/"): lambda s, t: Call(),
    ("GET", "/login"): lambda s, t: Call(query={"next": "/"}),
    ("POST", "/login"): lambda s, t: page_form(s, {"username": SIGN_IN_USER, "password": SIGN_IN_PASSWORD,
                                                   "next": "/"}),
    ("POST", "/logout"): lambda s, t: page_form(s, {}),
    ("GET", "/s/{code}"): lambda s, t: Call({"code": s.label[t]}),
    ("POST", "/s/{code}"): lambda s, t: page_form(s, {"action": "inspect", "result": "ok"}, code=s.label[t]),
    ("GET", "/station"): lambda s, t: Call(),
    ("GET", "/station/probe"): lambda s, t: Call(),
    ("GET", "/station-sw.js"): lambda s, t: Call(),
    ("POST", "/station/actions"): station_action,
    ("GET", "/static/{file_path}"): lambda s, t: Call({"file_path": "app.css"}),
    ("HEAD", "/static/{file_path}"): lambda s, t: Call({"file_path": "app.css"}),
    ("GET", "/api/v1/scan/{code}"): lambda s, t: Call({"code": s.label[t]}),
    ("GET", "/api/v1/labels/{filename}"): lambda s, t: Call({"filename": f"{s.label[t]}.svg"}),
    ("POST", "/api/v1/labels/sheets"): lambda s, t: Call(json={"codes": [s.label[t]]}),
    ("POST", "/api/v1/labels/{code}/reissue"): reissue_a_fresh_label,
    ("GET", "/health"): lambda s, t: Call(),
    ("GET", "/ready"): lambda s, t: Call(),
    ("POST", "/api/v1/auth/token"): lambda s, t: Call(json={"username": SIGN_IN_USER, "password": SIGN_IN_PASSWORD}),
    ("DELETE", "/api/v1/auth/token"): lambda s, t: Call(fresh_token=True),
    ("GET", "/api/v1/auth/me"): lambda s, t: Call(),
    ("GET", "/api/v1/users"): lambda s, t: Call(),
    ("POST", "/api/v1/users"): new_user,
    ("GET", "/api/v1/users/{user_id}"): lambda s, t: Call({"user_id": s.user}),
    ("PATCH", "/api/v1/users/{user_id}"): lambda s, t: Call({"user_id": s.user}, json={"phone": "13800000000"}),
    ("GET", "/api/v1/audit"): lambda s, t: Call(query={"limit": 5}),
    ("GET", "/api/v1/regions"): lambda s, t: Call(query={"parent": TARGET_REGION[t][:4]}),
    ("GET", "/api/v1/regions/{code}"): lambda s, t: Call({"code": TARGET_REGION[t]}),
    ("GET", "/api/v1/locations"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("POST", "/api/v1/locations"): new_location,
    ("GET", "/api/v1/locations/{location_id}"): lambda s, t: Call({"location_id": s.depot[t]}),
    ("PATCH", "/api/v1/locations/{location_id}"): lambda s, t: Call({"location_id": s.depot[t]},
                                                                     json={"contact_name": "李保管"}),
    ("GET", "/api/v1/item-types"): lambda s, t: Call(query={"tracking": "bulk"}),
    ("POST", "/api/v1/item-types"): lambda s, t: Call(json=item_type_body(s.unique("PUMP-M"))),
    ("GET", "/api/v1/item-types/{item_type_id}"): lambda s, t: Call({"item_type_id": s.tent}),
    ("PATCH", "/api/v1/item-types/{item_type_id}"): lambda s, t: Call({"item_type_id": s.tent},
                                                                       json={"spec": "3×4 m"}),
    ("GET", "/api/v1/assets"): lambda s, t: Call(query={"location_id": s.depot[t]}),
    ("POST", "/api/v1/assets"): lambda s, t: Call(json={"item_type_id": s.pump, "serial_number": s.unique("BC-M"),
                                                        "location_id": s.depot[t]}),
    ("GET", "/api/v1/assets/{asset_id}"): lambda s, t: Call({"asset_id": s.asset[t]}),
    ("PATCH", "/api/v1/assets/{asset_id}"): lambda s, t: Call({"asset_id": s.asset[t]}, json={"notes": "已检查"}),
    ("GET", "/api/v1/movements"): lambda s, t: Call(query={"location_id": s.depot[t]}),
    ("POST", "/api/v1/movements"): lambda s, t: Call(json=receipt(s.depot[t], s.tent, 1)),
    ("GET", "/api/v1/documents/{document_id}"): lambda s, t: Call({"document_id": s.document[t]}),
    ("POST", "/api/v1/documents/{document_id}/reverse"): reverse_a_fresh_receipt,
    ("GET", "/api/v1/transfers"): lambda s, t: Call(query={"location_id": s.depot[t]}),
    ("GET", "/api/v1/transfers/{transfer_id}"): lambda s, t: Call({"transfer_id": s.transfer[t]}),
    ("POST", "/api/v1/transfers/{transfer_id}/receive"): receive_a_fresh_transfer,
    ("GET", "/api/v1/lots"): lambda s, t: Call(query={"location": s.depot[t], "item_type": "TENT-12"}),
    ("GET", "/api/v1/lots/{lot_id}"): a_lot,
    ("GET", "/api/v1/stock"): lambda s, t: Call(query={"location_id": s.depot[t]}),
    ("GET", "/api/v1/stock/card"): lambda s, t: Call(query={"location_id": s.depot[t], "item_type_id": s.tent}),
    ("GET", "/api/v1/availability/nearest"): lambda s, t: Call(query={"lat": 28.55, "lon": 115.94,
                                                                        "category": "shelter", "quantity": 2}),
    ("GET", "/api/v1/availability/summary"): lambda s, t: Call(query={"region": "3601", "category": "shelter"}),
    ("GET", "/api/v1/reports/receipts-issues"): lambda s, t: Call(query={"location": s.depot[t], "period": "2026"}),
    ("GET", "/api/v1/reports/stock-ledger"): lambda s, t: Call(query={"location": s.depot[t]}),
    ("GET", "/api/v1/reports/stock-by-county"): lambda s, t: Call(query={"region": "3601"}),
    ("GET", "/api/v1/reports/expiring-lots"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("GET", "/reports"): lambda s, t: Call(),
    ("GET", "/reports/receipts-issues"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("GET", "/reports/receipts-issues.xlsx"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("GET", "/reports/stock-ledger"): lambda s, t: Call(query={"location": str(s.depot[t])}),
    ("GET", "/reports/stock-ledger.xlsx"): lambda s, t: Call(query={"location": str(s.depot[t])}),
    ("GET", "/reports/stock-by-county"): lambda s, t: Call(query={"region": "3601"}),
    ("GET", "/reports/stock-by-county.xlsx"): lambda s, t: Call(query={"region": "3601"}),
    ("POST", "/api/v1/stocktakes"): lambda s, t: Call(json={"location_id": s.depot[t], "period": "2026Q4"}),
    ("GET", "/api/v1/stocktakes"): lambda s, t: Call(query={"location_id": s.depot[t]}),
    ("GET", "/api/v1/stocktakes/{stocktake_id}"): lambda s, t: _call(a_stocktake(s, t), "stocktake_id"),
    ("GET", "/api/v1/stocktakes/{stocktake_id}/sheet.xlsx"): lambda s, t: _call(a_stocktake(s, t), "stocktake_id"),
    ("GET", "/api/v1/stocktakes/{stocktake_id}/variance"): lambda s, t: _call(a_stocktake(s, t), "stocktake_id"),
    ("GET", "/api/v1/stocktakes/{stocktake_id}/variance.xlsx"): lambda s, t: _call(a_stocktake(s, t),
                                                                                    "stocktake_id"),
    ("POST", "/api/v1/stocktakes/{stocktake_id}/counts"): counted_sheet,
    ("POST", "/api/v1/stocktakes/{stocktake_id}/approve"): approvable,
    ("GET", "/api/v1/stocktakes/uploads/{upload_id}/errors.xlsx"): refused_upload,
    ("POST", "/api/v1/imports/opening-balances"): opening_sheet,
    ("POST", "/api/v1/incidents"): new_incident,
    ("GET", "/api/v1/incidents"): lambda s, t: Call(query={"status": "open"}),
    ("GET", "/api/v1/incidents/{incident_id}"): lambda s, t: _call(an_incident(s, t), "incident_id"),
    ("POST", "/api/v1/incidents/{incident_id}/close"): lambda s, t: _call(an_incident(s, t), "incident_id"),
    ("POST", "/api/v1/incidents/{incident_id}/dispatches"): dispatch_from,
    ("GET", "/api/v1/dispatches"): lambda s, t: Call(query={"source": s.depot[t]}),
    ("GET", "/api/v1/dispatches/{dispatch_id}"): lambda s, t: _call(a_dispatch(s, t), "dispatch_id"),
    ("POST", "/api/v1/dispatches/{dispatch_id}/paperwork"): lambda s, t: _call(
        a_dispatch(s, t), "dispatch_id", json={"document_no": "赣应急〔2026〕1号"}),
    ("POST", "/api/v1/dispatches/{dispatch_id}/execute"): lambda s, t: _call(a_dispatch(s, t), "dispatch_id", json={}),
    ("POST", "/api/v1/dispatches/{dispatch_id}/deliver"): lambda s, t: _call(
        a_dispatch(s, t, steps=("execute",)), "dispatch_id"),
    ("POST", "/api/v1/dispatches/{dispatch_id}/return"): return_to,
    ("POST", "/api/v1/dispatches/{dispatch_id}/cancel"): lambda s, t: _call(a_dispatch(s, t), "dispatch_id"),
    ("POST", "/api/v1/write-offs"): lambda s, t: Call(json=write_off_body(s, t)),
    ("GET", "/api/v1/write-offs"): lambda s, t: Call(query={"location_id": s.depot[t], "status": "pending"}),
    ("GET", "/api/v1/write-offs/{request_id}"): lambda s, t: _call(a_write_off(s, t), "request_id"),
    ("POST", "/api/v1/write-offs/{request_id}/approve"): decidable_write_off,
    ("POST", "/api/v1/write-offs/{request_id}/reject"): lambda s, t: decidable_write_off(s, t, {"reason": "尚可修复"}),
    ("POST", "/api/v1/write-offs/{request_id}/cancel"): cancellable_write_off,
    ("GET", "/write-offs"): lambda s, t: Call(),
    ("POST", "/write-offs/{request_id}/approve"): lambda s, t: page_form(s, {"idempotency_key": "x"}, request_id=1),
    ("POST", "/write-offs/{request_id}/reject"): lambda s, t: page_form(s, {"reason": "尚可修复"}, request_id=1),
    ("GET", "/incidents"): lambda s, t: Call(query={"status": "all"}),
    ("POST", "/incidents"): lambda s, t: page_form(s, {"name": "演练", "kind": "flood", "region_code": "360121"}),
    ("GET", "/incidents/{incident_id}"): lambda s, t: Call({"incident_id": 1}),
    ("POST", "/incidents/{incident_id}/close"): lambda s, t: page_form(s, {"confirm": "yes"}, incident_id=1),
    ("GET", "/dispatches"): lambda s, t: Call(),
    ("GET", "/dispatches/{dispatch_id}"): lambda s, t: Call({"dispatch_id": 1}),
    ("POST", "/dispatches/{dispatch_id}/paperwork"): lambda s, t: page_form(s, {"document_no": "x"}, dispatch_id=1),
    ("POST", "/dispatches/{dispatch_id}/cancel"): lambda s, t: page_form(s, {"confirm": "yes"}, dispatch_id=1),
    ("POST", "/dispatches/{dispatch_id}/execute"): lambda s, t: page_form(s, {"from_location_id": "1"}, dispatch_id=1),
    ("POST", "/dispatches/{dispatch_id}/deliver"): lambda s, t: page_form(s, {"line_id": "1"}, dispatch_id=1),
    ("POST", "/dispatches/{dispatch_id}/return"): lambda s, t: page_form(s, {"line_id": "1", "to_location_id": "1"},
                                                                         dispatch_id=1),
    ("GET", "/availability"): lambda s, t: Call(query={"lat": "28.55", "lon": "115.94", "category": "pump"}),
    ("GET", "/availability/summary"): lambda s, t: Call(query={"region": "3601", "category": "pump"}),
    ("GET", "/map"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("GET", "/map/counties.geojson"): lambda s, t: Call(query={"region": "3601"}),
    ("GET", "/leases"): lambda s, t: Call(query={"status": "overdue"}),
    ("GET", "/leases/{lease_id}"): lambda s, t: Call({"lease_id": 1}),
    ("POST", "/leases/{lease_id}/return"): lambda s, t: page_form(s, {"q_1": "1"}, lease_id=1),
    ("POST", "/leases/{lease_id}/out"): lambda s, t: page_form(s, {"idempotency_key": "x"}, lease_id=1),
    ("POST", "/leases/{lease_id}/extend"): lambda s, t: page_form(s, {"due_date": "2026-12-31", "reason": "汛期延长"},
                                                                  lease_id=1),
    ("POST", "/api/v1/leases"): lambda s, t: Call(json=lease_body(s, t)),
    ("GET", "/api/v1/leases"): lambda s, t: Call(query={"status": "overdue", "direction": "out"}),
    ("GET", "/api/v1/leases/fees"): lambda s, t: Call(query={"year": 2026}),
    ("GET", "/api/v1/leases/{lease_id}"): lambda s, t: _call(a_lease(s, t), "lease_id"),
    ("POST", "/api/v1/leases/{lease_id}/out"): lambda s, t: _call(a_lease(s, t), "lease_id"),
    ("POST", "/api/v1/leases/{lease_id}/return"): returnable_lease,
    ("POST", "/api/v1/leases/{lease_id}/extend"): lambda s, t: _call(a_lease(s, t), "lease_id",
                                                                     json={"due_date": "2026-12-31"}),
    ("POST", "/availability/reserve"): lambda s, t: page_form(s, {"incident_id": "1", "site_id": str(s.depot[t]),
                                                                  "item_type_id": "1", "quantity": "1"}),
    ("POST", "/api/v1/agreements"): lambda s, t: Call(json=agreement_body(s, t)),
    ("GET", "/api/v1/agreements"): lambda s, t: Call(query={"status": "valid", "kind": "physical",
                                                            "item_type_id": s.tent}),
    ("GET", "/api/v1/agreements/{agreement_id}"): lambda s, t: Call({"agreement_id": s.agreement[t]}),
    ("POST", "/api/v1/agreements/{agreement_id}/checks"): lambda s, t: Call({"agreement_id": s.agreement[t]},
                                                                            json=CHECK),
    ("GET", "/api/v1/agreements/{agreement_id}/checks"): lambda s, t: Call({"agreement_id": s.agreement[t]}),
    ("GET", "/api/v1/agreements/{agreement_id}/calloffs"): lambda s, t: Call({"agreement_id": s.agreement[t]}),
    ("POST", "/api/v1/agreements/{agreement_id}/calloffs/{calloff_id}/settle"): settleable_calloff,
    ("GET", "/agreements"): lambda s, t: Call(query={"status": "valid"}),
    ("GET", "/agreements/{agreement_id}"): lambda s, t: Call({"agreement_id": s.agreement[t]}),
    ("POST", "/agreements/{agreement_id}/checks"): agreement_check_form,
    ("POST", "/api/v1/maintenance-plans"): lambda s, t: Call(json={"item_type_id": s.pump, "task": "run_test",
                                                                   "interval_months": 1, "run_minutes": 10}),
    ("GET", "/api/v1/maintenance-plans"): lambda s, t: Call(query={"item_type_id": s.pump, "active": "true"}),
    ("POST", "/api/v1/assets/{asset_id}/checks"): lambda s, t: Call({"asset_id": s.asset[t]}, json={
        "task": "run_test", "result": "ok", "run_minutes": 10, "load_pct": 30}),
    ("GET", "/api/v1/assets/{asset_id}/checks"): lambda s, t: Call({"asset_id": s.asset[t]}),
    ("POST", "/api/v1/assets/{asset_id}/repairs"): repairable_unit,
    ("POST", "/api/v1/repairs/{repair_id}/back"): repair_away,
    ("GET", "/api/v1/readiness"): lambda s, t: Call(query={"region": TARGET_REGION[t], "category": "pump"}),
    ("POST", "/api/v1/quotas"): new_quota,
    ("GET", "/api/v1/quotas"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("GET", "/api/v1/quotas/status"): lambda s, t: Call(query={"region": TARGET_REGION[t], "level": "below"}),
    ("GET", "/api/v1/quotas/template"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("POST", "/api/v1/quotas/import"): quota_sheet,
    ("GET", "/api/v1/quotas/{quota_id}"): a_quota,
    ("PATCH", "/api/v1/quotas/{quota_id}"): patch_a_quota,
    ("DELETE", "/api/v1/quotas/{quota_id}"): a_quota,
    ("POST", "/api/v1/risk-points"): lambda s, t: Call(json=risk_point_body(s, t)),
    ("GET", "/api/v1/risk-points"): lambda s, t: Call(query={"region": TARGET_REGION[t], "kind": "embankment"}),
    ("GET", "/api/v1/risk-points/template"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("POST", "/api/v1/risk-points/import"): risk_point_sheet,
    ("GET", "/api/v1/risk-points/{risk_point_id}"): a_risk_point,
    ("PATCH", "/api/v1/risk-points/{risk_point_id}"): patch_a_risk_point,
    ("DELETE", "/api/v1/risk-points/{risk_point_id}"): a_risk_point,
    ("POST", "/api/v1/plans/propose"): a_proposal_request,
    ("GET", "/api/v1/plans/proposals"): lambda s, t: Call(query={"region": TARGET_REGION[t], "limit": 5}),
    ("GET", "/api/v1/plans/proposals/{proposal_id}"): a_proposal,
    ("POST", "/api/v1/plans"): new_plan,
    ("GET", "/api/v1/plans"): lambda s, t: Call(query={"region": TARGET_REGION[t], "status": "in_place"}),
    ("GET", "/api/v1/plans/{plan_id}"): lambda s, t: a_plan_call(s, t, "approve", "execute"),
    ("PATCH", "/api/v1/plans/{plan_id}"): lambda s, t: a_plan_call(s, t, json={"note": "矩阵修改"}),
    ("GET", "/api/v1/plans/{plan_id}/coverage"): lambda s, t: a_plan_call(s, t),
    ("POST", "/api/v1/plans/{plan_id}/approve"): lambda s, t: a_plan_call(s, t),
    ("POST", "/api/v1/plans/{plan_id}/execute"): lambda s, t: a_plan_call(s, t, "approve"),
    ("POST", "/api/v1/plans/{plan_id}/recall"): lambda s, t: a_plan_call(s, t, "approve", "execute", "receive",
                                                                         json={"reason": "汛期结束"}),
    ("GET", "/api/v1/alerts"): lambda s, t: Call(query={"status": "open", "region": TARGET_REGION[t]}),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): an_alert,
    ("GET", "/alerts"): lambda s, t: Call(query={"status": "open"}),
    ("POST", "/alerts/{alert_id}/ack"): lambda s, t: page_form(s, {"idempotency_key": "x"}, alert_id=1),
    ("GET", "/quotas"): lambda s, t: Call(query={"region": TARGET_REGION[t], "level": "below"}),
    ("GET", "/readiness"): lambda s, t: Call(query={"region": TARGET_REGION[t], "category": "generator"}),
    ("GET", "/plans"): lambda s, t: Call(query={"region": TARGET_REGION[t], "status": "draft"}),
    ("POST", "/plans/propose"): lambda s, t: page_form(s, {"region_code": TARGET_REGION[t], "objective": "coverage",
                                                           "p": "1", "target_minutes": "60"}),
    ("GET", "/plans/proposals/{proposal_id}"): lambda s, t: Call({"proposal_id": 1}),
    ("POST", "/plans/proposals/{proposal_id}/plan"): lambda s, t: page_form(s, {"name": "矩阵计划"}, proposal_id=1),
    ("GET", "/plans/{plan_id}"): lambda s, t: Call({"plan_id": 1}),
    ("POST", "/plans/{plan_id}/approve"): lambda s, t: page_form(s, {"idempotency_key": "x"}, plan_id=1),
    ("POST", "/plans/{plan_id}/execute"): lambda s, t: page_form(s, {"idempotency_key": "x"}, plan_id=1),
    ("POST", "/plans/{plan_id}/recall"): lambda s, t: page_form(s, {"reason": "汛期结束"}, plan_id=1),
    ("GET", "/risk-points"): lambda s, t: Call(query={"region": TARGET_REGION[t], "kind": "village"}),
    ("GET", "/risk-points/template.xlsx"): lambda s, t: Call(query={"region": TARGET_REGION[t]}),
    ("POST", "/risk-points/import"): lambda s, t: page_form(s, {"region": TARGET_REGION[t]}),
    ("POST", "/api/v1/incidents/{incident_id}/distributions"): relief_to,
    ("GET", "/api/v1/incidents/{incident_id}/distributions"): lambda s, t: _call(a_relief_site(s, t), "incident_id"),
    ("GET", "/api/v1/incidents/{incident_id}/distributions/totals"): lambda s, t: _call(an_incident(s, t),
                                                                                         "incident_id"),
    ("GET", "/api/v1/incidents/{incident_id}/distributions/register.xlsx"): relief_register,
    ("GET", "/incidents/{incident_id}/relief"): lambda s, t: Call({"incident_id": 1}),
    ("POST", "/incidents/{incident_id}/relief"): lambda s, t: page_form(
        s, {"head_name": "矩阵户主", "village": "八一村"}, incident_id=1),
    ("GET", "/incidents/{incident_id}/relief/register.xlsx"): lambda s, t: Call(
        {"incident_id": 1}, query={"village": "八一村", "round": "1"}),
    ("POST", "/api/v1/requests"): new_request,
    ("GET", "/api/v1/requests"): lambda s, t: Call(query={"box": "incoming", "status": "open"}),
    ("GET", "/api/v1/requests/counts"): lambda s, t: Call(),
    ("GET", "/api/v1/requests/{request_id}"): lambda s, t: _call(a_request_id(s, t), "request_id"),
    ("POST", "/api/v1/requests/{request_id}/accept"): acceptable_request,
    ("POST", "/api/v1/requests/{request_id}/decline"): declinable_request,
    ("GET", "/requests"): lambda s, t: Call(query={"box": "incoming"}),
    ("GET", "/requests/new"): lambda s, t: Call(),
    ("POST", "/requests"): lambda s, t: page_form(s, {"idempotency_key": "x", "to_region": TARGET_REGION[t]}),
    ("GET", "/requests/{request_id}"): lambda s, t: Call({"request_id": 1}),
    ("POST", "/requests/{request_id}/accept"): lambda s, t: page_form(s, {"idempotency_key": "x"}, request_id=1),
    ("POST", "/requests/{request_id}/decline"): lambda s, t: page_form(s, {"reason": "本级库存不足"}, request_id=1),
}


@dataclass(frozen=True)
class Route:
    """One method of one path, with the handler that answers it."""

    method: str
    path: str
    handler: BaseRouteHandler

    @property
    def key(self) -> tuple[str, str]:
        """How BUILDERS names this route."""
        return self.method, self.path

    @property
    def action(self) -> Any:
        """The permission action the handler declares."""
        return self.handler.opt.get("action")


def application_routes(app: Litestar) -> list[Route]:
    """Every (method, path template) the application answers, the OpenAPI description excepted."""
    routes = []
    for route in app.routes:
        if route.path_format == "/schema" or route.path_format.startswith("/schema/"):
            continue
        for handler in route.route_handlers:
            for method in sorted(getattr(handler, "http_methods", None) or {type(route).__name__}):
                if not (method == "OPTIONS" and is_framework_options(handler)):
                    routes.append(Route(method, route.path_format, handler))
    return sorted(routes, key=lambda r: (r.path, r.method))


def route_table_problems(routes: list[Route]) -> list[str]:
    """Routes without a permission entry or a request builder, and builders for routes that are gone."""
    problems = []
    for r in routes:
        if r.action not in PERMISSIONS:
            problems.append(f"{r.method} {r.path}: handler {r.handler.handler_name} has opt['action']={r.action!r}, "
                            "which is not a key of inventory.access.permissions.PERMISSIONS")
        if r.key not in BUILDERS:
            problems.append(f"{r.method} {r.path}: no request builder — add {r.key!r} to BUILDERS in {__file__}")
    known = {r.key for r in routes}
    problems.extend(f"{m} {p}: BUILDERS has a builder for a route the app no longer has"
                    for m, p in BUILDERS if (m, p) not in known)
    return problems


def expected(action: str, role: str | None, target: str) -> str:
    """What the permission table says: ``ok``, ``401`` or ``403``."""
    rule = PERMISSIONS[action]
    if action == "public":
        return "ok"
    if role is None:
        return "401"
    if role not in rule.roles:
        return "403"
    # Only keepers have a scope in this test; admins are never limited by one.
    if rule.scoped and role != "admin" and not (role == "keeper" and target == "in"):
        return "403"
    return "ok"


def verdict(want: str, r: Any) -> str | None:
    """Why the response does not match the expectation, or None when it does."""
    got = r.status_code
    if want == "ok":
        return None if got < 400 else f"expected success, got {got}: {r.text[:300]}"
    if got != int(want):
        return f"expected {want}, got {got}: {r.text[:300]}"
    if not r.headers.get("content-type", "").startswith(PROBLEM):
        return f"{got} is not {PROBLEM}: {r.headers.get('content-type')}"
    if got == 401 and "www-authenticate" not in r.headers:
        return "401 without a WWW-Authenticate header"
    return None


async def build_site(admin: Any, db: Database) -> Site:
    """Two depots on either side of the keeper's scope line, with stock, an asset, a document and a transfer;
    a vendor warehouse on each side with an agreement reserve (协议储备)."""
    depot = {
        "in": (await created(admin, "/api/v1/locations", location_body("D-IN")))["id"],
        "out": (await created(admin, "/api/v1/locations", location_body(
            "D-OUT", name="东湖区应急物资储备库", region_code=TARGET_REGION["out"], lat=28.68, lon=115.90)))["id"],
    }
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    asset, document, transfer, label = {}, {}, {}, {}
    for t in TARGETS:
        document[t] = (await created(admin, "/api/v1/movements", receipt(depot[t], tent, 1000)))["id"]
        unit = await created(admin, "/api/v1/assets", {"item_type_id": pump, "serial_number": f"BC-{t}",
                                                         "location_id": depot[t]})
        asset[t], label[t] = unit["id"], unit["label_code"]
    for t in TARGETS:
        transfer[t] = (await created(admin, "/api/v1/movements", {
            "kind": "transfer", "location_id": depot["out" if t == "in" else "in"], "to_location_id": depot[t],
            "lines": [{"item_type_id": tent, "quantity": 1}]}))["id"]
    user = (await created(admin, "/api/v1/users", {"username": SIGN_IN_USER, "password": SIGN_IN_PASSWORD,
                                                    "role": "auditor"}))["id"]
    site = Site(admin, depot, asset, document, transfer, tent, pump, user, label, db=db)
    for t in TARGETS:  # a firm's warehouse on each side of the scope line, with an agreement for tents
        site.vendor[t] = (await created(admin, "/api/v1/locations", location_body(
            f"V-{t.upper()}", name=f"协议企业仓库{t}", kind="vendor", region_code=TARGET_REGION[t],
            **dict(zip(("lat", "lon"), INCIDENT_POINT[t], strict=True)))))["id"]
        a = await created(admin, "/api/v1/agreements", agreement_body(site, t))
        site.agreement[t], site.agreement_line[t] = a["id"], a["lines"][0]["id"]
    return site


async def fresh_token(db: Database, username: str) -> str:
    """Another token of the same user, for requests that revoke the one they carry."""
    async with db.write() as session:
        token, _ = await tokens.issue_token(session, await users.get_user_by_name(session, username))
    return token


def table(routes: list[Route], columns: list[tuple[str | None, str]], cells: dict[tuple[int, int], str]) -> str:
    """The outcome of every request; a ``!`` marks a cell that disagrees with PERMISSIONS."""
    names = [f"{role or 'anon'}:{t}" for role, t in columns]
    width = max(len(f"{r.method} {r.path}") for r in routes)
    lines = [f"{'route':<{width}} {'action':<18} " + " ".join(f"{n:>12}" for n in names)]
    for i, r in enumerate(routes):
        lines.append(f"{r.method + ' ' + r.path:<{width}} {r.action!s:<18} "
                     + " ".join(f"{cells.get((i, j), '-'):>12}" for j in range(len(columns))))
    return "\n".join(lines)


async def test_every_route_names_a_permission_and_has_a_request_builder(app: Litestar) -> None:
    routes = application_routes(app)
    assert len(routes) >= len(BUILDERS) > 0
    problems = route_table_problems(routes)
    assert not problems, "the route table and the permission matrix disagree:\n  " + "\n  ".join(problems)


async def test_every_route_answers_every_role_as_the_permission_table_says(
    app: Litestar, db: Database, client: Any, client_as: Any, anonymous: Any,
) -> None:
    routes = application_routes(app)
    problems = route_table_problems(routes)
    assert not problems, "the route table and the permission matrix disagree:\n  " + "\n  ".join(problems)
    site = await build_site(client, db)
    clients: dict[str | None, Any] = {"admin": client, None: anonymous}
    for role in ROLES:
        if role != "admin":
            scope = {"scope_regions": [KEEPER_SCOPE]} if role == "keeper" else {}
            clients[role] = await client_as(role, role, **scope)
    columns = [(role, t) for role in (*ROLES, None) for t in TARGETS]
    cells: dict[tuple[int, int], str] = {}
    failures: list[str] = []
    for i, route in enumerate(routes):
        for j, (role, target) in enumerate(columns):
            built = BUILDERS[route.key](site, target)
            call = await built if inspect.isawaitable(built) else built
            headers = {}
            if call.fresh_token and role is not None:
                headers["Authorization"] = f"Bearer {await fresh_token(db, role)}"
            want = expected(route.action, role, target)
            refused_write = want != "ok" and route.method not in ("GET", "HEAD", "OPTIONS")
            before = await snapshot.state(db) if refused_write else {}
            r = await clients[role].request(route.method, route.path.format(**call.params), params=call.query,
                                            json=call.json, data=call.form, files=call.files,
                                            headers={**call.headers, **headers})
            clients[role].cookies.clear()  # a page sign-in must not turn the next anonymous request into a session
            why = verdict(want, r)
            if not why and refused_write and (tables := snapshot.changed(before, await snapshot.state(db))):
                why = f"refused with {r.status_code} but changed {', '.join(tables)}"
            cells[(i, j)] = f"{r.status_code}{'!' if why else ''}"
            if why:
                failures.append(f"{route.method} {route.path} as {role or 'anonymous'} ({target} of scope): {why}")
    assert not failures, (f"{len(failures)} outcomes disagree with PERMISSIONS:\n" + "\n".join(failures)
                          + "\n\n" + table(routes, columns, cells))


async def test_options_requests_answer_without_credentials(app: Litestar, anonymous: Any) -> None:
    paths = {r.path for r in application_routes(app)}
    answers = {p: (await anonymous.options(p.format_map(_AnyId()))).status_code for p in sorted(paths)}
    assert set(answers.values()) == {204}, answers


class _AnyId(dict[str, str]):
    """Fills every path parameter with 1."""

    def __missing__(self, key: str) -> str:
        return "1"


# Things without a location (a unit that is out, a lot) and every path that moves a site's stock, aimed at
# the keeper's own depot ("in") from the target's side. The route matrix above aims each route at one place;
# these calls join two, so a check of the keeper's own place alone lets them through.
@dataclass
class Crossing:
    """One request that changes something of the target's side."""

    method: str
    path: str
    json: Any = None


async def a_unit(s: Site, target: str) -> dict[str, Any]:
    """A new pump at the target's depot."""
    return await created(s.admin, "/api/v1/assets", {"item_type_id": s.pump, "serial_number": s.unique("BC-X"),
                                                      "location_id": s.depot[target]})


async def a_unit_out(s: Site, target: str, *, lost: bool = False) -> dict[str, Any]:
    """A pump that left the target's depot (issued, or counted as lost): it has no location now."""
    unit = await a_unit(s, target)
    await created(s.admin, "/api/v1/movements", {
        "kind": "adjustment" if lost else "issue", "location_id": s.depot[target], "counterparty": "县防汛抢险队",
        "reason": "盘点未找到" if lost else "",
        "lines": [{"item_type_id": s.pump, "quantity": -1 if lost else 1, "asset_ids": [unit["id"]]}]})
    return unit


def units_line(s: Site, unit: dict[str, Any], quantity: int = 1) -> list[dict[str, Any]]:
    """One line naming one pump."""
    return [{"item_type_id": s.pump, "quantity": quantity, "asset_ids": [unit["id"]]}]


async def edit_unit_out(s: Site, t: str) -> Crossing:
    """PATCH a pump that was issued from the target's depot."""
    return Crossing("PATCH", f"/api/v1/assets/{(await a_unit_out(s, t))['id']}", {"notes": "已检查"})


async def reissue_unit_out_label(s: Site, t: str) -> Crossing:
    """Re-issue the label of a pump issued from the target's depot."""
    return Crossing("POST", f"/api/v1/labels/{(await a_unit_out(s, t))['label_code']}/reissue")


async def reissue_lot_label(s: Site, t: str) -> Crossing:
    """Re-issue the label of a lot held only at the target's depot."""
    doc = await created(s.admin, "/api/v1/movements", {"kind": "receipt", "location_id": s.depot[t], "lines": [
        {"item_type_id": s.tent, "quantity": 2, "lot": {"number": s.unique("X-LOT-")}}]})
    return Crossing("POST", f"/api/v1/labels/{await lot_code(s, doc['movements'][0]['lot_id'])}/reissue")


async def lot_code(s: Site, lot_id: int) -> str:
    """A lot's current label code, read from the database."""
    from sqlalchemy import select

    from inventory.store.models import Lot

    async with s.db.read() as session:
        code = await session.scalar(select(Lot.label_code).where(Lot.id == lot_id))
    assert code, f"lot {lot_id} has no label"
    return code


async def return_unit_out(s: Site, t: str) -> Crossing:
    """Return a pump issued from the target's depot into the keeper's depot."""
    return Crossing("POST", "/api/v1/movements", {"kind": "return", "location_id": s.depot["in"],
                                                  "lines": units_line(s, await a_unit_out(s, t))})


async def receive_unit_out(s: Site, t: str) -> Crossing:
    """Receive a pump issued from the target's depot into the keeper's depot."""
    return Crossing("POST", "/api/v1/movements", {"kind": "receipt", "location_id": s.depot["in"],
                                                  "lines": units_line(s, await a_unit_out(s, t))})


async def find_lost_unit(s: Site, t: str) -> Crossing:
    """Count a pump lost at the target's depot back in at the keeper's depot."""
    return Crossing("POST", "/api/v1/movements", {"kind": "adjustment", "location_id": s.depot["in"],
                                                  "reason": "找到了",
                                                  "lines": units_line(s, await a_unit_out(s, t, lost=True))})


async def transfer_away(s: Site, t: str) -> Crossing:
    """Transfer a tent from the target's depot to the other one."""
    to = s.depot["out" if t == "in" else "in"]  # a keeper may send his own stock away
    return Crossing("POST", "/api/v1/movements", {"kind": "transfer", "location_id": s.depot[t],
                                                  "to_location_id": to,
                                                  "lines": [{"item_type_id": s.tent, "quantity": 1}]})


async def issue_bulk(s: Site, t: str) -> Crossing:
    """Issue a tent at the target's depot."""
    return Crossing("POST", "/api/v1/movements", {"kind": "issue", "location_id": s.depot[t],
                                                  "counterparty": "县防汛抢险队",
                                                  "lines": [{"item_type_id": s.tent, "quantity": 1}]})


async def reverse_transfer_away(s: Site, t: str) -> Crossing:
    """Reverse a transfer from the target's depot to the other one (its stock goes back)."""
    sent = await created(s.admin, "/api/v1/movements", {
        "kind": "transfer", "location_id": s.depot[t], "to_location_id": s.depot["out" if t == "in" else "in"],
        "lines": [{"item_type_id": s.tent, "quantity": 1}]})
    return Crossing("POST", f"/api/v1/documents/{sent['id']}/reverse", {"reason": "录入错误"})


async def execute_dispatch(s: Site, t: str) -> Crossing:
    """Execute a dispatch reserved at the target's depot."""
    return Crossing("POST", f"/api/v1/dispatches/{await a_dispatch(s, t)}/execute", {})


async def return_dispatch_to_own_depot(s: Site, t: str) -> Crossing:
    """Return a delivered dispatch from the target's depot into the keeper's depot."""
    return Crossing("POST", f"/api/v1/dispatches/{await a_dispatch(s, t, steps=('execute', 'deliver'))}/return",
                    {"to_location_id": s.depot["in"]})


CROSSINGS: dict[str, Callable[[Site, str], Awaitable[Crossing]]] = {
    "edit a unit that is out": edit_unit_out,
    "re-issue the label of a unit that is out": reissue_unit_out_label,
    "re-issue the label of a lot": reissue_lot_label,
    "return a unit that is out into the keeper's depot": return_unit_out,
    "receive a unit that is out into the keeper's depot": receive_unit_out,
    "count a lost unit back into the keeper's depot": find_lost_unit,
    "transfer the target's stock to the other depot": transfer_away,
    "issue the target's stock": issue_bulk,
    "reverse the target's transfer to the other depot": reverse_transfer_away,
    "execute a dispatch from the target's depot": execute_dispatch,
    "return a dispatch from the target's depot into the keeper's depot": return_dispatch_to_own_depot,
}


async def test_a_keeper_changes_nothing_of_another_county_on_any_path_that_crosses_the_scope_line(
    db: Database, client: Any, client_as: Any,
) -> None:
    site = await build_site(client, db)
    keeper = await client_as("keeper", "keeper", scope_regions=[KEEPER_SCOPE])
    failures: list[str] = []
    for what, build in CROSSINGS.items():
        for who, actor, target in (("keeper", keeper, "in"), ("keeper", keeper, "out"), ("admin", client, "out")):
            call = await build(site, target)
            before = await snapshot.state(db)
            r = await actor.request(call.method, call.path, json=call.json)
            tables = snapshot.changed(before, await snapshot.state(db))
            if who == "keeper" and target == "out":
                if r.status_code != 403 or tables:
                    failures.append(f"{what} as keeper of another county: {r.status_code}, changed {tables}: "
                                    f"{r.text[:200]}")
            elif r.status_code >= 400 or not tables:
                failures.append(f"{what} as {who} ({target} of scope): {r.status_code}, changed {tables}: "
                                f"{r.text[:200]}")
    assert not failures, "\n".join(failures)
