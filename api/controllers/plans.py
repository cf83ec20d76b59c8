"""Pre-positioning plans (前置计划): drafts, approval by another commander, execution through the ledger,
recall after the season, and the coverage of a plan's layout."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.plans import service as plans
from inventory.plans.coverage import plan_coverage
from inventory.plans.schemas import (
    PlanCoverage,
    PlanCreate,
    PlanRead,
    PlanStatus,
    PlanSummary,
    PlanUpdate,
    RecallRequest,
)
from inventory.schemas import Page
from inventory.store.db import Database
from inventory.store.models import Plan

Region = Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="行政区划代码（前缀），如 3601")]


class PlanController(Controller):
    """Where stock waits for the flood season: staging sites near the risk points, by plan."""

    path = "/api/v1/plans"
    tags = ["plans"]

    async def _write(self, request: Request[Any, Any, Any], db: Database, principal: Principal, step: Any,
                     status_code: int = 200) -> Response[PlanRead]:
        async def work(session: AsyncSession) -> PlanRead:
            plan: Plan = await step(session)
            return await plans.plan_read(session, plan)

        return await run_write(request, db, principal, work, status_code=status_code)

    @post("/", opt={"action": "plans.write"})
    async def create_plan(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                          data: PlanCreate, idempotency_key: IdempotencyKey = None) -> Response[PlanRead]:
        """A draft plan: lines by hand, or from a finished optimiser run (``proposal_id`` and no ``lines``).

        ``target_minutes`` defaults to the level's response target (county 6 h, city 8 h, province 10 h). Every
        line must fit the stock available at its from-location (the lines from one location of one item type
        together), else 409 with the shortfall per location and item type.
        """
        return await self._write(request, db, principal, lambda s: plans.create_plan(s, data, principal), 201)

    @get("/", opt={"action": "read"})
    async def list_plans(self, db: Database, limit: Limit = 50, offset: Offset = 0, region: Region = None,
                         status: PlanStatus | None = None) -> Page[PlanSummary]:
        """Plans, newest first; ``region`` is a region-code prefix; ``status`` as it stands now."""
        async with db.heavy_read() as session:
            return await plans.list_plans(session, region_code=region, status=status, limit=limit, offset=offset)

    @get("/{plan_id:int}", opt={"action": "read"})
    async def get_plan(self, db: Database, plan_id: IdParam) -> PlanRead:
        """One plan with its lines, their transfers out and back and where these stand.

        ``in_place`` (and ``in_place_at``, the time of the last receipt) is read from the ledger: a plan is in
        place once the keepers have received every transfer.
        """
        async with db.read() as session:
            return await plans.plan_read(session, await plans.get_plan(session, plan_id))

    @patch("/{plan_id:int}", opt={"action": "plans.write"})
    async def update_plan(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                          plan_id: IdParam, data: PlanUpdate,
                          idempotency_key: IdempotencyKey = None) -> Response[PlanRead]:
        """Change a draft (``lines``, when given, replaces them all); after approval a 409."""
        return await self._write(request, db, principal, lambda s: plans.update_plan(s, plan_id, data, principal))

    @get("/{plan_id:int}/coverage", opt={"action": "read"})
    async def coverage(self, db: Database, eta: EtaConfig, plan_id: IdParam) -> PlanCoverage:
        """Which risk points of the plan's region its layout reaches within the target, and what each lacks.

        The layout is the stock available now with the plan's lines not yet in place moved to their staging
        sites; points are served heaviest first, each from its nearest sources within the target.
        """
        async with db.heavy_read() as session:
            return await plan_coverage(session, plan_id, eta)

    @post("/{plan_id:int}/approve", opt={"action": "plans.approve"}, status_code=200)
    async def approve(self, request: Request[Any, Any, Any], db: Database, principal: Principal, plan_id: IdParam,
                      idempotency_key: IdempotencyKey = None) -> Response[PlanRead]:
        """Approve a draft; its author may not (403), nor may anyone approve a plan without lines (409)."""
        return await self._write(request, db, principal, lambda s: plans.approve_plan(s, plan_id, principal))

    @post("/{plan_id:int}/execute", opt={"action": "plans.execute"}, status_code=200)
    async def execute(self, request: Request[Any, Any, Any], db: Database, principal: Principal, plan_id: IdParam,
                      idempotency_key: IdempotencyKey = None) -> Response[PlanRead]:
        """Post the transfers (one per from-location and staging site) through the ledger, all or none.

        The keeper at the staging site signs for units on their scan pages (到货签收) and receives lots with
        ``POST /api/v1/transfers/{id}/receive``. Stock short since approval: 409 with the shortfall.
        """
        return await self._write(request, db, principal, lambda s: plans.execute_plan(s, plan_id, principal))

    @post("/{plan_id:int}/recall", opt={"action": "plans.execute"}, status_code=200)
    async def recall(self, request: Request[Any, Any, Any], db: Database, principal: Principal, plan_id: IdParam,
                     data: RecallRequest | None = None, idempotency_key: IdempotencyKey = None) -> Response[PlanRead]:
        """After the season: send back what arrived and is still at the staging sites (transfers back).

        What was issued or used since stays out (each line's ``recalled`` against its ``received``). While a
        transfer is still in transit the recall is refused (409): receive it (or close it short) first.
        """
        return await self._write(request, db, principal,
                                 lambda s: plans.recall_plan(s, plan_id, data or RecallRequest(), principal))
