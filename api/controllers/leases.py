"""Leases (租赁、借用): contracts, handing over, returns in part, extensions, fees."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.leases import queries
from inventory.leases import service as leases
from inventory.leases.schemas import (
    Direction,
    FeeSummary,
    LeaseCreate,
    LeaseExtend,
    LeaseHandOver,
    LeaseRead,
    LeaseReturn,
    LeaseStatus,
)
from inventory.schemas import Page
from inventory.store.db import Database


class LeaseController(Controller):
    """Lending ours out and leasing theirs in, all through the ledger."""

    path = "/api/v1/leases"
    tags = ["leases"]

    @post("/", opt={"action": "leases.write"})
    async def create_lease(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: LeaseCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[LeaseRead]:
        """Record a lease contract (draft until the goods change hands)."""

        async def work(session: AsyncSession) -> LeaseRead:
            return await queries.lease_read(session, await leases.create_lease(session, data, principal))

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_leases(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, status: LeaseStatus | None = None,
        direction: Direction | None = None,
        due_within_days: Annotated[int | None, Parameter(ge=0, le=3650)] = None,
        counterparty: Annotated[str | None, Parameter(max_length=100)] = None,
    ) -> Page[LeaseRead]:
        """Leases, overdue first; ``status`` is derived (draft, active, overdue, returned, closed_short)."""
        async with db.heavy_read() as session:
            return await queries.list_leases(session, status=status, direction=direction,
                                            due_within_days=due_within_days, counterparty=counterparty,
                                            limit=limit, offset=offset)

    @get("/fees", opt={"action": "read"})
    async def fees(self, db: Database, year: Annotated[int, Parameter(ge=2000, le=2100)]) -> FeeSummary:
        """Fees per counterparty for leases started in ``year``: what the bureau pays and is owed."""
        async with db.heavy_read() as session:
            return await queries.fee_summary(session, year)

    @get("/{lease_id:int}", opt={"action": "read"})
    async def get_lease(self, db: Database, lease_id: IdParam) -> LeaseRead:
        """One lease with its lines, extensions and fee to date."""
        async with db.read() as session:
            return await queries.lease_read(session, await queries.get_lease(session, lease_id))

    @post("/{lease_id:int}/out", opt={"action": "leases.write"}, status_code=200)
    async def hand_over(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, lease_id: IdParam,
        data: LeaseHandOver | None = None, idempotency_key: IdempotencyKey = None,
    ) -> Response[LeaseRead]:
        """The goods change hands: ours go out (units leased_out) or theirs come in (units leased_in).

        The body may be empty; ``occurred_at`` says when it really happened (北京时间 without an offset)."""

        async def work(session: AsyncSession) -> LeaseRead:
            return await queries.lease_read(session, await leases.hand_over(session, lease_id, principal, data))

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{lease_id:int}/return", opt={"action": "leases.write"}, status_code=200)
    async def take_back(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, lease_id: IdParam,
        data: LeaseReturn, idempotency_key: IdempotencyKey = None,
    ) -> Response[LeaseRead]:
        """A return, in full or in part; damaged units go to maintenance, lost ones to a write-off request.

        ``occurred_at`` says when it really happened (北京时间 without an offset; not before the handing over)."""

        async def work(session: AsyncSession) -> LeaseRead:
            return await queries.lease_read(session, await leases.take_back(session, lease_id, data, principal))

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{lease_id:int}/extend", opt={"action": "leases.write"}, status_code=200)
    async def extend(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, lease_id: IdParam,
        data: LeaseExtend, idempotency_key: IdempotencyKey = None,
    ) -> Response[LeaseRead]:
        """Extend the due date; the earlier due dates stay in the history."""

        async def work(session: AsyncSession) -> LeaseRead:
            return await queries.lease_read(session, await leases.extend(session, lease_id, data, principal))

        return await run_write(request, db, principal, work, status_code=200)
