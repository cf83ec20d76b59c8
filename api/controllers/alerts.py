"""Alerts (告警): the ones the caller may see, and acknowledging one."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.alerts import queries
from inventory.alerts.kinds import KINDS
from inventory.alerts.schemas import AlertRead, AlertStatus
from inventory.schemas import Page
from inventory.store.db import Database

Kind = Annotated[str | None, Parameter(max_length=32, schema_extra={"enum": list(KINDS)},
                                       description="告警类型，如 lot_expired、lease_overdue")]
Region = Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="行政区划代码（前缀），如 3601")]


class AlertController(Controller):
    """Alerts found by the periodic computation (``inventory alerts run``), shown by role and scope."""

    path = "/api/v1/alerts"
    tags = ["alerts"]

    @get("/", opt={"action": "alerts.read"})
    async def list_alerts(
        self, db: Database, principal: Principal, limit: Limit = 50, offset: Offset = 0,
        status: AlertStatus | None = None, kind: Kind = None, region: Region = None, after_id: AfterId = None,
    ) -> Page[AlertRead]:
        """Alerts the caller may see (their role's kinds, in their scope): open first, the serious ones first."""
        async with db.heavy_read() as session:
            return await queries.list_alerts(session, queries.principal_viewer(principal), status=status, kind=kind,
                                             region=region, limit=limit, offset=offset, after_id=after_id)

    @post("/{alert_id:int}/ack", opt={"action": "alerts.ack"}, status_code=200)
    async def acknowledge(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, alert_id: IdParam,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AlertRead]:
        """Acknowledge an alert (seen, being handled): it leaves the open count; it resolves on its own later."""

        async def work(session: AsyncSession) -> AlertRead:
            return await queries.acknowledge(session, alert_id, principal)

        return await run_write(request, db, principal, work, status_code=200)
