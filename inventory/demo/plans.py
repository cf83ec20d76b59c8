"""The demo's pre-positioning (精准化前置): 40 risk points along the 赣江 and the 抚河, an optimiser run over them,
and a draft plan made from its answer, waiting for another commander's approval.

- The risk points (:mod:`inventory.demo.risk_points`) are registered through
  :func:`inventory.plans.risk_points.create_risk_point`, as the API would, by a 南昌市 planner (a commander).
- The run is the stock-aware optimiser for the high-flow submersible pumps (大流量潜水泵) the low-lying villages and
  the underpasses need, over 南昌市's depots, reserve points and staging sites, with a 60-minute target: a
  county's 6-hour response target reaches every corner of a county at 40 km/h, so a pre-positioning plan uses a
  tighter one. The instance is small (a dozen points, about 150 sites): it is solved to optimality in well under
  the time limit, so every load gives the same answer. It runs in the loader's own session (recorded ``running``,
  solved, then ``done``), not as a job of the web process.
- The plan is :func:`inventory.plans.service.create_plan` with the run's ``proposal_id``: its lines are the
  answer's moves (:func:`inventory.plans.proposals.lines_from_proposal`). Its author is the planner, so the demo
  commander (``demo-commander``) or an admin can approve it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.clock import beijing_today
from inventory.demo.risk_points import RISK_POINTS, SUBMERSIBLE_PUMP
from inventory.placement.problem import Progress
from inventory.plans.proposal_jobs import progress_json, solve
from inventory.plans.proposals import answer_with_ids, create_proposal, get_proposal
from inventory.plans.risk_points import create_risk_point
from inventory.plans.schemas import PlanCreate, ProposeRequest, RiskNeedIn, RiskPointCreate
from inventory.plans.service import create_plan
from inventory.store.models import ItemType, Plan, RiskPoint, utcnow

PLANNER: Final = Principal(user_id=0, username="demo-planner", display_name="南昌市防指规划组", role="commander",
                           scope_regions=("3601",), scope_locations=(), token_id=0)
CITY: Final = "3601"
TARGET_MINUTES: Final = 60
TIME_LIMIT_SECONDS: Final = 5.0
PLAN_NAME: Final = "赣江抚河沿线低洼村庄和下穿通道排涝泵前置计划（演示）"
PLAN_NOTE: Final = ("前置目标 60 分钟：县级响应时限 6 小时按 40 km/h 可达全县任何地点，前置计划取更紧的时限；"
                    "由选址优化（按现有库存布放大流量潜水泵）生成")


async def ensure_demo_risk_points(session: AsyncSession) -> tuple[int, int]:
    """Register the demo's risk points whose code is not there yet; (created, skipped)."""
    codes = [p.code for p in RISK_POINTS]
    existing = set(await session.scalars(select(RiskPoint.code).where(RiskPoint.code.in_(codes))))
    wanted = {code for p in RISK_POINTS for code in p.needs}
    found = await session.execute(select(ItemType.code, ItemType.id).where(ItemType.code.in_(wanted)))
    types = {str(code): int(ident) for code, ident in found}
    for p in RISK_POINTS:
        if p.code in existing:
            continue
        needs = [RiskNeedIn(item_type_id=types[code], quantity=n) for code, n in p.needs.items() if code in types]
        await create_risk_point(session, RiskPointCreate(
            code=p.code, name=p.name, kind=p.kind, region_code=p.region_code, lat=p.lat, lon=p.lon, weight=p.weight,
            crs="wgs84", needs=needs, note=p.note), PLANNER)
    return len(RISK_POINTS) - len(existing), len(existing)


async def _proposal_now(session: AsyncSession, request: ProposeRequest, progress: Callable[[str], None]) -> int:
    """Record an optimiser run, solve it here and now (small: well within its time limit), store its answer."""
    prepared = await create_proposal(session, request, PLANNER)
    answer = solve(prepared, lambda _progress: None)
    row = await get_proposal(session, prepared.proposal_id)
    row.status, row.finished_at = "done", utcnow()
    row.answer = answer_with_ids(answer, prepared.meta)
    row.progress = progress_json(Progress(stage="done", seconds=answer.seconds, objective=answer.objective,
                                          bound=answer.bound, gap=answer.gap))
    await session.flush()
    moved = sum(m.quantity for m in answer.moves)
    progress(f"选址优化 #{row.id}（按现有库存布放大流量潜水泵，目标 {request.target_minutes} 分钟）：调拨 {moved} 台到 "
             f"{len({m.to_site for m in answer.moves})} 个地点，需求加权满足 {answer.objective:g} / "
             f"{answer.total_weight:g}，{'已证明最优' if answer.proven_optimal else f'差距 {answer.gap:.1%}'}，"
             f"用时 {answer.seconds:.2f} 秒")
    return row.id


async def ensure_demo_plan(session: AsyncSession,
                           progress: Callable[[str], None] = lambda _m: None) -> tuple[int, int]:
    """The optimiser run and the draft plan from it, unless the demo made the plan before; (created, skipped)."""
    if await session.scalar(select(Plan.id).where(Plan.name == PLAN_NAME)):
        return 0, 1
    pump = await session.scalar(select(ItemType.id).where(ItemType.code == SUBMERSIBLE_PUMP))
    if pump is None:
        return 0, 0
    proposal_id = await _proposal_now(session, ProposeRequest(
        region_code=CITY, objective="stock", target_minutes=TARGET_MINUTES, item_type_id=pump,
        time_limit_seconds=TIME_LIMIT_SECONDS), progress)
    await create_plan(session, PlanCreate(
        name=PLAN_NAME, region_code=CITY, season=f"{beijing_today().year}年主汛期", target_minutes=TARGET_MINUTES,
        item_type_ids=[pump], proposal_id=proposal_id, note=PLAN_NOTE), PLANNER)
    return 1, 0
