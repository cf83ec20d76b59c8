"""Readiness (战备完好): maintenance plans, checks of units, repairs, and the units not ready in a region."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.availability import Category, RegionCode, required
from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.readiness import checks, plans, repairs
from inventory.readiness.report import readiness_report
from inventory.readiness.rules import STATES
from inventory.readiness.schemas import (
    CheckCreate,
    CheckRead,
    PlanCreate,
    PlanRead,
    ReadinessReport,
    RepairBack,
    RepairCreate,
    RepairRead,
    Task,
)
from inventory.schemas import Page
from inventory.store.db import Database


class ReadinessController(Controller):
    """Plans say what keeps a unit ready and how often; checks and repairs say how it stands."""

    path = "/api/v1"
    tags = ["readiness"]

    @post("/maintenance-plans", opt={"action": "maintenance_plans.write"})
    async def create_plan(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: PlanCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PlanRead]:
        """A plan for an item type, or for one unit (overriding its type's plan for the task); it replaces the
        active plan of the same target and task, and the units' next due dates follow at once."""

        async def work(session: AsyncSession) -> PlanRead:
            return await plans.plan_read(session, await plans.create_plan(session, data, principal))

        return await run_write(request, db, principal, work)

    @get("/maintenance-plans", opt={"action": "read"})
    async def list_plans(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, item_type_id: OptionalId = None,
        asset_id: OptionalId = None,
        task: Task | None = None, active: Annotated[bool | None, Parameter(description="true: 现行计划")] = None,
    ) -> Page[PlanRead]:
        """Plans, newest first (replaced ones too, unless ``active=true``); ``asset_id``: the unit's own plans
        and its item type's."""
        async with db.heavy_read() as session:
            return await plans.list_plans(session, item_type_id=item_type_id, asset_id=asset_id, task=task,
                                          active=active, limit=limit, offset=offset)

    @post("/assets/{asset_id:int}/checks", opt={"action": "readiness.check"})
    async def record_check(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, asset_id: IdParam,
        data: CheckCreate, idempotency_key: IdempotencyKey = None,
    ) -> Response[CheckRead]:
        """Record a check (append-only). A fault or a unit not ready takes it out of ``nearest`` until a later
        good check or a repair; a run test needs ``run_minutes``; percentages are 0–100; not in the future."""

        async def work(session: AsyncSession) -> CheckRead:
            return checks.check_read(await checks.record_check(session, asset_id, data, principal))

        return await run_write(request, db, principal, work)

    @get("/assets/{asset_id:int}/checks", opt={"action": "read"})
    async def list_checks(
        self, db: Database, asset_id: IdParam, limit: Limit = 50, offset: Offset = 0, task: Task | None = None,
    ) -> Page[CheckRead]:
        """The unit's checks, the latest done first."""
        async with db.heavy_read() as session:
            return await checks.list_checks(session, asset_id, task=task, limit=limit, offset=offset)

    @post("/assets/{asset_id:int}/repairs", opt={"action": "readiness.check"})
    async def send_to_repair(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, asset_id: IdParam,
        data: RepairCreate, idempotency_key: IdempotencyKey = None,
    ) -> Response[RepairRead]:
        """Send a unit to a repairer (送修): it is in maintenance, out of ``nearest``, until it comes back."""

        async def work(session: AsyncSession) -> RepairRead:
            return await repairs.repair_read(session, await repairs.send_to_repair(session, asset_id, data, principal))

        return await run_write(request, db, principal, work)

    @post("/repairs/{repair_id:int}/back", opt={"action": "readiness.check"}, status_code=200)
    async def repair_back(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, repair_id: IdParam,
        data: RepairBack, idempotency_key: IdempotencyKey = None,
    ) -> Response[RepairRead]:
        """The unit is back, repaired (what was done, the cost): available and ready again."""

        async def work(session: AsyncSession) -> RepairRead:
            return await repairs.repair_read(session, await repairs.repair_back(session, repair_id, data, principal))

        return await run_write(request, db, principal, work, status_code=200)

    @get("/readiness", opt={"action": "read"})
    async def readiness(
        self, db: Database, region: RegionCode = None, category: Category = None, item_type_id: OptionalId = None,
        location_id: OptionalId = None,
        states: Annotated[list[str] | None, QueryParameter(
            name="state", description="列出哪些状态，可重复；默认未就绪的 in_maintenance、fault、overdue",
            schema_extra={"items": {"type": "string", "enum": list(STATES)}})] = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> ReadinessReport:
        """Units held in a region by state (ready, due_soon, overdue, fault, in_maintenance) per category and
        child region, and a page of those not ready with the reason in Chinese, most serious first."""
        async with db.heavy_read() as session:
            return await readiness_report(
                session, region=required(region, "region", "行政区划代码"), category=category,
                item_type_id=item_type_id, location_id=location_id, states=states, limit=limit, offset=offset)
