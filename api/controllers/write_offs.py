"""Write-off requests (报废申请): a keeper requests, a commander or admin other than the requester decides."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from inventory.access.scope import Principal, require_scope
from inventory.schemas import Page
from inventory.store.db import Database
from inventory.write_offs import service as write_offs
from inventory.write_offs import views as write_off_views
from inventory.write_offs.schemas import WriteOffCreate, WriteOffRead, WriteOffReject, WriteOffStatus


class WriteOffController(Controller):
    """Pending until approved: only then is the 报废单 posted."""

    path = "/api/v1/write-offs"
    tags = ["write-offs"]

    @post("/", opt={"action": "movements.post"})
    async def request_write_off(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: WriteOffCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WriteOffRead]:
        """Request a write-off: its stock is set aside (reserved) at once and posted only on approval."""

        async def work(session: AsyncSession) -> WriteOffRead:
            await require_scope(session, principal, data.location_id)
            req = await write_offs.request_write_off(session, data, actor=principal.username)
            return await write_off_views.write_off_read(session, req)

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_write_offs(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, status: WriteOffStatus | None = None,
        location_id: OptionalId = None, after_id: AfterId = None,
    ) -> Page[WriteOffRead]:
        """Write-off requests, newest first."""
        async with db.heavy_read() as session:
            return await write_off_views.list_write_offs(session, status=status, location_id=location_id,
                                                         limit=limit, offset=offset, after_id=after_id)

    @get("/{request_id:int}", opt={"action": "read"})
    async def get_write_off(self, db: Database, request_id: IdParam) -> WriteOffRead:
        """One write-off request with the stock it holds."""
        async with db.read() as session:
            return await write_off_views.write_off_read(session, await write_offs.get_write_off(session, request_id))

    @post("/{request_id:int}/approve", opt={"action": "writeoffs.approve"}, status_code=200)
    async def approve(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, request_id: IdParam,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WriteOffRead]:
        """Approve (not one's own request): the 报废单 is posted; a decided request answers 409."""

        async def work(session: AsyncSession) -> WriteOffRead:
            req = await write_offs.approve_write_off(session, request_id, principal)
            return await write_off_views.write_off_read(session, req)

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{request_id:int}/reject", opt={"action": "writeoffs.approve"}, status_code=200)
    async def reject(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, request_id: IdParam,
        data: WriteOffReject, idempotency_key: IdempotencyKey = None,
    ) -> Response[WriteOffRead]:
        """Reject with a reason: the stock set aside is free again."""

        async def work(session: AsyncSession) -> WriteOffRead:
            req = await write_offs.reject_write_off(session, request_id, data.reason, principal)
            return await write_off_views.write_off_read(session, req)

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{request_id:int}/cancel", opt={"action": "movements.post"}, status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, request_id: IdParam,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WriteOffRead]:
        """The requester withdraws a pending request: the stock set aside is free again."""

        async def work(session: AsyncSession) -> WriteOffRead:
            await require_scope(session, principal, (await write_offs.get_write_off(session, request_id)).location_id)
            req = await write_offs.cancel_write_off(session, request_id, principal)
            return await write_off_views.write_off_read(session, req)

        return await run_write(request, db, principal, work, status_code=200)
