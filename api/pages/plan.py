"""One pre-positioning plan (前置计划): its header, its coverage on a map and in tables, its lines, and the
审批 / 执行 / 收回 buttons.

The map is server-drawn (:mod:`api.pages.plan_map`): covered and uncovered risk points, the staging sites, the
places stock comes from and a segment per line; ``/static/map.js`` adds pan and zoom on top of the same data.
The buttons show by the plan's status and the user's role: 审批 for a draft (to a commander or admin in scope who
is not its author — the author sees why not instead), 执行 for an approved plan, 收回 (with a reason) for one
executing or in place. Each posts a form with its CSRF token and an idempotency key made when the page was
rendered, then 303 back with a message; a refusal (403 the author's own plan or out of scope, 409 a wrong status
or stock short) shows the page again with the reason in Chinese, and nothing is written.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qs

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.page_text import for_people
from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.pages.plan_map import LINE_STATE_ZH, line_state, plan_svg
from api.pages.plans import PATH, STATUS_BADGE, error_status, one
from api.writes import write_once
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.errors import InventoryError, NotFound
from inventory.plans import coverage as plan_coverage
from inventory.plans import service as plans
from inventory.plans.schemas import PlanRead, RecallRequest
from inventory.schemas import MAX_ID
from inventory.store.db import Database
from inventory.store.models import Location, Region

DONE_ZH: Final = {"created": "前置计划已保存为草稿，待另一名指挥人员审批", "approve": "已审批，可以执行",
                  "execute": "已执行：调拨单已生成，物资在途，前置地点的保管员扫码签收后即就位",
                  "recall": "已收回：已到位的物资调回原地点，保管员签收后入库"}
TRANSFER_ZH: Final = {"in_transit": "在途", "received": "已签收", "cancelled": "已冲销"}


def _may(principal: Principal, plan: PlanRead) -> dict[str, Any]:
    """Which buttons the user gets, and why not 审批 when that is the point (the author's own draft)."""
    in_scope = principal.role == "admin" or any(plan.region_code.startswith(p) for p in principal.scope_regions)
    approve = plan.status == "draft" and allowed("plans.approve", principal.role) and in_scope
    why_not = ""
    if approve and plan.author == principal.username:
        approve, why_not = False, "本计划由您制定，须由另一名指挥人员或管理员审批。"
    elif approve and not plan.lines:
        approve, why_not = False, "本计划还没有调拨明细，不能审批。"
    runs = allowed("plans.execute", principal.role) and in_scope
    return {"approve": approve, "why_not": why_not, "execute": runs and plan.status == "approved",
            "recall": runs and plan.status in ("executing", "in_place")}


async def _render(db: Database, eta: EtaConfig, principal: Principal, plan_id: int, *, done: str | None = None,
                  error: str | None = None, status: int = 200) -> Template:
    async with db.read() as session:
        try:
            plan = await plans.plan_read(session, await plans.get_plan(session, plan_id))
        except NotFound:
            return Template("plan.html", status_code=404, context=page_context(
                principal, plan=None, error=f"前置计划 id={plan_id} 不存在"))
        cover = await plan_coverage.plan_coverage(session, plan_id, eta)
        ids = {ln.from_location_id for ln in plan.lines} | {ln.to_location_id for ln in plan.lines}
        places = {row.id: (row.name, float(row.lat), float(row.lon)) for row in await session.execute(
            select(Location.id, Location.name, Location.lat, Location.lon).where(
                Location.id.in_(ids), Location.lat.is_not(None), Location.lon.is_not(None)))}
        region = await session.get(Region, plan.region_code)
    region_name = region.name if region else plan.region_code
    svg = await asyncio.to_thread(plan_svg, cover, plan.lines, places, region=plan.region_code,
                                  title=f"{plan.name}：风险点覆盖与前置调拨")
    uncovered = [p for p in cover.points if not p.covered]
    anchors_from: dict[int, int] = {}  # the row a map marker of a place links to: its first line
    anchors_to: dict[int, int] = {}
    for ln in plan.lines:
        anchors_from.setdefault(ln.from_location_id, ln.id)
        anchors_to.setdefault(ln.to_location_id, ln.id)
    return Template("plan.html", status_code=status, context=page_context(
        principal, plan=plan, cover=cover, uncovered=uncovered, covered_count=len(cover.points) - len(uncovered),
        svg=svg, region_name=region_name, may=_may(principal, plan), key=uuid.uuid4().hex, done=done, error=error,
        status_badge=STATUS_BADGE, line_state=line_state, line_state_zh=LINE_STATE_ZH, transfer_zh=TRANSFER_ZH,
        anchors_from=anchors_from, anchors_to=anchors_to,
        geojson=f"/map/counties.geojson?region={plan.region_code[:6]}"))


@get(f"{PATH}/{{plan_id:int}}", opt=PAGE, include_in_schema=False)
async def plan_page(request: Request[Any, Any, Any], db: Database, eta: EtaConfig, plan_id: int,
                    done: str | None = None) -> Template | Redirect:
    """One plan: header, coverage (map and tables), lines with their transfers, and the buttons its status allows."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{plan_id}")
    if not 1 <= plan_id <= MAX_ID:
        return Template("plan.html", status_code=404, context=page_context(
            principal, plan=None, error=f"前置计划 id={plan_id} 不存在"))
    return await _render(db, eta, principal, plan_id, done=DONE_ZH.get(done or ""))


async def _act(request: Request[Any, Any, Any], db: Database, eta: EtaConfig, plan_id: int, done: str,
               act: Callable[[AsyncSession, dict[str, list[str]], Principal], Awaitable[Any]]) -> Response[Any]:
    """A button's form: once per idempotency key; the domain checks the role, the scope and the status again."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{plan_id}")
    if not 1 <= plan_id <= MAX_ID:
        return Template("plan.html", status_code=404, context=page_context(
            principal, plan=None, error=f"前置计划 id={plan_id} 不存在"))
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    key = one(form, "idempotency_key")[:100] or None

    async def work(session: AsyncSession) -> PlanRead:
        return await plans.plan_read(session, await act(session, form, principal))

    try:
        await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        return await _render(db, eta, principal, plan_id, error=for_people(exc.detail), status=error_status(exc))
    return Redirect(f"{PATH}/{plan_id}?done={done}", status_code=303)


@post(f"{PATH}/{{plan_id:int}}/approve", opt=PAGE, include_in_schema=False, status_code=303)
async def approve_from_page(request: Request[Any, Any, Any], db: Database, eta: EtaConfig,
                            plan_id: int) -> Response[Any]:
    """审批: a commander or admin other than the author approves the draft."""
    return await _act(request, db, eta, plan_id, "approve",
                      lambda s, form, p: plans.approve_plan(s, plan_id, p))


@post(f"{PATH}/{{plan_id:int}}/execute", opt=PAGE, include_in_schema=False, status_code=303)
async def execute_from_page(request: Request[Any, Any, Any], db: Database, eta: EtaConfig,
                            plan_id: int) -> Response[Any]:
    """执行: the approved plan's transfers are posted (all or none)."""
    return await _act(request, db, eta, plan_id, "execute",
                      lambda s, form, p: plans.execute_plan(s, plan_id, p))


@post(f"{PATH}/{{plan_id:int}}/recall", opt=PAGE, include_in_schema=False, status_code=303)
async def recall_from_page(request: Request[Any, Any, Any], db: Database, eta: EtaConfig,
                           plan_id: int) -> Response[Any]:
    """收回 after the season, with an optional reason: what arrived goes back where it came from."""
    return await _act(request, db, eta, plan_id, "recall", lambda s, form, p: plans.recall_plan(
        s, plan_id, RecallRequest(reason=one(form, "reason")[:200]), p))


HANDLERS = [plan_page, approve_from_page, execute_from_page, recall_from_page]
