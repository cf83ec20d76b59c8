"""The pre-positioning pages (前置计划): the plans of a region, 选址优化 (an optimiser run) and its proposal, and a
new draft plan made from a finished proposal.

``/plans`` lists the plans (filters status and region) and the region's recent proposals; a commander (or admin)
also gets the 选址优化 form, which posts ``POST /plans/propose``: the run is recorded and started as the API's
``POST /api/v1/plans/propose`` does (:mod:`inventory.plans.proposal_jobs`), the request waits about two seconds
for it, then 303 to the proposal's page. That page shows the answer (or the progress, refreshing itself every
few seconds while the run goes on) and, once it is done, the 新建计划 form (name, season), which posts
``POST /plans/proposals/{id}/plan`` and goes on to the new draft plan (:mod:`api.pages.plan`). Every form carries
its CSRF token and an idempotency key made when the page was rendered, so a double tap does one thing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Final, cast
from urllib.parse import parse_qs

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.page_text import for_people
from api.pages.common import PAGE, login_redirect, page_context, page_principal, pager_urls
from api.writes import write_once
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.config import Settings
from inventory.errors import Conflict, InventoryError, NotFound, PermissionDenied
from inventory.plans import proposals
from inventory.plans import service as plans
from inventory.plans.proposal_jobs import ProposalRunner
from inventory.plans.schemas import OBJECTIVE_ZH, PLAN_STATUS_ZH, PlanCreate, PlanRead, ProposalRead, ProposeRequest
from inventory.schemas import MAX_ID
from inventory.store.db import Database
from inventory.store.models import ItemType, RiskNeed

PATH: Final = "/plans"
PAGE_SIZE: Final = 50
DEFAULT_REGION: Final = "3601"
PRE_POSITION_MINUTES: Final = 60
"""The 选址优化 form's default target: tighter than a county's 6-hour response target, which at 40 km/h reaches
every corner of a county from anywhere in it."""
STATUS_BADGE: Final = {"draft": "due", "approved": "st-open", "executing": "st-executing", "in_place": "st-delivered",
                       "recalled": "st-closed"}
PROPOSAL_BADGE: Final = {"running": "st-executing", "done": "st-open", "failed": "overdue"}
_REGION = re.compile(r"[0-9]{2,12}")


def error_status(exc: InventoryError) -> int:
    """The HTTP status a refused page form answers with."""
    return (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
            else 409 if isinstance(exc, Conflict) else 422)


def one(form: dict[str, list[str]], name: str) -> str:
    """A form field's value, stripped ("" when absent)."""
    return (form.get(name) or [""])[0].strip()


def _region_of(principal: Principal, asked: str) -> str:
    """The region asked for when well-formed, else the user's first scope region, else 南昌市."""
    asked = asked.strip()
    if _REGION.fullmatch(asked):
        return asked
    return principal.scope_regions[0] if principal.scope_regions else DEFAULT_REGION


async def needed_item_types(session: AsyncSession) -> list[tuple[int, str, str]]:
    """(id, code, name) of the item types some risk point needs: what the optimiser can place."""
    rows = await session.execute(select(ItemType.id, ItemType.code, ItemType.name).where(
        ItemType.id.in_(select(RiskNeed.item_type_id))).order_by(ItemType.code))
    return [(int(i), str(c), str(n)) for i, c, n in rows]


async def _render_list(db: Database, principal: Principal, *, region: str, status: str, offset: int,
                       error: str | None = None, code: int = 200, form: dict[str, str] | None = None) -> Template:
    async with db.heavy_read() as session:
        page = await plans.list_plans(session, region_code=region, status=status or None, limit=PAGE_SIZE,
                                      offset=offset)
        runs = await proposals.list_proposals(session, region=region, limit=10)
        items = await needed_item_types(session)
    shown = {"region": region, "status": status}
    prev_url, next_url = pager_urls(PATH, shown, offset, PAGE_SIZE, page.total)
    values = {"region_code": region, "objective": "stock", "p": "", "target_minutes": str(PRE_POSITION_MINUTES),
              "item_type_id": str(items[0][0]) if items else "", **(form or {})}
    return Template("plans.html", status_code=code, context=page_context(
        principal, rows=page.items, total=page.total, runs=runs.items, filter=shown, offset=offset,
        status_zh=PLAN_STATUS_ZH, status_badge=STATUS_BADGE, proposal_badge=PROPOSAL_BADGE,
        proposal_zh=proposals.STATUS_ZH, objective_zh=OBJECTIVE_ZH, items=items, form=values, error=error,
        may_plan=allowed("plans.write", principal.role), key=uuid.uuid4().hex, prev_url=prev_url,
        next_url=next_url))


