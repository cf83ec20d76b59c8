"""The demo's requests between units (物资调用申请) for the 蒋巷镇 levee incident.

南昌县 has used its own stock first (the demo's two orders); now it asks:

- the city (南昌市) for 橡皮艇 and 帐篷 — the city accepts from 新建区's depot (another county's stock), orally
  (先调用，后补办手续: paperwork due in 48 h), and 新建区's keeper executes the order (on the way);
- 新建区 for 棉被 — declined, with the reason;
- the city for a pump of at least 1,000 m³/h (by category) — still waiting for an answer.

Everything goes through the ordinary services, as the API would.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.demo.response import INCIDENT_NAME
from inventory.errors import InventoryError
from inventory.response.dispatch import execute_dispatch
from inventory.response.schemas import Approval, ExecuteRequest
from inventory.store.models import (
    Incident,
    Location,
    SupplyRequest,
    SupplyRequestAnswer,
    SupplyRequestLine,
    utcnow,
)
from inventory.supply_requests.schemas import (
    AcceptLine,
    RequestAccept,
    RequestCreate,
    RequestDecline,
    RequestLineCreate,
)
from inventory.supply_requests.service import accept_request, create_request, decline_request


def _commander(username: str, region: str) -> Principal:
    return Principal(user_id=0, username=username, display_name=username, role="commander",
                     scope_regions=(region,), scope_locations=(), token_id=0)


NANCHANG = _commander("demo-commander-nanchang", "360121")
XINJIAN = _commander("demo-commander-xinjian", "360112")
CITY = _commander("demo-commander", "3601")
XINJIAN_KEEPER = Principal(user_id=0, username="demo-keeper-xinjian", display_name="新建区储备库保管员", role="keeper",
                           scope_regions=("360112",), scope_locations=(), token_id=0)
LENDING_DEPOTS = ("D-360112", "NC-CITY-DEPOT")
"""Where the city gives the boats and tents from: 新建区's depot, else its own."""


def _request(incident: Incident, to_region: str, purpose: str, lines: list[RequestLineCreate],
             hours: int, transport: str) -> RequestCreate:
    return RequestCreate(
        incident_id=incident.id, to_region=to_region, purpose=purpose, lines=lines,
        needed_by=utcnow() + dt.timedelta(hours=hours), transport=transport,  # type: ignore[arg-type]
        contact_name="胡建华", contact_phone="13907091234", destination="蒋巷镇赣江南支圩堤现场收货点")


async def ensure_demo_requests(session: AsyncSession) -> tuple[int, int]:
    """Send, answer and execute the demo's three requests unless made before; (requests created, skipped)."""
    incident = await session.scalar(select(Incident).where(Incident.name == INCIDENT_NAME))
    if incident is None:
        return 0, 0
    made = list(await session.scalars(select(SupplyRequest.id).where(SupplyRequest.incident_id == incident.id)))
    if made:
        return 0, len(made)
    boats = await create_request(session, _request(
        incident, "3601", "蒋巷镇圩堤管涌抢险：转移堤内低洼村庄群众，县储备库橡皮艇、帐篷已全部动用",
        [RequestLineCreate(item_type="BOAT-RUB-6", quantity=2), RequestLineCreate(item_type="TENT-12", quantity=50)],
        6, "lender_delivery"), NANCHANG)
    lines = list(await session.scalars(select(SupplyRequestLine).where(SupplyRequestLine.request_id == boats.id)
                                       .order_by(SupplyRequestLine.id)))
    for code in LENDING_DEPOTS:
        depot = await session.scalar(select(Location.id).where(Location.code == code))
        if depot is None:
            continue
        try:
            async with session.begin_nested():
                await accept_request(session, boats.id, RequestAccept(
                    lines=[AcceptLine(line_id=ln.id, quantity=ln.quantity, from_location_id=depot) for ln in lines],
                    approval=Approval(mode="oral", approved_by="市防指副指挥长")), CITY)
        except InventoryError:
            continue  # not enough there: the next depot
        break
    answered = await session.scalar(select(SupplyRequest).where(SupplyRequest.id == boats.id))
    if answered is not None and answered.status == "answered":
        dispatch_id = await session.scalar(select(SupplyRequestAnswer.dispatch_id)
                                           .where(SupplyRequestAnswer.request_id == boats.id))
        if dispatch_id is not None:
            try:
                async with session.begin_nested():
                    await execute_dispatch(session, dispatch_id, ExecuteRequest(), XINJIAN_KEEPER)
            except InventoryError:
                pass  # given from the city's own depot: its keeper has not executed it yet
    quilts = await create_request(session, _request(
        incident, "360112", "安置点转移群众御寒", [RequestLineCreate(item_type="BED-QUILT", quantity=300)], 12,
        "requester_pickup"), NANCHANG)
    await decline_request(session, quilts.id, RequestDecline(
        reason="本区樵舍镇、昌邑乡同样受灾，棉被需留作本区转移安置群众使用，请向市局申请"), XINJIAN)
    await create_request(session, _request(
        incident, "3601", "蒋巷镇联圩内涝强排，县内大流量排涝设备不足",
        [RequestLineCreate(category="pump", attrs=["flow_m3h>=1000"], quantity=1)], 4, "lender_delivery"), NANCHANG)
    return 3, 0
