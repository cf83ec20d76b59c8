"""The risk points page (风险隐患点): the points of a region with what each would need, and the list upload.

Filters region, kind, an item type needed and code or name text. A commander (or admin) also gets the upload
form for the 风险隐患点 list (.xlsx, the same import as ``POST /api/v1/risk-points/import``: refused whole with
the bad cells named, or applied whole) and the list to fill in, with the region's points in it
(``/risk-points/template.xlsx``, a page route: it goes by the session cookie like the page).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.risk_points import XLSX, domain_rows, read_risk_sheet, template_rows
from api.page_text import for_people
from api.pages.common import PAGE, login_redirect, page_context, page_principal, pager_urls
from api.pages.plans import error_status, needed_item_types
from api.writes import write_once
from importers.risk_point_template import write_risk_point_template
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.errors import InventoryError
from inventory.plans import risk_points
from inventory.plans.schemas import RISK_KIND_ZH, RiskPointImportResult
from inventory.store.db import Database

PATH: Final = "/risk-points"
PAGE_SIZE: Final = 100
MAX_UPLOAD: Final = 16 * 1024 * 1024
DEFAULT_REGION: Final = "3601"
_REGION = re.compile(r"[0-9]{2,12}")


async def _render(db: Database, principal: Principal, *, region: str, kind: str = "", item: str = "", q: str = "",
                  offset: int = 0, done: str | None = None, error: str | None = None, status: int = 200) -> Template:
    async with db.read() as session:
        page = await risk_points.list_risk_points(session, region_code=region or None, kind=kind or None,
                                                  item_type_id=int(item) if item else None, q=q or None,
                                                  limit=PAGE_SIZE, offset=offset)
        items = await needed_item_types(session)
    shown = {"region": region, "kind": kind, "item": item, "q": q}
    prev_url, next_url = pager_urls(PATH, shown, offset, PAGE_SIZE, page.total)
    return Template("risk_points.html", status_code=status, context=page_context(
        principal, rows=page.items, total=page.total, filter=shown, offset=offset, kind_zh=RISK_KIND_ZH, items=items,
        may_import=allowed("risk_points.write", principal.role), key=uuid.uuid4().hex, done=done, error=error,
        prev_url=prev_url, next_url=next_url))


def _region(principal: Principal, asked: str) -> str:
    asked = asked.strip()
    if _REGION.fullmatch(asked):
        return asked
    return principal.scope_regions[0] if principal.scope_regions else DEFAULT_REGION


@get(PATH, opt=PAGE, include_in_schema=False)
async def risk_points_page(request: Request[Any, Any, Any], db: Database, region: str = "", kind: str = "",
                           item: str = "", q: str = "", offset: int = 0, done: str = "", created: int = 0,
                           updated: int = 0, unchanged: int = 0) -> Template | Redirect:
    """Risk points of a region (the user's first scope region, else 南昌市) with their needs."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}?{query}" if query else PATH)
    item = item.strip() if item.strip().isdigit() and len(item.strip()) <= 10 else ""
    shown_done = None
    if done == "import":
        shown_done = (f"风险隐患点清单已导入：新建 {created}、修改 {updated}、未变 {unchanged}" if created or updated
                      or unchanged else "该清单已导入过，未重复导入")
    return await _render(db, principal, region=_region(principal, region), kind=kind if kind in RISK_KIND_ZH else "",
                         item=item, q=q.strip()[:50], offset=max(0, min(offset, 10**7)), done=shown_done)


@get(f"{PATH}/template.xlsx", opt=PAGE, include_in_schema=False)
async def template_xlsx(request: Request[Any, Any, Any], db: Database, region: str = "") -> Response[Any]:
    """The 风险隐患点 list to fill in, with the points of ``region`` (else an example row)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    region = region.strip() if _REGION.fullmatch(region.strip()) else ""
    rows = []
    if region:
        async with db.heavy_read() as session:  # an export: off the event loop
            try:
                points = await risk_points.risk_points_for_sheet(session, region)
            except InventoryError as exc:
                return await _render(db, principal, region=region, error=for_people(exc.detail),
                                     status=error_status(exc))
            rows = template_rows(points, await risk_points.item_catalogue(session))
    data = await asyncio.to_thread(write_risk_point_template, rows)
    name = f"risk-points-{region}.xlsx" if region else "risk-points-template.xlsx"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@post(f"{PATH}/import", opt=PAGE, include_in_schema=False, status_code=303, request_max_body_size=MAX_UPLOAD)
async def import_from_page(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Import the uploaded list: all of it or none; the page shows what was done or every problem found."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    form = await request.form()
    region = _region(principal, str(form.get("region") or ""))
    if not allowed("risk_points.write", principal.role):
        return await _render(db, principal, region=region, error="您的角色无权导入风险隐患点", status=403)
    upload = next((f for f in form.getall("file") if isinstance(f, UploadFile)), None)
    raw = await upload.read() if upload is not None else b""
    if not raw:
        return await _render(db, principal, region=region, error="请选择要导入的风险隐患点清单（.xlsx）", status=422)
    key = str(form.get("idempotency_key") or "")[:100] or None
    try:
        async with db.read() as session:
            catalogue = await risk_points.item_catalogue(session)
        parsed = await read_risk_sheet(raw, catalogue)
        rows, problems = domain_rows(parsed)

        async def work(session: AsyncSession) -> RiskPointImportResult:
            return await risk_points.import_risk_points(session, rows, principal, problems=problems,
                                                        problems_omitted=parsed.errors_omitted)

        written = await write_once(request, db, principal, work, key=key, fingerprint_body=raw, status_code=200)
    except InventoryError as exc:
        return await _render(db, principal, region=region, error=for_people(exc.detail), status=error_status(exc))
    result = written.result or RiskPointImportResult(rows=0, created=0, updated=0, unchanged=0)  # None: a resend
    query = urlencode({"region": region, "done": "import", "created": result.created, "updated": result.updated,
                       "unchanged": result.unchanged})
    return Redirect(f"{PATH}?{query}", status_code=303)


HANDLERS = [risk_points_page, template_xlsx, import_from_page]
