"""The alerts page (告警): what the signed-in user may see, open first, with filters and 确认 (acknowledge).

Each 确认 form carries its CSRF token and an idempotency key made when the page was rendered, so a double
tap or a resend after a network failure acknowledges once. No script.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, form_already_done, login_redirect, page_context, page_principal, pager_urls
from api.writes import write_once
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.alerts import queries
from inventory.alerts.kinds import KINDS, audience_kinds
from inventory.alerts.schemas import STATUS_ZH, AlertRead
from inventory.errors import Conflict, InventoryError, NotFound, PermissionDenied
from inventory.schemas import MAX_ID
from inventory.store.db import Database

PATH = "/alerts"
PAGE_SIZE = 50


def _filters(status: str, kind: str, region: str) -> dict[str, str]:
    """The filters as given, each dropped when it is not one the page offers."""
    region = region.strip()
    return {"status": status if status in STATUS_ZH or status == "all" else "open",
            "kind": kind if kind in KINDS else "",
            "region": region if region.isascii() and region.isdigit() and 2 <= len(region) <= 12 else ""}


async def _render(db: Database, principal: Principal, query: dict[str, str], offset: int, *,
                  done: str | None = None, error: str | None = None, status_code: int = 200) -> Template:
    status = query["status"]
    async with db.heavy_read() as session:
        page = await queries.list_alerts(
            session, queries.principal_viewer(principal), status=None if status == "all" else status,  # type: ignore[arg-type]
            kind=query["kind"] or None, region=query["region"] or None, limit=PAGE_SIZE, offset=offset)
    here = f"{PATH}?{urlencode({**query, 'offset': offset})}"
    prev_url, next_url = pager_urls(PATH, query, offset, PAGE_SIZE, page.total)
    may_ack = allowed("alerts.ack", principal.role)
    kinds = {name: k.zh for name, k in KINDS.items() if name in audience_kinds(principal.role)}
    return Template("alerts.html", status_code=status_code, context=page_context(
        principal, rows=page.items, total=page.total, filter=query, offset=offset, kinds=kinds,
        status_zh=STATUS_ZH, may_ack=may_ack, keys={a.id: uuid.uuid4().hex for a in page.items}, here=here,
        prev_url=prev_url, next_url=next_url, done=done, error=error))


@get(PATH, opt=PAGE, include_in_schema=False)
async def alerts_page(
    request: Request[Any, Any, Any], db: Database, status: str = "open", kind: str = "", region: str = "",
    offset: int = 0, done: str | None = None,
) -> Template | Redirect:
    """Alerts the user may see (their role's kinds, in their scope), open first, serious first."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    return await _render(db, principal, _filters(status, kind, region), max(0, min(offset, 10_000_000)),
                         done="告警已确认" if done == "ack" else None)


def _back(form: dict[str, list[str]]) -> str:
    """Where to go after the form: the list it was posted from (only ever a path of this page)."""
    back = (form.get("back") or [""])[0]
    return back if back.startswith(f"{PATH}?") and "//" not in back else PATH


@post(f"{PATH}/{{alert_id:int}}/ack", opt=PAGE, include_in_schema=False, status_code=303)
async def ack_from_page(request: Request[Any, Any, Any], db: Database, alert_id: int) -> Response[Any]:
    """Acknowledge one alert from the page (once per form), then back to the list."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    query = _filters("open", "", "")
    if not 1 <= alert_id <= MAX_ID:
        return await _render(db, principal, query, 0, error=f"告警 id={alert_id} 不存在", status_code=404)
    if not allowed("alerts.ack", principal.role):
        return await _render(db, principal, query, 0, error="您的角色无权确认告警", status_code=403)
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    back = _back(form)
    done = f"{back}{'&' if '?' in back else '?'}done=ack"
    key = (form.get("idempotency_key") or [""])[0] or None
    if key and await form_already_done(db, principal, request.url.path, key, body):
        return Redirect(done, status_code=303)

    async def work(session: AsyncSession) -> AlertRead:
        return await queries.acknowledge(session, alert_id, principal)

    try:
        await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        code = (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
                else 409 if isinstance(exc, Conflict) else 422)
        return await _render(db, principal, query, 0, error=exc.detail, status_code=code)
    return Redirect(done, status_code=303)


HANDLERS = [alerts_page, ack_from_page]
