"""The home page: the user's open alerts first; the dispatch orders waiting for a keeper (出库 at his places,
签收 at his incidents); a keeper's places and recent movements; for commanders, the requests between units waiting
(物资调用申请) and available equipment per county."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, login_redirect, page_context, page_principal
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.alerts.queries import list_alerts, principal_viewer
from inventory.response.field import waiting_orders
from inventory.scan.resolve import _recent
from inventory.store.db import Database
from inventory.store.models import Asset, ItemType, Location, Region
from inventory.supply_requests.service import request_counts


async def _my_locations(session: AsyncSession, principal: Principal, limit: int = 200) -> list[Location]:
    stmt = select(Location).where(Location.active.is_(True)).order_by(Location.kind != "depot", Location.code)
    if principal.role != "admin":
        conditions = [Location.region_code.startswith(r) for r in principal.scope_regions]
        conditions += [Location.path.contains(f"/{i}/") for i in principal.scope_locations]
        if not conditions:
            return []
        stmt = stmt.where(or_(*conditions))
    return list(await session.scalars(stmt.limit(limit)))


HOME_ALERTS = 8  # open alerts listed on the home page; the rest on /alerts
HOME_ORDERS = 5  # dispatch orders waiting for the keeper, listed on the home page; all of them on /dispatches
HOME_ORDER_LINES = 4  # of each, the keeper's own lines shown


@get("/", opt=PAGE, include_in_schema=False)
async def home(request: Request[Any, Any, Any], db: Database) -> Template | Redirect:
    """The user's open alerts first; a keeper's places and recent movements; for commanders, equipment per county."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect("/")
    categories = [("pump", "排涝泵"), ("generator", "发电机"), ("boat", "舟艇"), ("drone", "无人机")]
    async with db.heavy_read() as session:
        alerts = await list_alerts(session, principal_viewer(principal), status="open", limit=HOME_ALERTS)
        locations = await _my_locations(session, principal, 60)
        ids = [loc.id for loc in locations]
        recent = await _recent(session, Location.id.in_(ids), limit=10) if ids else []
        waiting = await waiting_orders(session, principal, HOME_ORDERS + 1) \
            if allowed("dispatch.execute", principal.role) else None
        # 物资调用申请 waiting for the user's answer and his units' waiting for others' (who may answer them)
        requests = await request_counts(session, principal) if allowed("requests.answer", principal.role) \
            else None
        availability = []
        if principal.role in ("commander", "admin", "auditor"):
            prefix = next(iter(principal.scope_regions), "3601")[:4]
            counties = {r.code: r.name for r in await session.scalars(
                select(Region).where(Region.parent_code == prefix).order_by(Region.code))}
            # One expression object in SELECT and GROUP BY (the same binds), or PostgreSQL refuses the grouping.
            county_of = func.substr(Location.region_code, 1, 6)
            rows = (await session.execute(
                select(county_of, ItemType.category, func.count())
                .select_from(Asset).join(Location, Location.id == Asset.location_id)
                .join(ItemType, ItemType.id == Asset.item_type_id)
                .where(Asset.status == "available", Asset.readiness != "fault",
                       Location.region_code.startswith(prefix))
                .group_by(county_of, ItemType.category))).all()
            counts: dict[str, dict[str, int]] = {code: {} for code in counties}
            for county, category, n in rows:
                if county in counts:
                    counts[county][category] = int(n)
            availability = [{"name": counties[c], "counts": counts[c]} for c in counties]
    scope_text = "、".join(principal.scope_regions) if principal.scope_regions else ""
    return Template("home.html", context=page_context(
        principal, alerts=alerts.items, alerts_total=alerts.total, locations=locations, recent=recent,
        availability=availability, categories=categories,
        requests=requests, requests_open=requests.incoming_open if requests else None,
        scope_text=scope_text, waiting=None if waiting is None else waiting[:HOME_ORDERS],
        waiting_more=waiting is not None and len(waiting) > HOME_ORDERS, order_lines_shown=HOME_ORDER_LINES))


HANDLERS = [home]
