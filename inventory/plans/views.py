"""Reading plans: one with its lines' names and transfers, and the list; the status as it stands now.

An executing plan whose transfers are all received reads as ``in_place`` (:mod:`inventory.plans.standing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.plans.schemas import PLAN_STATUS_ZH, PlanLineRead, PlanRead, PlanSummary
from inventory.plans.standing import line_figures, shown_status, transfer_figures
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import ItemType, Location, Plan, PlanLine


async def get_plan(session: AsyncSession, plan_id: int) -> Plan:
    """The plan with this id, or NotFound."""
    return await get_or_not_found(session, Plan, plan_id, f"前置计划 id={plan_id}")


async def plan_lines(session: AsyncSession, plan_id: int) -> list[PlanLine]:
    """A plan's lines in the order they were given."""
    return list(await session.scalars(select(PlanLine).where(PlanLine.plan_id == plan_id).order_by(PlanLine.id)))


async def plan_read(session: AsyncSession, plan: Plan) -> PlanRead:
    """The plan with its lines' names, transfers and where they stand (status derived: see the module doc)."""
    lines = await plan_lines(session, plan.id)
    src, dst = aliased(Location), aliased(Location)
    names = {r[0]: r[1:] for r in await session.execute(
        select(PlanLine.id, src.name, dst.name, ItemType.name, ItemType.unit)
        .join(src, src.id == PlanLine.from_location_id).join(dst, dst.id == PlanLine.to_location_id)
        .join(ItemType, ItemType.id == PlanLine.item_type_id).where(PlanLine.plan_id == plan.id))}
    figures = await line_figures(session, plan, lines)
    status = shown_status(plan, figures.in_place_at)
    return PlanRead(
        id=plan.id, name=plan.name, season=plan.season, region_code=plan.region_code,
        target_minutes=plan.target_minutes, item_type_ids=list(plan.item_type_ids), status=status,
        status_zh=PLAN_STATUS_ZH[status], proposal_id=plan.proposal_id, note=plan.note, author=plan.author,
        approved_by=plan.approved_by, approved_at=plan.approved_at, executed_by=plan.executed_by,
        executed_at=plan.executed_at, in_place_at=figures.in_place_at, recalled_by=plan.recalled_by,
        recalled_at=plan.recalled_at, created_at=plan.created_at,
        lines=[PlanLineRead(
            id=ln.id, from_location_id=ln.from_location_id, from_name=names[ln.id][0],
            to_location_id=ln.to_location_id, to_name=names[ln.id][1], item_type_id=ln.item_type_id,
            item_name=names[ln.id][2], unit=names[ln.id][3], quantity=ln.quantity, asset_ids=list(ln.asset_ids),
            transfer_id=ln.transfer_id, transfer_status=figures.status.get(ln.id),
            recall_transfer_id=ln.recall_transfer_id, recall_status=figures.recall_status.get(ln.id),
            received=figures.received.get(ln.id) if ln.transfer_id else None,
            recalled=figures.recalled.get(ln.id, 0) if plan.status == "recalled" else None)
            for ln in lines])


async def _in_place_now(session: AsyncSession, plan_ids: Sequence[int]) -> set[int]:
    """Which of these executing plans have every line's transfer received."""
    if not plan_ids:
        return set()
    rows = (await session.execute(select(PlanLine.plan_id, PlanLine.transfer_id)
                                  .where(PlanLine.plan_id.in_(plan_ids)))).all()
    figures = await transfer_figures(session, [t for _, t in rows if t is not None])
    pending = {p for p, t in rows if t is None or figures[t].status != "received"}
    return {p for p, _ in rows} - pending


async def list_plans(session: AsyncSession, *, region_code: str | None = None, status: str | None = None,
                     limit: int = 50, offset: int = 0) -> Page[PlanSummary]:
    """Plans, newest first; ``region_code`` is a prefix; ``status`` as read now (in place derived)."""
    where: list[Any] = []
    if region_code:
        where.append(Plan.region_code.startswith(region_code, autoescape=True))
    executing: list[int] = []
    if status in (None, "executing", "in_place"):
        executing = list(await session.scalars(select(Plan.id).where(*where, Plan.status == "executing")))
    settled = await _in_place_now(session, executing)
    if status == "in_place":
        where.append((Plan.status == "in_place") | Plan.id.in_(settled))
    elif status == "executing":
        where.append(Plan.id.in_(set(executing) - settled))
    elif status is not None:
        where.append(Plan.status == status)
    total = await session.scalar(select(func.count()).select_from(Plan).where(*where)) or 0
    counts = (select(PlanLine.plan_id, func.count().label("n")).group_by(PlanLine.plan_id).subquery())
    rows = await session.execute(
        select(Plan, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.plan_id == Plan.id)
        .where(*where).order_by(Plan.id.desc()).limit(limit).offset(offset))
    items = []
    for plan, n in rows:
        shown = "in_place" if plan.id in settled else plan.status
        items.append(PlanSummary(id=plan.id, name=plan.name, season=plan.season, region_code=plan.region_code,
                                 target_minutes=plan.target_minutes, status=shown, status_zh=PLAN_STATUS_ZH[shown],
                                 author=plan.author, line_count=int(n), created_at=plan.created_at))
    return Page(items=items, total=int(total), limit=limit, offset=offset)
