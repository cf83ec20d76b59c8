"""The demo's pre-positioning (精准化前置) on SQLite and PostgreSQL: 40 risk points inside their counties, an
optimiser run done and a draft plan with lines from it, waiting for another commander; fast and the same each load."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from inventory.demo.loader import load_demo
from inventory.demo.plans import PLAN_NAME, PLANNER, TARGET_MINUTES
from inventory.demo.risk_points import RISK_POINTS, SUBMERSIBLE_PUMP
from inventory.places.boundaries import boundary_at
from inventory.plans.coverage import plan_coverage
from inventory.plans.proposal_jobs import solve
from inventory.plans.proposals import create_proposal
from inventory.plans.schemas import ProposeRequest
from inventory.plans.service import plan_read
from inventory.store.db import Database
from inventory.store.models import ItemType, Location, Plan, PlanLine, PlanProposal, RiskNeed, RiskPoint


async def test_the_demo_has_forty_risk_points_in_their_counties_and_a_draft_plan_with_lines(db: Database) -> None:
    messages: list[str] = []
    began = time.monotonic()
    async with db.write() as session:
        summary = await load_demo(session, progress=messages.append)
    assert time.monotonic() - began < 60
    assert (summary.risk_points_created, summary.plans_created) == (40, 1)
    assert any(m.startswith("风险隐患点") and "40 个" in m for m in messages), messages
    assert any(m.startswith("前置计划草稿") and "1 份" in m for m in messages), messages
    assert "风险隐患点 40 个、前置计划 1 份" in messages[-1]

    async with db.read() as session:
        points = list(await session.scalars(select(RiskPoint).order_by(RiskPoint.code)))
        needs = await session.scalar(select(func.count()).select_from(RiskNeed))
        plan = await session.scalar(select(Plan).where(Plan.name == PLAN_NAME))
        assert plan is not None
        view = await plan_read(session, plan)
        proposal = await session.get(PlanProposal, plan.proposal_id)
        pump = await session.scalar(select(ItemType.id).where(ItemType.code == SUBMERSIBLE_PUMP))
        cover = await plan_coverage(session, plan.id)
        kinds = {int(i): str(k) for i, k in await session.execute(select(Location.id, Location.kind))}
    assert len(points) == 40 and needs == sum(len(p.needs) for p in RISK_POINTS)
    for p in points:
        county = boundary_at(p.lon, p.lat)
        assert county is not None and county.adcode == p.region_code, (p.code, p.name)
        assert p.created_by == PLANNER.username
    assert {p.region_code for p in points} == {"360121", "360112", "360124"}

    assert (view.status, view.author, view.approved_by) == ("draft", PLANNER.username, None)
    assert view.region_code == "3601" and view.target_minutes == TARGET_MINUTES and view.item_type_ids == [pump]
    assert "60 分钟" in view.note and view.season.endswith("年主汛期")
    assert view.lines, "the optimiser's moves became the plan's lines"
    assert all(ln.item_type_id == pump and ln.quantity >= 1 and ln.transfer_id is None for ln in view.lines)
    assert all(kinds[ln.to_location_id] in ("reserve_point", "depot", "staging") for ln in view.lines)
    assert proposal is not None and proposal.status == "done" and proposal.objective == "stock"
    assert proposal.answer is not None and proposal.answer["target_minutes"] == TARGET_MINUTES
    moved = sum(m["quantity"] for m in proposal.answer["moves"])
    assert sum(ln.quantity for ln in view.lines) == moved

    # The plan's layout covers most of the pumps' points within the hour, and not all: the page has both.
    pump_points = {p.code for p in RISK_POINTS if SUBMERSIBLE_PUMP in p.needs}
    assert {pc.code for pc in cover.points} == pump_points
    covered = [pc for pc in cover.points if pc.covered]
    assert len(pump_points) > len(covered) >= len(pump_points) // 2, [(pc.code, pc.covered) for pc in cover.points]
    assert 0 < cover.covered_weight < cover.total_weight
    # The plan page counts the layout the way the optimiser did: the same objective the answer promised.
    assert cover.need_weighted_covered == pytest.approx(proposal.answer["objective"], rel=1e-9)


async def test_the_demo_plan_is_the_same_each_load_and_a_second_load_adds_none(db: Database) -> None:
    async with db.write() as session:
        await load_demo(session)
    async with db.write() as session:
        again = await load_demo(session)
    assert (again.risk_points_created, again.risk_points_skipped) == (0, 40)
    assert (again.plans_created, again.plans_skipped) == (0, 1)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Plan)) == 1
        assert await session.scalar(select(func.count()).select_from(PlanProposal)) == 1
        lines = sorted((ln.from_location_id, ln.to_location_id, ln.quantity)
                       for ln in await session.scalars(select(PlanLine)))
        stored = await session.scalar(select(PlanProposal))
        assert stored is not None and stored.answer is not None
    # The optimiser on the same data answers the same (solved to optimality, well within its time limit).
    async with db.write_sessionmaker() as session:
        prepared = await create_proposal(session, ProposeRequest(**stored.params), PLANNER)
        answer = solve(prepared, lambda _p: None)
        await session.rollback()
    assert answer.proven_optimal and answer.seconds < 5
    assert sorted((int(m.from_site), int(m.to_site), m.quantity) for m in answer.moves) == lines
    assert answer.objective == stored.answer["objective"]
