"""The demo incident's relief (救灾物资发放): tents and quilts sent from the 南昌县 depot to the scene, then handed to
households of two villages of 蒋巷镇 in two rounds, so the relief page, its totals and the registers show something.

Everything goes through the ordinary services: a transfer from the depot received at the staging place
(post_document, receive_transfer), then :func:`inventory.relief.service.distribute` as the demo keeper — so the
ledger, the duplicate rule and the ID numbers (only the last four and a salted hash kept) are what the page makes.
One household gets a second quilt in round 1 with a reason, as the duplicate rule allows.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.demo.response import DEPOT, INCIDENT_NAME, KEEPER
from inventory.relief.ids import check_character
from inventory.relief.schemas import DistributionCreate, DistributionLineIn, HouseholdIn
from inventory.relief.service import distribute
from inventory.stock.ledger import post_document
from inventory.stock.schemas import MovementCreate, MovementLine, TransferReceive
from inventory.stock.transfers import receive_transfer
from inventory.store.models import Distribution, Incident, ItemType, Location

SENT = (("TENT-12", 10), ("BED-QUILT", 40))  # sent to the scene before handing out
# (head of household, birth date, sequence, village, household size)
HOUSEHOLDS = (
    ("熊建华", "19650312", 211, "蒋巷村", 5), ("万桂兰", "19480807", 122, "蒋巷村", 2),
    ("涂长生", "19720119", 315, "蒋巷村", 4), ("邓秀英", "19800924", 146, "联圩村", 3),
    ("胡德明", "19581102", 233, "联圩村", 6), ("余春梅", "19910415", 168, "联圩村", 1),
)
# (household index, round, items, reason for handing out again)
HANDED_OUT: tuple[tuple[int, int, tuple[tuple[str, int], ...], str], ...] = (
    (0, 1, (("TENT-12", 1), ("BED-QUILT", 3)), ""), (1, 1, (("BED-QUILT", 2),), ""),
    (2, 1, (("TENT-12", 1), ("BED-QUILT", 2)), ""), (3, 1, (("BED-QUILT", 2),), ""),
    (4, 1, (("TENT-12", 1), ("BED-QUILT", 4)), ""), (5, 1, (("BED-QUILT", 1),), ""),
    (1, 1, (("BED-QUILT", 1),), "老人受凉，补发一床"),
    (0, 2, (("BED-QUILT", 1),), ""), (4, 2, (("BED-QUILT", 2),), ""),
)
TOWNSHIP = "360121105"  # 蒋巷镇


def demo_id_number(birth: str, seq: int) -> str:
    """A made-up resident ID number of 南昌县 with a valid check character (never stored whole)."""
    first17 = f"360121{birth}{seq:03d}"
    return first17 + check_character(first17)


async def ensure_demo_relief(session: AsyncSession) -> tuple[int, int]:
    """Send relief goods to the demo incident and hand them out, unless done before; (distributions made, found)."""
    incident = await session.scalar(select(Incident).where(Incident.name == INCIDENT_NAME))
    if incident is None:
        return 0, 0
    found = int(await session.scalar(select(func.count()).select_from(Distribution)
                                     .where(Distribution.incident_id == incident.id)) or 0)
    if found:
        return 0, found
    depot = await session.scalar(select(Location.id).where(Location.code == DEPOT))
    items = dict((await session.execute(select(ItemType.code, ItemType.id).where(
        ItemType.code.in_([code for code, _ in SENT])))).all())
    if depot is None or len(items) < len(SENT):
        return 0, 0
    sent = await post_document(session, MovementCreate(
        kind="transfer", location_id=depot, to_location_id=incident.location_id,
        reason=f"救灾物资调往事件现场（{incident.name}）", reference=f"RELIEF-{incident.id}",
        lines=[MovementLine(item_type_id=items[code], quantity=n) for code, n in SENT]), actor=KEEPER.username)
    await receive_transfer(session, sent.id, TransferReceive(), actor=KEEPER.username)
    for index, round_no, lines, reason in HANDED_OUT:
        name, birth, seq, village, size = HOUSEHOLDS[index]
        await distribute(session, incident.id, DistributionCreate(
            household=HouseholdIn(head_name=name, id_number=demo_id_number(birth, seq), village=village, size=size,
                                  township_code=TOWNSHIP),
            lines=[DistributionLineIn(item_type=code, quantity=n) for code, n in lines], round=round_no,
            reason=reason), KEEPER)
    return len(HANDED_OUT), 0
