"""The reserve-quota page (储备定额): each quota of a region beside what is available, worst first.

A commander (or anyone signed in: reading is open) sees below-quota and warning rows first, with the minimum in
force today (the flood-season minimum during 汛期), the shortfall and counts per level; filters region, level,
category and item code. Quotas themselves are set over the API or imported from the reserve catalogue
(``POST /api/v1/quotas/import``; the template is ``GET /api/v1/quotas/template``).
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

from litestar import Request, get
from litestar.response import Redirect, Template

from api.pages.common import PAGE, login_redirect, page_context, page_principal, pager_urls
from inventory.clock import beijing_today
from inventory.errors import InvalidInput
from inventory.quotas.rules import LEVEL_ZH, LEVELS, Level
from inventory.quotas.status import quota_status
from inventory.store.db import Database

PATH: Final = "/quotas"
PAGE_SIZE: Final = 100
LEVEL_BADGE: Final = {"below": "overdue", "warning": "due", "ok": "st-open"}
_REGION = re.compile(r"[0-9]{2,12}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")


@get(PATH, opt=PAGE, include_in_schema=False)
async def quotas_page(request: Request[Any, Any, Any], db: Database, region: str = "", level: str = "",
                      category: str = "", item: str = "", offset: int = 0) -> Template | Redirect:
    """Quota status of a region (the user's first scope region by default), below quota first."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}?{query}" if query else PATH)
    region = region.strip() if _REGION.fullmatch(region.strip()) else ""
    if not region and not request.query_params.get("region") and principal.scope_regions:
        region = principal.scope_regions[0]
    shown = {"region": region, "level": level if level in LEVELS else "", "category": category.strip()[:40],
             "item": item.strip() if _CODE.fullmatch(item.strip()) else ""}
    offset = max(0, min(offset, 10_000_000))
    error = None
    async with db.heavy_read() as session:  # quota status sums the region's stock: off the event loop
        try:
            page = await quota_status(session, region=region or None, item_type=shown["item"] or None,
                                      category=shown["category"] or None,
                                      level=cast("Level | None", shown["level"] or None), limit=PAGE_SIZE,
                                      offset=offset, today=beijing_today())
        except InvalidInput as exc:
            error = exc.detail
            page = await quota_status(session, limit=0, today=beijing_today())
    prev_url, next_url = pager_urls(PATH, shown, offset, PAGE_SIZE, page.total)
    return Template("quotas.html", status_code=422 if error else 200, context=page_context(
        principal, page=page, rows=page.items, filter=shown, offset=offset, error=error, level_zh=LEVEL_ZH,
        level_badge=LEVEL_BADGE, prev_url=prev_url, next_url=next_url))


HANDLERS = [quotas_page]
