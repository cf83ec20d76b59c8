"""Server-rendered phone pages, one module per area: sign-in, home, scan, write-offs (shared parts in ``common``).

Pages use the session cookie, not a bearer token: each route is marked ``PAGE`` (public to the token
middleware and the permission guard) and reads its user with ``common.page_principal``. ``PAGE_HANDLERS``
is every page route, for the application's route table; a new area adds its module's ``HANDLERS`` here.
"""

from __future__ import annotations

from api.pages import (
    agreements,
    alerts,
    availability,
    home,
    incidents,
    leases,
    plan,
    plans,
    quotas,
    readiness,
    relief,
    reports,
    requests,
    risk_points,
    scan,
    sign_in,
    station,
    write_offs,
)
from api.pages import map as map_pages
from api.pages.common import PAGE

__all__ = ["PAGE", "PAGE_HANDLERS"]

PAGE_HANDLERS = [*sign_in.HANDLERS, *home.HANDLERS, *scan.HANDLERS, *write_offs.HANDLERS, *availability.HANDLERS,
                 *map_pages.HANDLERS, *incidents.HANDLERS, *reports.HANDLERS,
                 *leases.HANDLERS, *agreements.HANDLERS, *quotas.HANDLERS, *readiness.HANDLERS,
                 *alerts.HANDLERS, *plans.HANDLERS, *plan.HANDLERS, *risk_points.HANDLERS, *station.HANDLERS,
                 *relief.HANDLERS, *requests.HANDLERS]
