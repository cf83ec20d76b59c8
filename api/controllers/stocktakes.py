"""Stocktakes (盘点): counting sheet out, counts in, variance, approval; opening balances import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.stocktake_sheets import UploadedSheet, attach_error_copy, counting_workbook, read_upload, variance_workbook
from api.writes import run_write
from importers.count_sheet import SheetTooLarge, SheetUnreadable
from inventory.access.audit import AuditRecord, record
from inventory.access.scope import Principal, require_scope
from inventory.errors import InvalidInput, NotFound
from inventory.places.locations import get_location_by_code
from inventory.schemas import Page
from inventory.stocktake import counting, differences, uploads
from inventory.stocktake.opening_balances import import_opening_balances
from inventory.stocktake.schemas import ApproveRequest, ImportResult, StocktakeCreate, StocktakeRead, Variance
from inventory.store.db import Database
from inventory.store.models import Stocktake, StocktakeUpload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 64 * 1024 * 1024


@dataclass
class SheetUpload:
    """A counted sheet (.xlsx) as a multipart file field named ``file``."""

    file: UploadFile


@dataclass
class OpeningUpload:
    """An opening-balance sheet and the code of the location it belongs to."""

    file: UploadFile
    location: str


async def read_sheet(upload: UploadFile) -> UploadedSheet:
    """Check and parse an uploaded workbook off the event loop; an unreadable or oversized file is a 422 on ``file``."""
    raw = await upload.read()
    try:
        return await read_upload(raw)
    except SheetTooLarge as exc:
        raise InvalidInput(str(exc), field="file", extra={"part": exc.part, "limit": exc.limit}) from exc
    except SheetUnreadable as exc:
        raise InvalidInput(str(exc), field="file") from exc


async def rejected(db: Database, upload: StocktakeUpload, sheet: UploadedSheet) -> uploads.SheetRejected:
    """The 422 for a refused sheet: its errors (the first 1,000 and the count), and where its marked-up copy is."""
    copy = await attach_error_copy(db, upload, sheet)
    exc = uploads.refusal(upload)
    if copy is not None:
        exc.extra["error_copy_url"] = f"/api/v1/stocktakes/uploads/{upload.id}/errors.xlsx"
    return exc


def _audit(request: Request[Any, Any, Any], principal: Principal, target: str, ident: int, summary: str) -> AuditRecord:
    return AuditRecord(user_id=principal.user_id, username=principal.username, role=principal.role,
                       client_ip=request.client.host if request.client else "",
                       action=str(request.route_handler.opt.get("action", "")), method=request.method,
                       path=request.url.path, target_type=target, target_ids=str(ident), outcome="ok",
                       status_code=200, summary=summary)


class StocktakeController(Controller):
    """Quarterly stocktakes."""

    path = "/api/v1/stocktakes"
    tags = ["stocktakes"]

    @post("/", opt={"action": "stocktake.count"})
    async def create(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                     data: StocktakeCreate, idempotency_key: IdempotencyKey = None) -> Response[StocktakeRead]:
        """Open a stocktake and snapshot the book of the location and its bins."""

        async def work(session: AsyncSession) -> StocktakeRead:
            await require_scope(session, principal, data.location_id)
            st = await counting.create_stocktake(session, data, actor=principal.username)
            return await counting.stocktake_read(session, st)

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_stocktakes(self, db: Database, limit: Limit = 50, offset: Offset = 0,
                              location_id: OptionalId = None) -> Page[StocktakeRead]:
        """Stocktakes, newest first."""
        async with db.heavy_read() as session:
            stmt = select(Stocktake)
            if location_id is not None:
                stmt = stmt.where(Stocktake.location_id == location_id)
            rows = list(await session.scalars(stmt.order_by(Stocktake.id.desc())))
            items = [await counting.stocktake_read(session, st) for st in rows[offset:offset + limit]]
            return Page(items, len(rows), limit, offset)

    @get("/{stocktake_id:int}", opt={"action": "read"})
    async def get_one(self, db: Database, stocktake_id: IdParam) -> StocktakeRead:
        """One stocktake."""
        async with db.read() as session:
            return await counting.stocktake_read(session, await counting.get_stocktake(session, stocktake_id))

    @get("/{stocktake_id:int}/sheet.xlsx", opt={"action": "read"}, media_type=XLSX)
    async def sheet(self, db: Database, stocktake_id: IdParam) -> Response[bytes]:
        """The counting sheet to print or fill in (Excel, WPS or LibreOffice)."""
        async with db.heavy_read() as session:
            lines = await counting.counting_sheet(session, stocktake_id)
        data = await counting_workbook(lines)
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="stocktake-{stocktake_id}.xlsx"'})

    @post("/{stocktake_id:int}/counts", opt={"action": "stocktake.count"}, request_max_body_size=MAX_UPLOAD,
          status_code=200)
    async def counts(self, request: Request[Any, Any, Any], db: Database, principal: Principal, stocktake_id: IdParam,
                     data: Annotated[SheetUpload, Body(media_type=RequestEncodingType.MULTI_PART)]) -> ImportResult:
        """Import the counted sheet: refused as a whole with every error listed, or it replaces earlier counts."""
        uploaded = await read_sheet(data.file)
        sheet = uploaded.sheet
        async with db.write() as session:
            st = await counting.get_stocktake(session, stocktake_id)
            await require_scope(session, principal, st.location_id)
            upload = await counting.import_counts(session, stocktake_id, sheet, actor=principal.username)
            if upload.accepted:
                await record(session, _audit(request, principal, "stocktake", stocktake_id,
                                             f"导入盘点表 {len(sheet.rows)} 行"))
                read = await counting.stocktake_read(session, st)
        if not upload.accepted:
            raise await rejected(db, upload, uploaded)
        return ImportResult(upload.id, len(sheet.rows), len(sheet.rows) - sheet.not_counted, sheet.not_counted, read)

    @get("/uploads/{upload_id:int}/errors.xlsx", opt={"action": "read"}, media_type=XLSX)
    async def error_copy(self, db: Database, upload_id: IdParam) -> Response[bytes]:
        """A refused sheet with an error column and the bad cells highlighted."""
        async with db.heavy_read() as session:
            upload = await session.get(StocktakeUpload, upload_id)
        if upload is None or upload.error_copy is None:
            kept = uploads.COPY_RETENTION.days
            raise NotFound(f"上传记录 {upload_id} 没有可下载的错误标注表（过大的表不生成标注表，标注表保留 {kept} 天）")
        return Response(upload.error_copy, media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="errors-{upload_id}.xlsx"'})

    @get("/{stocktake_id:int}/variance", opt={"action": "read"})
    async def variance(self, db: Database, stocktake_id: IdParam) -> Variance:
        """Book, counted, difference and reason per line, with totals; uncounted lines listed apart."""
        async with db.heavy_read() as session:
            return await differences.variance(session, stocktake_id)

    @get("/{stocktake_id:int}/variance.xlsx", opt={"action": "read"}, media_type=XLSX)
    async def variance_xlsx(self, db: Database, stocktake_id: IdParam) -> Response[bytes]:
        """The variance report as Excel."""
        async with db.heavy_read() as session:
            report = await differences.variance_sheet(session, stocktake_id)
        data = await variance_workbook(report)
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="variance-{stocktake_id}.xlsx"'})

    @post("/{stocktake_id:int}/approve", opt={"action": "stocktake.approve"}, status_code=200)
    async def approve(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                      stocktake_id: IdParam, data: ApproveRequest | None = None,
                      idempotency_key: IdempotencyKey = None) -> Response[StocktakeRead]:
        """Post the 盘盈/盘亏 adjustment and close (by someone other than the importer); twice is a no-op.

        Every difference needs a 差异原因: from the sheet, or in ``reasons`` (``[{line_id, reason}]``, the
        line ids of the variance); without them a 422 lists every line lacking one. The audit log records
        the approver as the one who entered these reasons.
        """
        reasons = data.reasons if data else []

        async def work(session: AsyncSession) -> StocktakeRead:
            st = await differences.approve(session, stocktake_id, actor=principal.username, reasons=reasons)
            if reasons:
                entered = "；".join(f"行 {r.line_id}「{r.reason.strip()}」" for r in reasons)
                await record(session, _audit(request, principal, "stocktake", stocktake_id,
                                             f"审批人填写差异原因 {len(reasons)} 行：{entered}"))
            return await counting.stocktake_read(session, st)

        return await run_write(request, db, principal, work, status_code=200)


class ImportController(Controller):
    """Imports from Excel."""

    path = "/api/v1/imports"
    tags = ["stocktakes"]

    @post("/opening-balances", opt={"action": "imports.opening"}, request_max_body_size=MAX_UPLOAD,
          status_code=201)
    async def opening_balances(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: Annotated[OpeningUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportResult:
        """A new depot's existing stock, in the counting-sheet format, posted as receipt documents."""
        uploaded = await read_sheet(data.file)
        sheet = uploaded.sheet
        async with db.write() as session:
            location = await get_location_by_code(session, data.location)
            await require_scope(session, principal, location.id)
            upload, docs = await import_opening_balances(session, location.id, sheet, actor=principal.username)
            if upload.accepted:
                await record(session, _audit(request, principal, "location", location.id,
                                             f"期初库存导入 {len(sheet.rows)} 行"))
        if not upload.accepted:
            raise await rejected(db, upload, uploaded)
        return ImportResult(upload.id, len(sheet.rows), len(sheet.rows), 0, None, docs[0].id if docs else None)
