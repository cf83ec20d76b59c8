"""The demo's open incident: a levee piping in 南昌县蒋巷镇 with two dispatch orders, so the incident and order pages
and the map have something to show.

- an order approved in writing, from the 南昌县 depot, executed by the demo keeper (stock in transit to the scene);
- an order approved orally, reserved at the nearest sources, its written paperwork due within 48 hours.

Both go through the ordinary services (create_incident, create_dispatch, execute_dispatch), so the ledger,
the reservations and the in-transit stock are exactly what the API would have made.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.clock import beijing_today
from inventory.response.dispatch import create_dispatch, execute_dispatch
from inventory.response.incidents import create_incident
from inventory.response.schemas import Approval, DispatchCreate, DispatchLineRequest, ExecuteRequest, IncidentCreate
from inventory.store.models import Asset, Incident, ItemType, Location

INCIDENT_NAME = "南昌县蒋巷镇赣江南支圩堤管涌险情"
TOWNSHIP = "360121105000"  # 蒋巷镇
SPOT = (28.594, 116.041)  # WGS-84, the 赣江南支 levee by 蒋巷镇 (inside 南昌县 on the shipped boundaries)
DEPOT = "D-360121"
COMMANDER = "demo-commander"
KEEPER = Principal(user_id=0, username="demo-keeper", display_name="南昌县储备库保管员", role="keeper",
                   scope_regions=("360121",), scope_locations=(), token_id=0)
EXECUTED_LINES = (("FLOOD-BAG-WOVEN", 3000), ("RESC-LIFEJACKET", 100))
BOATS = ("BOAT-RUB-6", "BOAT-ASL-12")  # one ready boat from the depot goes with the first order, if there is one
RESERVED_LINES = (("FLOOD-BAG-SAND", 800), ("WATER-550", 40), ("TENT-12", 6))


async def _ready_boat(session: AsyncSession, depot_id: int, today: dt.date) -> str | None:
    """The code of the first boat type with a unit ready to go at the depot (inspection not overdue, no fault)."""
    for code in BOATS:
        found = await session.scalar(
            select(Asset.id).join(ItemType, ItemType.id == Asset.item_type_id)
            .where(ItemType.code == code, Asset.location_id == depot_id, Asset.status == "available",
                   Asset.readiness != "fault",
                   or_(Asset.next_inspection_due.is_(None), Asset.next_inspection_due >= today)).limit(1))
        if found is not None:
            return code
    return None


async def ensure_demo_response(session: AsyncSession) -> tuple[int, int]:
    """Open the demo incident with its two orders unless the demo made it before; (incidents created, skipped)."""
    if await session.scalar(select(Incident.id).where(Incident.name == INCIDENT_NAME)):
        return 0, 1
    depot = await session.scalar(select(Location).where(Location.code == DEPOT))
    if depot is None or depot.lat is None or depot.lon is None:
        return 0, 0
    lat, lon = SPOT
    incident = await create_incident(session, IncidentCreate(
        name=INCIDENT_NAME, kind="flood", region_code=TOWNSHIP, lat=lat, lon=lon,
        crs="wgs84"), actor=COMMANDER)
    lines = [DispatchLineRequest(item_type=code, quantity=n, from_location_id=depot.id) for code, n in EXECUTED_LINES]
    boat = await _ready_boat(session, depot.id, beijing_today())
    if boat:
        lines.append(DispatchLineRequest(item_type=boat, quantity=1, from_location_id=depot.id))
    written = await create_dispatch(session, incident.id, DispatchCreate(lines=lines, approval=Approval(
        mode="written", approved_by="南昌县防汛抗旱指挥部", document_no=f"南昌县防指〔{beijing_today().year}〕12号")),
        actor=COMMANDER)
    await execute_dispatch(session, written.id, ExecuteRequest(), KEEPER)
    await create_dispatch(session, incident.id, DispatchCreate(
        lines=[DispatchLineRequest(item_type=code, quantity=n) for code, n in RESERVED_LINES],
        approval=Approval(mode="oral", approved_by="县防指常务副指挥长")), actor=COMMANDER)
    return 1, 0
