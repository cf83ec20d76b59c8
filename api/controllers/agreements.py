"""Agreement reserves (协议储备): agreements with firms, checks and drills, call-offs and their settlement."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.agreements import queries
from inventory.agreements import service as agreements
from inventory.agreements.schemas import (
    AgreementCreate,
    AgreementKind,
    AgreementRead,
    AgreementStatus,
    CallOffRead,
    CheckCreate,
    CheckRead,
    SettleRequest,
)
from inventory.schemas import Page
from inventory.store.db import Database


class AgreementController(Controller):
    """Goods a firm holds for us (实物代储) or makes on call (产能储备), checked, drilled and called off."""

    path = "/api/v1/agreements"
    tags = ["agreements"]

    @post("/", opt={"action": "agreements.write"})
    async def create_agreement(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: AgreementCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AgreementRead]:
        """Record an agreement with its lines; the firm's warehouse is a location of kind ``vendor``."""

        async def work(session: AsyncSession) -> AgreementRead:
            return await queries.agreement_read(session, await agreements.create_agreement(session, data, principal))

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_agreements(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, status: AgreementStatus | None = None,
        kind: AgreementKind | None = None,
        check_due: Annotated[bool | None, Parameter(description="true: 下次检查已逾期")] = None,
        vendor: Annotated[str | None, Parameter(max_length=100, description="企业、协议名称或编号中的文字")] = None,
        item_type_id: OptionalId = None,
    ) -> Page[AgreementRead]:
        """Agreements, expiring first; ``status`` is derived (pending, valid, expiring, expired)."""
        async with db.heavy_read() as session:
            return await queries.list_agreements(session, status=status, kind=kind, check_due=check_due,
                                                 vendor=vendor, item_type_id=item_type_id, limit=limit,
                                                 offset=offset)

    @get("/{agreement_id:int}", opt={"action": "read"})
    async def get_agreement(self, db: Database, agreement_id: IdParam) -> AgreementRead:
        """One agreement with its lines, last check and drill, and when the next check is due."""
        async with db.read() as session:
            return await queries.agreement_read(session, await queries.get_agreement(session, agreement_id))

    @post("/{agreement_id:int}/checks", opt={"action": "agreements.write"})
    async def record_check(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, agreement_id: IdParam,
        data: CheckCreate, idempotency_key: IdempotencyKey = None,
    ) -> Response[CheckRead]:
        """A check (counts per line) or a drill (拉动演练: the measured response time beside the promised)."""

        async def work(session: AsyncSession) -> CheckRead:
            check = await agreements.record_check(session, agreement_id, data, principal)
            session.expire(check)  # read back as stored (times in UTC), as GET …/checks answers them
            checks = await queries.list_checks(session, await queries.get_agreement(session, agreement_id))
            return next(c for c in checks if c.id == check.id)

        return await run_write(request, db, principal, work)

    @get("/{agreement_id:int}/checks", opt={"action": "read"})
    async def list_checks(self, db: Database, agreement_id: IdParam) -> list[CheckRead]:
        """Every check and drill of the agreement, newest first."""
        async with db.read() as session:
            return await queries.list_checks(session, await queries.get_agreement(session, agreement_id))

    @get("/{agreement_id:int}/calloffs", opt={"action": "read"})
    async def list_calloffs(self, db: Database, agreement_id: IdParam) -> list[CallOffRead]:
        """The call-offs (调用) of the agreement, newest first, with when each settlement falls due."""
        async with db.read() as session:
            a = await queries.get_agreement(session, agreement_id)
            return await queries.list_calloffs(session, a.id)

    @post("/{agreement_id:int}/calloffs/{calloff_id:int}/settle", opt={"action": "agreements.write"},
          status_code=200)
    async def settle(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, agreement_id: IdParam,
        calloff_id: IdParam, data: SettleRequest, idempotency_key: IdempotencyKey = None,
    ) -> Response[CallOffRead]:
        """Record that a call-off has been paid (结算); a second settlement is a 409."""

        async def work(session: AsyncSession) -> CallOffRead:
            c = await agreements.settle_calloff(session, agreement_id, calloff_id, data, principal)
            return next(r for r in await queries.list_calloffs(session, agreement_id) if r.id == c.id)

        return await run_write(request, db, principal, work, status_code=200)
