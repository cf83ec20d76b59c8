"""Risk points (风险隐患点): registered one by one, or imported from the 风险隐患点 list (.xlsx), and listed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import REPLAYED, run_write, write_once
from importers.risk_point_template import RiskTemplateRow, write_risk_point_template
from importers.risk_points import ParsedRiskSheet, SheetTooLarge, SheetUnreadable, parse_risk_point_sheet
from inventory.access.scope import Principal
from inventory.errors import InvalidInput
from inventory.plans import risk_points
from inventory.plans.schemas import (
    RiskKind,
    RiskPointCreate,
    RiskPointImportResult,
    RiskPointRead,
    RiskPointUpdate,
    RiskSheetNeed,
    RiskSheetProblem,
    RiskSheetRow,
)
from inventory.schemas import Page
from inventory.store import idempotency
from inventory.store.db import Database

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 16 * 1024 * 1024
Region = Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="行政区划代码（前缀），如 3601")]
Text = Annotated[str | None, Parameter(max_length=50, description="编号或名称中的文字")]


@dataclass
class RiskPointUpload:
    """The 风险隐患点 list (.xlsx) as a multipart file field named ``file``."""

    file: UploadFile


def domain_rows(parsed: ParsedRiskSheet) -> tuple[list[RiskSheetRow], list[RiskSheetProblem]]:
    rows = [RiskSheetRow(row=r.row, code=r.code, name=r.name, kind=r.kind, region_code=r.region_code, lat=r.lat,
                         lon=r.lon, crs=r.crs, weight=r.weight, note=r.note,
                         needs=tuple(RiskSheetNeed(n.item_code, n.quantity, n.column) for n in r.needs))
            for r in parsed.rows]
    problems = [RiskSheetProblem(e.row, e.column, "" if e.value is None else str(e.value), e.message)
                for e in parsed.errors]
    return rows, problems


async def read_risk_sheet(raw: bytes, catalogue: list[tuple[str, str]]) -> ParsedRiskSheet:
    """Parse an uploaded list in a worker thread; an unreadable or oversized file is a 422 on ``file``."""
    try:
        return await asyncio.to_thread(parse_risk_point_sheet, raw, catalogue)
    except SheetTooLarge as exc:
        raise InvalidInput(str(exc), field="file", extra={"part": exc.part, "limit": exc.limit}) from exc
    except SheetUnreadable as exc:
        raise InvalidInput(str(exc), field="file") from exc


def template_rows(points: Sequence[RiskPointRead], catalogue: list[tuple[str, str]]) -> list[RiskTemplateRow]:
    """The points as rows of the list; a need is written by its item's name, or its code when names repeat."""
    names = Counter(name for _, name in catalogue)
    return [RiskTemplateRow(
        code=p.code, name=p.name, kind_zh=p.kind_zh, region_code=p.region_code, lat=p.lat, lon=p.lon, weight=p.weight,
        needs="；".join(f"{n.item_name if names[n.item_name] == 1 else n.item_code}×{n.quantity}" for n in p.needs),
        note=p.note) for p in points]