@get(PATH, opt=PAGE, include_in_schema=False)
async def plans_page(request: Request[Any, Any, Any], db: Database, region: str = "", status: str = "",
                     offset: int = 0) -> Template | Redirect:
    """Plans of a region (the user's first scope region, else 南昌市), newest first, and its recent proposals."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}?{query}" if query else PATH)
    return await _render_list(db, principal, region=_region_of(principal, region),
                              status=status if status in PLAN_STATUS_ZH else "", offset=max(0, min(offset, 10**7)))


def _propose_request(form: dict[str, list[str]]) -> ProposeRequest | str:
    """The run the 选址优化 form asks for, or what is wrong with it (in Chinese)."""
    region, objective = one(form, "region_code"), one(form, "objective")
    if not _REGION.fullmatch(region):
        return f"行政区划代码应为 2 到 12 位数字（如 3601、360121），收到“{region[:20]}”"
    if objective not in OBJECTIVE_ZH:
        return "请选择优化目标：最大覆盖、加权时间最短或按现有库存布放"
    numbers: dict[str, int | None] = {}
    for name, zh, top in (("p", "前置点个数", 1000), ("target_minutes", "目标时限（分钟）", 7 * 24 * 60),
                          ("item_type_id", "物资", MAX_ID)):
        raw = one(form, name)
        if not raw:
            numbers[name] = None
        elif raw.isdigit() and 1 <= int(raw) <= top:
            numbers[name] = int(raw)
        else:
            return f"{zh}应为 1 到 {top} 之间的整数，收到“{raw[:20]}”"
    if objective != "stock" and numbers["p"] is None:
        return f"{OBJECTIVE_ZH[objective]}需要填写前置点个数"
    if objective == "stock" and numbers["item_type_id"] is None:
        return "按现有库存布放需要选择一种物资"
    return ProposeRequest(region_code=region, objective=cast("Any", objective), p=numbers["p"],
                          target_minutes=numbers["target_minutes"], item_type_id=numbers["item_type_id"])


@post(f"{PATH}/propose", opt=PAGE, include_in_schema=False, status_code=303)
async def propose_from_page(request: Request[Any, Any, Any], db: Database, state: State, settings: Settings,
                            eta: EtaConfig) -> Response[Any]:
    """选址优化 from the page: record and start the run, wait a little, then go to the proposal's page."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    values = {name: one(form, name)[:20] for name in ("region_code", "objective", "p", "target_minutes",
                                                      "item_type_id")}
    region = _region_of(principal, values["region_code"])

    async def refused(error: str, code: int) -> Template:
        return await _render_list(db, principal, region=region, status="", offset=0, error=error, code=code,
                                  form=values)

    if not allowed("plans.write", principal.role):
        return await refused("您的角色无权运行选址优化", 403)
    data = _propose_request(form)
    if isinstance(data, str):
        return await refused(data, 422)
    key = one(form, "idempotency_key")[:100] or None
    runner: ProposalRunner = state.proposal_jobs
    prepared: list[proposals.Prepared] = []

    async def work(session: AsyncSession) -> ProposalRead:
        job = await proposals.create_proposal(session, data, principal, eta=eta,
                                              target_hours=settings.response_target_hours)
        prepared.append(job)
        return proposals.proposal_read(await proposals.get_proposal(session, job.proposal_id))

    try:
        runner.check_capacity()
        written = await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=202)
    except InventoryError as exc:
        return await refused(for_people(exc.detail), error_status(exc))
    if written.replayed:  # the same form again (a double tap): no second run, the first one's proposal
        ident = int(msgspec.json.decode(written.body)["id"])
    else:
        runner.start(prepared[-1])
        ident = prepared[-1].proposal_id
    await runner.wait(ident)
    return Redirect(f"{PATH}/proposals/{ident}", status_code=303)


