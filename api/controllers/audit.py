"""The audit log (admins and auditors)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from api.controllers.paging import AfterId
from api.deps import Limit, Offset, QueryTime, parse_time
from inventory.access.audit import AuditRead, list_audit
from inventory.schemas import Page
from inventory.store.db import Database


class AuditController(Controller):
    """Who did what, when, from where, and how it ended."""

    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/", opt={"action": "audit.read"})
    async def list_entries(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        user: Annotated[str | None, Parameter(max_length=64, description="用户名")] = None,
        target: Annotated[str | None, Parameter(max_length=60, description="目标，如 document:12 或 12")] = None,
        action: Annotated[str | None, Parameter(max_length=64)] = None,
        outcome: Annotated[str | None, Parameter(pattern="^(ok|denied|rejected|error|replayed)$")] = None,
        since: QueryTime = None, until: QueryTime = None, after_id: AfterId = None,
    ) -> Page[AuditRead]:
        """Entries newest first."""
        async with db.heavy_read() as session:
            return await list_audit(session, username=user, target=target, action=action, outcome=outcome,
                                    since=parse_time(since, "since"), until=parse_time(until, "until"),
                                    limit=limit, offset=offset, after_id=after_id)
