"""Every phone page, opened as every role and signed out, answers without a server error.

The pages are read from the application's route table (GET routes marked with ``api.pages.PAGE``), so a
page added later is opened here without editing this file. Path parameters are filled with what a person
could really reach: the label codes of an asset, a lot and a location, a well-formed code never issued
and a malformed one; ids of rows that exist and of one that does not. Pages are signed in the way a
phone does it: the sign-in form with its CSRF token, then the session cookie.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from litestar import Litestar
from sqlalchemy import select

from api.pages import PAGE
from inventory.access.scope import Principal
from inventory.agreements.schemas import AgreementCreate, AgreementLineCreate
from inventory.agreements.service import create_agreement
from inventory.clock import beijing_today
from inventory.plans import service as plan_service
from inventory.store.db import Database
from inventory.store.label_codes import ensure_label
from inventory.store.models import Lot, PlanProposal
from labels.codes import new_code
from tests.api.helpers import item_type_body, location_body
from tests.conftest import TEST_PASSWORD

ROLES: tuple[str | None, ...] = ("admin", "commander", "keeper", "auditor", None)
KEEPER_SCOPE = "360121"  # 南昌县
UNKNOWN_ID = 2_000_000_000
ADMIN = Principal(user_id=0, username="admin", display_name="admin", role="admin", scope_regions=(),
                  scope_locations=(), token_id=0)


@dataclass(frozen=True)
class Page:
    """A GET page route: its path template and its path parameters (name → type)."""

    path: str
    params: dict[str, type]


def page_routes(app: Litestar) -> list[Page]:
    """Every GET route marked as a page (``opt=PAGE``) and left out of the API description, static files excepted.

    (``/health`` and ``/ready`` carry the same opt, but they are in the API description: not pages.)
    """
    pages = []
    for route in app.routes:
        if route.path_format.startswith("/static/"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            is_get = "GET" in (getattr(handler, "http_methods", None) or ())
            if is_get and handler.opt == PAGE and not handler.include_in_schema:
                params = {name: p.type for name, p in getattr(route, "path_parameters", {}).items()}
                pages.append(Page(route.path_format, params))
    return sorted(pages, key=lambda p: p.path)


@dataclass
class Site:
    """Demo-like data: two county depots, pumps, a tent lot, and the values path parameters are filled with."""

    codes: list[str]
    ids: dict[str, list[int]]

    def values(self, name: str, kind: type) -> list[Any]:
        """What to put in a path parameter: real rows (by the parameter's name) and ones that do not exist."""
        if kind is int:
            real = self.ids.get(name.removesuffix("_id"), self.ids["any"])
            return [*real, UNKNOWN_ID]
        return self.codes

    def paths(self, page: Page) -> list[str]:
        """The page's path with every combination of parameter values."""
        names = list(page.params)
        combos = itertools.product(*(self.values(n, page.params[n]) for n in names))
        return [page.path.format(**dict(zip(names, combo, strict=True))) for combo in combos]


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def build_site(admin: Any, db: Database) -> Site:
    """A depot in 南昌县 with two ready pumps and a faulty one, one in 东湖区, a lot of tents, an incident and an
    order for two of the tents, a lease, a firm's warehouse with an agreement (协议储备) for tents, and
    pre-positioning: a risk point, plans and optimiser runs."""
    ncx = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    dhq = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code="360102", lat=28.68, lon=115.90)))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[], inspection_interval_days=None)))["id"]
    units = [await created(admin, "/api/v1/assets", {"item_type_id": pump, "serial_number": serial,
                                                      "location_id": where, "readiness": readiness})
             for serial, where, readiness in (("BC-1", ncx, "ok"), ("BC-2", ncx, "unknown"), ("BC-3", ncx, "fault"),
                                              ("BC-4", dhq, "ok"))]
    receipt = await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": ncx, "lines": [
        {"item_type_id": tent, "quantity": 20, "lot": {"number": "T-2026-01", "expiry_date": "2031-06-30"}}]})
    incident = await created(admin, "/api/v1/incidents", {"name": "向塘镇内涝", "kind": "waterlogging",
                                                          "region_code": KEEPER_SCOPE, "lat": 28.50, "lon": 115.95})
    order = await created(admin, f"/api/v1/incidents/{incident['id']}/dispatches", {
        "lines": [{"item_type": "TENT-12", "quantity": 2, "from_location_id": ncx}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": incident["location_id"],
                                               "lines": [{"item_type_id": tent, "quantity": 3}]})
    await created(admin, f"/api/v1/incidents/{incident['id']}/distributions", {  # relief handed to a household
        "household": {"head_name": "张三", "id_number": "11010519491231002X", "village": "八一村", "size": 4},
        "lines": [{"item_type": "TENT-12", "quantity": 1}]})
    supply_request = await created(admin, "/api/v1/requests", {  # 物资调用申请 from 南昌县 to 东湖区
        "incident_id": incident["id"], "from_region": KEEPER_SCOPE, "to_region": "360102", "purpose": "排涝",
        "needed_by": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(), "transport": "either",
        "contact_name": "值班员", "contact_phone": "13800000000",
        "lines": [{"item_type": "TENT-12", "quantity": 2}, {"category": "pump", "quantity": 1}]})
    lease = await created(admin, "/api/v1/leases", {
        "direction": "out", "counterparty": "进贤县应急管理局", "location_id": ncx, "start_date": "2026-12-01",
        "due_date": "2026-12-08", "lines": [{"item_type_id": tent, "quantity": 1}]})
    vendor = (await created(admin, "/api/v1/locations", location_body(
        "V-NCX", name="江西某帐篷厂仓库", kind="vendor", region_code=KEEPER_SCOPE, lat=28.50, lon=115.99)))["id"]
    today = beijing_today()
    async with db.write() as session:
        agreement = await create_agreement(session, AgreementCreate(
            number="XY-2026-001", name="帐篷代储协议", vendor_location_id=vendor, kind="physical",
            valid_from=today - dt.timedelta(days=30), valid_until=today + dt.timedelta(days=300), response_hours=6,
            lines=[AgreementLineCreate(item_type_id=tent, quantity=100)], contact_phone="0791-88881234"), ADMIN)
        agreement_id = agreement.id
    plans, proposals = await pre_positioning(admin, db, ncx, dhq, tent)
    async with db.write() as session:
        lot = await session.scalar(select(Lot).where(Lot.item_type_id == tent))
        assert lot is not None and lot.label_code, "a received lot has a label"
        location_code = await ensure_label(session, "location", ncx)
        lot_code, lot_id = lot.label_code, lot.id
    unknown = new_code("asset")  # well-formed, never issued
    malformed = units[0]["label_code"][:-1] + ("0" if units[0]["label_code"][-1] != "0" else "1")
    return Site(
        codes=[units[0]["label_code"], units[2]["label_code"], lot_code, location_code, unknown, malformed],
        ids={"location": [ncx, dhq], "asset": [units[0]["id"], units[2]["id"]], "lot": [lot_id],
             "item_type": [pump, tent], "document": [receipt["id"]], "incident": [incident["id"]],
             "dispatch": [order["id"]], "lease": [lease["id"]], "agreement": [agreement_id], "plan": plans,
             "proposal": proposals, "request": [supply_request["id"]], "any": [ncx]},
    )


async def pre_positioning(admin: Any, db: Database, ncx: int, dhq: int, tent: int) -> tuple[list[int], list[int]]:
    """A risk point needing tents; a draft plan moving tents from 南昌县 to 东湖区 and the same plan executed; and
    optimiser runs done, still running and failed. (plan ids, proposal ids)"""
    await created(admin, "/api/v1/risk-points", {
        "code": "SM-RP-1", "name": "抚河三江段堤防", "kind": "embankment", "region_code": KEEPER_SCOPE, "lat": 28.63,
        "lon": 116.08, "weight": 900, "needs": [{"item_type_id": tent, "quantity": 3}]})
    body = {"name": "帐篷前置计划", "region_code": "3601", "target_minutes": 60, "item_type_ids": [tent],
            "lines": [{"from_location_id": ncx, "to_location_id": dhq, "item_type_id": tent, "quantity": 2}]}
    draft = (await created(admin, "/api/v1/plans", body))["id"]
    executed = (await created(admin, "/api/v1/plans", {**body, "name": "已执行的帐篷前置计划"}))["id"]
    checker = Principal(user_id=0, username="checker", display_name="checker", role="admin", scope_regions=(),
                        scope_locations=(), token_id=0)
    answer = {"objective_kind": "stock", "objective": 900.0, "bound": 900.0, "gap": 0.0, "proven_optimal": True,
              "seconds": 0.2, "method": "milp", "total_weight": 900.0, "n_points": 1, "n_sites": 2,
              "target_minutes": 60, "sites": [str(dhq)], "site_names": {str(dhq): "东湖区应急物资储备库"},
              "uncovered": [], "uncovered_names": {}, "item_type": {"id": tent, "code": "TENT-12", "name": "帐篷",
                                                                    "unit": "顶"},
              "moves": [{"from": str(ncx), "from_name": "南昌县综合应急物资储备库", "to": str(dhq),
                         "to_name": "东湖区应急物资储备库", "quantity": 2}], "basis": "到达时间为估算值。"}
    async with db.write() as session:
        await plan_service.approve_plan(session, executed, checker)
        await plan_service.execute_plan(session, executed, checker)
        runs = [PlanProposal(status=status, objective="stock", region_code="3601", error=error,
                             params={"item_type_id": tent, "target_minutes": 60}, answer=answer if status == "done"
                             else None, progress={"stage": "milp", "seconds": 1.5, "gap": 0.1}, created_by="admin")
                for status, error in (("done", ""), ("running", ""), ("failed", "计算失败：演示"))]
        session.add_all(runs)
        await session.flush()
        return [draft, executed], [r.id for r in runs]


async def page_client(client_as: Any, role: str) -> Any:
    """A client signed in to the pages as a new user of ``role``: the sign-in form, then the session cookie."""
    scope = {"scope_regions": [KEEPER_SCOPE]} if role == "keeper" else {}
    c = await client_as(role, f"page-{role}", **scope)
    del c.headers["Authorization"]  # pages go by the session cookie alone
    form = await c.get("/login")
    assert form.status_code == 200, form.text
    signed = await c.post("/login", data={"username": f"page-{role}", "password": TEST_PASSWORD, "next": "/",
                                          "_csrf_token": form.cookies["inv_csrf"]})
    assert signed.status_code == 303, signed.text
    assert c.cookies.get("inv_session"), "the sign-in set the session cookie"
    return c


class _Tables(HTMLParser):
    """The text of every table cell, as rows."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def county_counts(html: str, category_zh: str) -> dict[str, str]:
    """County name → the cell under ``category_zh`` in the home page's availability table."""
    parser = _Tables()
    parser.feed(html)
    header = next((row for row in parser.rows if category_zh in row), None)
    assert header is not None, f"no table with a {category_zh} column on the home page:\n{html}"
    column = header.index(category_zh)
    start = parser.rows.index(header) + 1
    return {row[0]: row[column] for row in parser.rows[start:] if len(row) > column}


async def test_the_route_table_names_the_pages_this_test_opens(app: Litestar) -> None:
    paths = {p.path for p in page_routes(app)}
    assert {"/", "/login", "/s/{code}"} <= paths, paths
    assert not any(p.startswith(("/api/", "/static/", "/schema", "/health", "/ready")) for p in paths), paths


async def test_every_page_opens_for_every_role_and_signed_out_without_a_server_error(
    app: Litestar, db: Database, client: Any, client_as: Any, anonymous: Any,
) -> None:
    site = await build_site(client, db)
    clients: dict[str | None, Any] = {role: await page_client(client_as, role) for role in ROLES if role}
    clients[None] = anonymous
    failures, opened = [], 0
    for page in page_routes(app):
        for path in site.paths(page):
            for role in ROLES:
                r = await clients[role].get(path)
                opened += 1
                if r.status_code >= 500:
                    failures.append(f"GET {path} as {role or 'signed out'}: {r.status_code} {r.text[:300]}")
    assert opened >= len(ROLES) * (2 + len(site.codes))
    assert not failures, f"{len(failures)} of {opened} page views failed:\n" + "\n".join(failures)
    for role in ROLES:
        home = await clients[role].get("/")
        if role is None:
            assert (home.status_code, home.headers["location"]) == (303, "/login?next=/")
        else:
            assert home.status_code == 200, f"{role}: {home.text[:300]}"
            assert f"page-{role}" in home.text, f"{role}'s home page does not name the signed-in user"


async def test_the_commanders_home_page_counts_ready_pumps_per_county(
    db: Database, client: Any, client_as: Any,
) -> None:
    await build_site(client, db)
    commander = await page_client(client_as, "commander")
    home = await commander.get("/")
    assert home.status_code == 200, home.text
    counts = county_counts(home.text, "排涝泵")
    # Two ready pumps in 南昌县 (the faulty third is not available), one in 东湖区, none elsewhere.
    assert (counts.get("南昌县"), counts.get("东湖区"), counts.get("新建区")) == ("2", "1", "0"), counts
