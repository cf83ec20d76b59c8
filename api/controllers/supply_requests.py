"""Requests for stock between units (物资调用申请): send, list, read, accept (dispatch orders), decline."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.config import Settings
from inventory.schemas import Page
from inventory.store.db import Database
from inventory.supply_requests import service as requests
from inventory.supply_requests.schemas import (
    Box,
    RequestAccept,
    RequestCounts,
    RequestCreate,
    RequestDecline,
    RequestRead,
    RequestStatus,
)


class SupplyRequestController(Controller):
    """Each level uses its own stock first, then asks the owning unit or the level above (逐级申请)."""

    path = "/api/v1/requests"
    tags = ["requests"]

    @post("/", opt={"action": "requests.write"})
    async def create_request(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: RequestCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RequestRead]:
        """Ask another unit for stock toward an open incident: what (item type, or category with attributes), how
        many, 用途, destination, time wanted, transport and contact. A request to one's own unit (``to_region``
        inside one's scope) is refused with 422."""

        async def work(session: AsyncSession) -> RequestRead:
            return await requests.request_read(session, await requests.create_request(session, data, principal))

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_requests(
        self, db: Database, principal: Principal, limit: Limit = 50, offset: Offset = 0,
        box: Annotated[Box, Parameter(description="incoming: 发往本辖区的；outgoing: 本辖区发出的")] = "all",
        status: RequestStatus | None = None, incident: OptionalId = None,
    ) -> Page[RequestRead]:
        """Requests addressed to the user's units or sent by them, open ones first, newest first."""
        async with db.read() as session:
            return await requests.list_requests(session, principal, box=box, status=status, incident_id=incident,
                                                limit=limit, offset=offset)

    @get("/counts", opt={"action": "read"})
    async def counts(self, db: Database, principal: Principal) -> RequestCounts:
        """Open requests waiting for the user's answer, and open requests his units sent."""
        async with db.read() as session:
            return await requests.request_counts(session, principal)

    @get("/{request_id:int}", opt={"action": "read"})
    async def get_request(self, db: Database, request_id: IdParam) -> RequestRead:
        """One request: each line's status (accepted, declined, open) and each answer with its dispatch order."""
        async with db.read() as session:
            return await requests.request_read(session, await requests.get_request(session, request_id))

    @post("/{request_id:int}/accept", opt={"action": "requests.answer"}, status_code=200)
    async def accept(
        self, request: Request[Any, Any, Any], db: Database, settings: Settings, principal: Principal,
        request_id: IdParam, data: RequestAccept, idempotency_key: IdempotencyKey = None,
    ) -> Response[RequestRead]:
        """Accept in whole or in part: one dispatch order from the acceptor's own sources (named, else the nearest
        of his own), which their keepers execute. More than is open on a line → 422; beyond his stock → 409 with
        the shortfall; a request addressed outside his scope → 403."""
        eta: EtaConfig = request.app.state.eta

        async def work(session: AsyncSession) -> RequestRead:
            r = await requests.accept_request(session, request_id, data, principal, eta=eta,
                                              targets=settings.response_target_hours)
            return await requests.request_read(session, r)

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{request_id:int}/decline", opt={"action": "requests.answer"}, status_code=200)
    async def decline(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, request_id: IdParam,
        data: RequestDecline, idempotency_key: IdempotencyKey = None,
    ) -> Response[RequestRead]:
        """Decline what is still open on the named lines (every line when none is named), with the reason."""

        async def work(session: AsyncSession) -> RequestRead:
            return await requests.request_read(session, await requests.decline_request(session, request_id, data,
                                                                                       principal))

        return await run_write(request, db, principal, work, status_code=200)
