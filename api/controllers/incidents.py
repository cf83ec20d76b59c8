"""Incidents and dispatch orders (动用指令)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.config import Settings
from inventory.response import dispatch, incidents
from inventory.response.schemas import (
    DeliverRequest,
    DispatchCreate,
    DispatchRead,
    DispatchStatus,
    ExecuteRequest,
    IncidentCreate,
    IncidentRead,
    PaperworkRequest,
    ReturnRequest,
)
from inventory.schemas import Page
from inventory.store.db import Database


class IncidentController(Controller):
    """Incidents; dispatch orders are created under them."""

    path = "/api/v1/incidents"
    tags = ["incidents"]

    @post("/", opt={"action": "incidents.write"})
    async def create_incident(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: IncidentCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[IncidentRead]:
        """Open an incident at a point (wgs84, gcj02 or bd09)."""

        async def work(session: AsyncSession) -> IncidentRead:
            return incidents.incident_read(await incidents.create_incident(session, data, actor=principal.username))

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_incidents(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        status: Annotated[str | None, Parameter(pattern="^(open|closed)$")] = None, after_id: AfterId = None,
    ) -> Page[IncidentRead]:
        """Incidents, newest first."""
        async with db.heavy_read() as session:
            return await incidents.list_incidents(session, status=status, limit=limit, offset=offset,
                                                  after_id=after_id)

    @get("/{incident_id:int}", opt={"action": "read"})
    async def get_incident(self, db: Database, incident_id: IdParam) -> IncidentRead:
        """One incident."""
        async with db.read() as session:
            return incidents.incident_read(await incidents.get_incident(session, incident_id))

    @post("/{incident_id:int}/close", opt={"action": "incidents.write"}, status_code=200)
    async def close_incident(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, incident_id: IdParam,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[IncidentRead]:
        """Close an incident."""

        async def work(session: AsyncSession) -> IncidentRead:
            return incidents.incident_read(await incidents.close_incident(session, incident_id))

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{incident_id:int}/dispatches", opt={"action": "dispatch.order"})
    async def create_dispatch(
        self, request: Request[Any, Any, Any], db: Database, settings: Settings, principal: Principal,
        incident_id: IdParam, data: DispatchCreate, idempotency_key: IdempotencyKey = None,
    ) -> Response[DispatchRead]:
        """Order a dispatch: every line reserved at once (nearest sources by ETA when none is named) or 409.

        Own stock first: sources must lie in the commander's scope (a named one outside it: 403; the nearest are
        looked for among his own). Another unit's stock is requested with ``POST /api/v1/requests``.

        The answer says the order's response-time target (by the incident's level) and whether the slowest
        line's estimated arrival meets it.
        """
        eta: EtaConfig = request.app.state.eta

        async def work(session: AsyncSession) -> DispatchRead:
            d = await dispatch.create_dispatch(session, incident_id, data, actor=principal.username, eta=eta,
                                               targets=settings.response_target_hours, principal=principal)
            return await dispatch.dispatch_read(session, d)

        return await run_write(request, db, principal, work)


class DispatchController(Controller):
    """Dispatch orders: list, paperwork, execute, deliver, return, cancel."""

    path = "/api/v1/dispatches"
    tags = ["incidents"]

    @get("/", opt={"action": "read"})
    async def list_dispatches(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, incident: OptionalId = None,
        status: DispatchStatus | None = None, source: OptionalId = None,
        paperwork: Annotated[str | None, Parameter(pattern="^(overdue|missing)$",
                                                   description="overdue: 口头批准超过 48 小时仍未补办书面手续")] = None,
        late: Annotated[bool | None, Parameter(description="true: 超过到达时限（签收晚于时限，或未签收且已过时限）；"
                                                           "false: 未超时")] = None,
        after_id: AfterId = None,
    ) -> Page[DispatchRead]:
        """Dispatch orders by incident, status, source location, missing paperwork or lateness, newest first."""
        async with db.heavy_read() as session:
            return await dispatch.list_dispatches(session, incident_id=incident, status=status, source=source,
                                                  paperwork=paperwork, limit=limit, offset=offset, late=late,
                                                  after_id=after_id)

    @get("/{dispatch_id:int}", opt={"action": "read"})
    async def get_dispatch(self, db: Database, dispatch_id: IdParam) -> DispatchRead:
        """One dispatch order."""
        async with db.read() as session:
            return await dispatch.dispatch_read(session, await dispatch.get_dispatch(session, dispatch_id))

    async def _write(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                     step: Any) -> Response[DispatchRead]:
        async def work(session: AsyncSession) -> DispatchRead:
            return await dispatch.dispatch_read(session, await step(session))

        return await run_write(request, db, principal, work, status_code=200)

    @post("/{dispatch_id:int}/paperwork", opt={"action": "dispatch.manage"}, status_code=200)
    async def paperwork(self, request: Request[Any, Any, Any], db: Database, principal: Principal, dispatch_id: IdParam,
                        data: PaperworkRequest, idempotency_key: IdempotencyKey = None) -> Response[DispatchRead]:
        """Record the written order that follows an oral approval."""
        return await self._write(request, db, principal,
                                 lambda s: dispatch.record_paperwork(s, dispatch_id, data.document_no))

    @post("/{dispatch_id:int}/execute", opt={"action": "dispatch.execute"}, status_code=200)
    async def execute(self, request: Request[Any, Any, Any], db: Database, principal: Principal, dispatch_id: IdParam,
                      data: ExecuteRequest | None = None,
                      idempotency_key: IdempotencyKey = None) -> Response[DispatchRead]:
        """The keeper at the source issues the reserved stock toward the incident (in transit)."""
        return await self._write(request, db, principal, lambda s: dispatch.execute_dispatch(
            s, dispatch_id, data or ExecuteRequest(), principal))

    @post("/{dispatch_id:int}/deliver", opt={"action": "dispatch.execute"}, status_code=200)
    async def deliver(self, request: Request[Any, Any, Any], db: Database, principal: Principal, dispatch_id: IdParam,
                      data: DeliverRequest | None = None,
                      idempotency_key: IdempotencyKey = None) -> Response[DispatchRead]:
        """Sign for what arrived at the incident: the named lines, else everything on the way."""
        return await self._write(request, db, principal,
                                 lambda s: dispatch.deliver_dispatch(s, dispatch_id, principal, data=data))

    @post("/{dispatch_id:int}/return", opt={"action": "dispatch.execute"}, status_code=200)
    async def return_(self, request: Request[Any, Any, Any], db: Database, principal: Principal, dispatch_id: IdParam,
                      data: ReturnRequest, idempotency_key: IdempotencyKey = None) -> Response[DispatchRead]:
        """Bring back what is left at the incident to a depot."""
        return await self._write(request, db, principal,
                                 lambda s: dispatch.return_dispatch(s, dispatch_id, data, principal))

    @post("/{dispatch_id:int}/cancel", opt={"action": "dispatch.manage"}, status_code=200)
    async def cancel(self, request: Request[Any, Any, Any], db: Database, principal: Principal, dispatch_id: IdParam,
                     idempotency_key: IdempotencyKey = None) -> Response[DispatchRead]:
        """Release whatever is still reserved."""
        return await self._write(request, db, principal,
                                 lambda s: dispatch.cancel_dispatch(s, dispatch_id, actor=principal.username))