async def _render_proposal(db: Database, principal: Principal, proposal_id: int, *, error: str | None = None,
                           code: int = 200, values: dict[str, str] | None = None) -> Template:
    async with db.read() as session:
        try:
            run = await proposals.read_proposal(session, proposal_id)
        except NotFound:
            return Template("plan_proposal.html", status_code=404, context=page_context(
                principal, run=None, error=f"选址优化方案 id={proposal_id} 不存在"))
        item = None
        if run.params.get("item_type_id"):
            item = await session.get(ItemType, int(run.params["item_type_id"]))
    answer = run.answer or {}
    form = {"name": "", "season": "", "note": "", **(values or {})}
    return Template("plan_proposal.html", status_code=code, context=page_context(
        principal, run=run, answer=answer, item=item, error=error, form=form, key=uuid.uuid4().hex,
        may_plan=allowed("plans.write", principal.role) and run.status == "done",
        objective_zh=OBJECTIVE_ZH, proposal_zh=proposals.STATUS_ZH, proposal_badge=PROPOSAL_BADGE))


@get(f"{PATH}/proposals/{{proposal_id:int}}", opt=PAGE, include_in_schema=False)
async def proposal_page(request: Request[Any, Any, Any], db: Database, proposal_id: int) -> Template | Redirect:
    """One optimiser run: its progress while it runs, its answer when done, and the 新建计划 form."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/proposals/{proposal_id}")
    if not 1 <= proposal_id <= MAX_ID:
        return Template("plan_proposal.html", status_code=404, context=page_context(
            principal, run=None, error=f"选址优化方案 id={proposal_id} 不存在"))
    return await _render_proposal(db, principal, proposal_id)


@post(f"{PATH}/proposals/{{proposal_id:int}}/plan", opt=PAGE, include_in_schema=False, status_code=303)
async def plan_from_proposal(request: Request[Any, Any, Any], db: Database, proposal_id: int) -> Response[Any]:
    """新建计划: a draft plan with the proposal's lines (moves), named by the commander; then its page."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/proposals/{proposal_id}")
    if not 1 <= proposal_id <= MAX_ID:
        return Template("plan_proposal.html", status_code=404, context=page_context(
            principal, run=None, error=f"选址优化方案 id={proposal_id} 不存在"))
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    values = {"name": one(form, "name")[:100], "season": one(form, "season")[:20], "note": one(form, "note")[:200]}
    if not allowed("plans.write", principal.role):
        return await _render_proposal(db, principal, proposal_id, error="您的角色无权制定前置计划", code=403)
    if not values["name"]:
        return await _render_proposal(db, principal, proposal_id, error="请填写计划名称", code=422, values=values)
    key = one(form, "idempotency_key")[:100] or None

    async def work(session: AsyncSession) -> PlanRead:
        run = await proposals.read_proposal(session, proposal_id)
        answer = run.answer or {}
        item = run.params.get("item_type_id")
        target = answer.get("target_minutes") or run.params.get("target_minutes")
        plan = await plans.create_plan(session, PlanCreate(
            name=values["name"], region_code=run.region_code, season=values["season"],
            level=run.params.get("level") or "county", target_minutes=int(target) if target else None,
            item_type_ids=[int(item)] if item else [], proposal_id=proposal_id, note=values["note"]), principal)
        return await plans.plan_read(session, plan)

    try:
        written = await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=201)
    except InventoryError as exc:
        return await _render_proposal(db, principal, proposal_id, error=for_people(exc.detail),
                                      code=error_status(exc), values=values)
    # A double tap replays the first tap's answer: the plan it made.
    plan_id = written.result.id if written.result is not None else int(msgspec.json.decode(written.body)["id"])
    return Redirect(f"{PATH}/{plan_id}?done=created", status_code=303)


HANDLERS = [plans_page, propose_from_page, proposal_page, plan_from_proposal]
