"""The readiness page (战备完好): units of a region by state per category and county, those not ready first.

What a commander checks before the flood season: how many pumps and generators really start, and which do not
and why (a fault, a check overdue, away for repair). Filters region, category and state; each unit links to its
scan page, where the keeper records checks. Plans, checks and repairs are written over the API or the phone.
"""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request, get
from litestar.response import Redirect, Template

from api.pages.common import PAGE, login_redirect, page_context, page_principal, pager_urls
from inventory.catalog.rules import CATEGORY_LABELS_ZH
from inventory.clock import beijing_today
from inventory.errors import InventoryError
from inventory.readiness.report import readiness_report
from inventory.readiness.rules import NOT_READY, STATES
from inventory.readiness.schemas import STATE_ZH
from inventory.store.db import Database

PATH: Final = "/readiness"
PAGE_SIZE: Final = 100
_REGION = re.compile(r"[0-9]{2,12}")
_CATEGORY = re.compile(r"[a-z_]{1,40}")


@get(PATH, opt=PAGE, include_in_schema=False)
async def readiness_page(request: Request[Any, Any, Any], db: Database, region: str = "", category: str = "",
                         show: str = "", offset: int = 0) -> Template | Redirect:
    """Readiness of a region (the user's first scope region, else 南昌市 3601): counts and units not ready."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}?{query}" if query else PATH)
    region = region.strip() if _REGION.fullmatch(region.strip()) else ""
    region = region or (principal.scope_regions[0] if principal.scope_regions else "3601")
    shown = {"region": region, "category": category.strip() if _CATEGORY.fullmatch(category.strip()) else "",
             "show": show if show in STATES else ""}
    offset = max(0, min(offset, 10_000_000))
    states = [shown["show"]] if shown["show"] else list(NOT_READY)
    error = None
    report = None
    async with db.heavy_read() as session:  # a report over the region's units: off the event loop
        try:
            report = await readiness_report(session, region=region, category=shown["category"] or None,
                                            states=states, limit=PAGE_SIZE, offset=offset, today=beijing_today())
        except InventoryError as exc:
            error = exc.detail
    prev_url, next_url = pager_urls(PATH, shown, offset, PAGE_SIZE, report.listed if report else 0)
    return Template("readiness.html", status_code=422 if error else 200, context=page_context(
        principal, report=report, filter=shown, offset=offset, error=error, state_zh=STATE_ZH, states=STATES,
        category_zh=CATEGORY_LABELS_ZH,
        prev_url=prev_url, next_url=next_url))


HANDLERS = [readiness_page]
