"""Reserve quotas (储备定额): set per location and item type, imported from the reserve catalogue, and checked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit_trail import client_ip
from api.controllers.availability import Category, ItemTypeRef
from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from importers.quotas import (
    ParsedQuotaSheet,
    QuotaTemplateRow,
    SheetTooLarge,
    SheetUnreadable,
    parse_quota_sheet,
    write_quota_template,
)
from inventory.access.audit import AuditRecord, record
from inventory.access.scope import Principal
from inventory.errors import InvalidInput
from inventory.quotas import service as quotas
from inventory.quotas.imports import import_quotas
from inventory.quotas.rules import Level
from inventory.quotas.schemas import (
    QuotaCreate,
    QuotaImportResult,
    QuotaRead,
    QuotaSheetProblem,
    QuotaSheetRow,
    QuotaStatusPage,
    QuotaUpdate,
)
from inventory.quotas.status import quota_status
from inventory.schemas import Page
from inventory.store.db import Database

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 16 * 1024 * 1024
Region = Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="行政区划代码（前缀），如 3601")]


@dataclass
class QuotaUpload:
    """The reserve catalogue (.xlsx) as a multipart file field named ``file``."""

    file: UploadFile


def _domain_rows(parsed: ParsedQuotaSheet) -> tuple[list[QuotaSheetRow], list[QuotaSheetProblem]]:
    rows = [QuotaSheetRow(row=r.row, location_code=r.location_code, item_code=r.item_code, minimum=r.minimum,
                          warning_margin=r.warning_margin, season_minimum=r.season_minimum,
                          season_start=r.season_start, season_end=r.season_end, note=r.note) for r in parsed.rows]
    problems = [QuotaSheetProblem(e.row, e.column, "" if e.value is None else str(e.value), e.message)
                for e in parsed.errors]
    return rows, problems


async def read_quota_sheet(upload: UploadFile) -> ParsedQuotaSheet:
    """Parse an uploaded sheet in a worker thread; an unreadable or oversized file is a 422 on ``file``."""
    raw = await upload.read()
    try:
        return await asyncio.to_thread(parse_quota_sheet, raw)
    except SheetTooLarge as exc:
        raise InvalidInput(str(exc), field="file", extra={"part": exc.part, "limit": exc.limit}) from exc
    except SheetUnreadable as exc:
        raise InvalidInput(str(exc), field="file") from exc


def _template_row(q: QuotaRead) -> QuotaTemplateRow:
    season = q.season
    return QuotaTemplateRow(location_code=q.location_code, location_name=q.location_name, item_code=q.item_code,
                            item_name=q.item_name, spec=q.item_spec, unit=q.unit, minimum=q.minimum,
                            warning_margin=q.warning_margin, season_minimum=season.minimum if season else None,
                            season_start=season.start if season else None, season_end=season.end if season else None,
                            note=q.note)


class QuotaController(Controller):
    """The least each location must hold of each item type, and how far it falls short today."""

    path = "/api/v1/quotas"
    tags = ["quotas"]

    @post("/", opt={"action": "quotas.write"})
    async def create_quota(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                           data: QuotaCreate, idempotency_key: IdempotencyKey = None) -> Response[QuotaRead]:
        """Set the quota of an item type at a location (a site: a bin's stock counts at its site)."""

        async def work(session: AsyncSession) -> QuotaRead:
            return await quotas.quota_read(session, (await quotas.create_quota(session, data, principal)).id)

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_quotas(self, db: Database, limit: Limit = 50, offset: Offset = 0, region: Region = None,
                          location_id: OptionalId = None, item_type_id: OptionalId = None) -> Page[QuotaRead]:
        """Quotas by location code and item code."""
        async with db.heavy_read() as session:
            return await quotas.list_quotas(session, region=region, location_id=location_id,
                                            item_type_id=item_type_id, limit=limit, offset=offset)

    @get("/status", opt={"action": "read"})
    async def status(
        self, db: Database, region: Region = None, item_type: ItemTypeRef = None, category: Category = None,
        level: Annotated[Level | None, Parameter(description="只看 below（低于定额）、warning（接近）或 ok")] = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> QuotaStatusPage:
        """Each quota with what is available at its location today, the minimum in force, shortfall and level.

        Available follows the rule of availability (unreserved stock in unexpired lots and ready units, at the
        site and its bins). During a quota's season (e.g. 汛期 04-01 to 09-30) its season minimum is in force.
        ``below``: under the minimum; ``warning``: within the warning margin above it. Worst first.
        """
        async with db.heavy_read() as session:
            return await quota_status(session, region=region, item_type=item_type, category=category, level=level,
                                      limit=limit, offset=offset)

    @get("/template", opt={"action": "read"}, media_type=XLSX)
    async def template(self, db: Database, region: Region = None) -> Response[bytes]:
        """The quota sheet to fill in (Excel, WPS); with ``region``, listing the quotas there now, to change."""
        rows: list[QuotaRead] = []
        if region:
            async with db.heavy_read() as session:
                rows = await quotas.quotas_for_sheet(session, region)
        data = await asyncio.to_thread(write_quota_template, [_template_row(q) for q in rows])
        name = f"quotas-{region}.xlsx" if region else "quotas-template.xlsx"
        return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @post("/import", opt={"action": "quotas.write"}, request_max_body_size=MAX_UPLOAD, status_code=200)
    async def import_sheet(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: Annotated[QuotaUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> QuotaImportResult:
        """Import the reserve catalogue (储备目录): refused whole with every bad cell listed, or applied whole.

        Columns 库点编码, 物资编码, 最低储备量 (required), 预警余量, 汛期最低储备量, 汛期起, 汛期止, 备注. Each row
        creates or replaces the quota of its location and item type; others stay. The same sheet twice changes
        nothing.
        """
        parsed = await read_quota_sheet(data.file)
        rows, problems = _domain_rows(parsed)
        async with db.write() as session:
            result = await import_quotas(session, rows, problems, principal, problems_omitted=parsed.errors_omitted)
            await record(session, AuditRecord(
                user_id=principal.user_id, username=principal.username, role=principal.role,
                client_ip=client_ip(request.scope), action="quotas.write", method=request.method,
                path=request.url.path, target_type="quota", target_ids="", outcome="ok", status_code=200,
                summary=f"导入储备定额表 {result.rows} 行：新建 {result.created}、修改 {result.updated}、"
                        f"未变 {result.unchanged}"))
        return result

    @get("/{quota_id:int}", opt={"action": "read"})
    async def get_quota(self, db: Database, quota_id: IdParam) -> QuotaRead:
        """One quota."""
        async with db.read() as session:
            return await quotas.quota_read(session, quota_id)

    @patch("/{quota_id:int}", opt={"action": "quotas.write"})
    async def update_quota(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                           quota_id: IdParam, data: QuotaUpdate,
                           idempotency_key: IdempotencyKey = None) -> Response[QuotaRead]:
        """Change a quota's minimum, warning margin, season (``null`` removes it) or note."""

        async def work(session: AsyncSession) -> QuotaRead:
            return await quotas.quota_read(session, (await quotas.update_quota(session, quota_id, data, principal)).id)

        return await run_write(request, db, principal, work, status_code=200)

    @delete("/{quota_id:int}", opt={"action": "quotas.write"}, status_code=200)
    async def delete_quota(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                           quota_id: IdParam, idempotency_key: IdempotencyKey = None) -> Response[QuotaRead]:
        """Remove a quota; answers with what it was."""

        async def work(session: AsyncSession) -> QuotaRead:
            return await quotas.delete_quota(session, quota_id, principal)

        return await run_write(request, db, principal, work, status_code=200)