class RiskPointController(Controller):
    """Places at risk in a flood, their weight and what each would need: the optimiser's demand points."""

    path = "/api/v1/risk-points"
    tags = ["plans"]

    @post("/", opt={"action": "risk_points.write"})
    async def create_risk_point(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                                data: RiskPointCreate,
                                idempotency_key: IdempotencyKey = None) -> Response[RiskPointRead]:
        """Register a risk point of a region in your scope (coordinates in wgs84, gcj02 or bd09; stored as WGS-84)."""

        async def work(session: AsyncSession) -> RiskPointRead:
            rp = await risk_points.create_risk_point(session, data, principal)
            return await risk_points.risk_point_read(session, rp)

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_risk_points(self, db: Database, limit: Limit = 50, offset: Offset = 0, region: Region = None,
                               kind: RiskKind | None = None, item_type_id: OptionalId = None,
                               q: Text = None) -> Page[RiskPointRead]:
        """Risk points by region code and code; by region (prefix), kind, an item type needed, code or name."""
        async with db.heavy_read() as session:
            return await risk_points.list_risk_points(session, region_code=region, kind=kind,
                                                      item_type_id=item_type_id, q=q, limit=limit, offset=offset)

    @get("/template", opt={"action": "read"}, media_type=XLSX)
    async def template(self, db: Database, region: Region = None) -> Response[bytes]:
        """The 风险隐患点 list to fill in (Excel, WPS): an example row; with ``region``, the points there now."""
        rows: list[RiskTemplateRow] = []
        if region:
            async with db.heavy_read() as session:
                points = await risk_points.risk_points_for_sheet(session, region)
                rows = template_rows(points, await risk_points.item_catalogue(session))
        data = await asyncio.to_thread(write_risk_point_template, rows)
        name = f"risk-points-{region}.xlsx" if region else "risk-points-template.xlsx"
        return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @post("/import", opt={"action": "risk_points.write"}, request_max_body_size=MAX_UPLOAD, status_code=200)
    async def import_sheet(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: Annotated[RiskPointUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RiskPointImportResult]:
        """Import the 风险隐患点 list: refused whole with every bad cell listed (row, column), or applied whole.

        Columns 编号, 名称, 类型, 行政区划代码, 纬度, 经度 (required), 坐标系, 权重 (受威胁人数), 备注, and needs:
        a 需求 column ("抽水泵×2；沙袋×500") and/or one column per item type headed by its code or name. A row
        creates the point of its 编号 or replaces it (its needs too); points not in the list stay. The same list
        twice changes nothing.
        """
        raw = await data.file.read()
        async with db.read() as session:
            catalogue = await risk_points.item_catalogue(session)
        parsed = await read_risk_sheet(raw, catalogue)
        rows, problems = domain_rows(parsed)

        async def work(session: AsyncSession) -> RiskPointImportResult:
            return await risk_points.import_risk_points(session, rows, principal, problems=problems,
                                                        problems_omitted=parsed.errors_omitted)

        key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
        written = await write_once(request, db, principal, work, key=key, fingerprint_body=raw, status_code=200)
        if written.replayed:
            return Response(msgspec.Raw(written.body), media_type="application/json",  # type: ignore[arg-type]
                            headers={REPLAYED: "true"})
        return Response(written.result, status_code=200)  # type: ignore[arg-type]

    @get("/{risk_point_id:int}", opt={"action": "read"})
    async def get_risk_point(self, db: Database, risk_point_id: IdParam) -> RiskPointRead:
        """One risk point with its needs."""
        async with db.read() as session:
            return await risk_points.risk_point_read(session, await risk_points.get_risk_point(session, risk_point_id))

    @patch("/{risk_point_id:int}", opt={"action": "risk_points.write"})
    async def update_risk_point(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                                risk_point_id: IdParam, data: RiskPointUpdate,
                                idempotency_key: IdempotencyKey = None) -> Response[RiskPointRead]:
        """Change a risk point; ``needs``, when given, replaces all its needs."""

        async def work(session: AsyncSession) -> RiskPointRead:
            rp = await risk_points.update_risk_point(session, risk_point_id, data, principal)
            return await risk_points.risk_point_read(session, rp)

        return await run_write(request, db, principal, work, status_code=200)

    @delete("/{risk_point_id:int}", opt={"action": "risk_points.write"}, status_code=200)
    async def delete_risk_point(self, request: Request[Any, Any, Any], db: Database, principal: Principal,
                                risk_point_id: IdParam,
                                idempotency_key: IdempotencyKey = None) -> Response[RiskPointRead]:
        """Remove a risk point with its needs; answers with what it was."""

        async def work(session: AsyncSession) -> RiskPointRead:
            read = await risk_points.risk_point_read(session, await risk_points.get_risk_point(session, risk_point_id))
            await risk_points.delete_risk_point(session, risk_point_id, principal)
            return read

        return await run_write(request, db, principal, work, status_code=200)
