"""Reading relief distributions: one or a page of them, totals per incident, item and village, the register's rows,
and what the staging place can hand out now."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import beijing_today
from inventory.errors import NotFound
from inventory.relief.schemas import (
    DistributionLineRead,
    DistributionRead,
    HouseholdRead,
    ItemTotal,
    ReliefTotals,
    VillageTotal,
)
from inventory.response.incidents import get_incident
from inventory.schemas import Page
from inventory.stock.documents import document_number
from inventory.store.models import (
    Balance,
    Distribution,
    DistributionLine,
    Document,
    Household,
    ItemType,
    Location,
    Lot,
    User,
)


async def distribution_reads(session: AsyncSession, distributions: list[Distribution]) -> list[DistributionRead]:
    """Distributions with their households, lines and issue documents (four queries, whatever the count)."""
    if not distributions:
        return []
    households = {h.id: h for h in await session.scalars(
        select(Household).where(Household.id.in_({d.household_id for d in distributions})))}
    docs = dict((await session.execute(select(Document.id, Document.created_at).where(
        Document.id.in_({d.document_id for d in distributions})))).all())
    lines: dict[int, list[DistributionLineRead]] = defaultdict(list)
    rows = await session.execute(
        select(DistributionLine.distribution_id, ItemType.id, ItemType.code, ItemType.name, ItemType.unit,
               DistributionLine.quantity)
        .join(ItemType, ItemType.id == DistributionLine.item_type_id)
        .where(DistributionLine.distribution_id.in_({d.id for d in distributions}))
        .order_by(DistributionLine.id))
    for dist_id, item_id, code, name, unit, quantity in rows.all():
        lines[dist_id].append(DistributionLineRead(item_id, code, name, unit, quantity))
    reads = []
    for d in distributions:
        h = households[d.household_id]
        reads.append(DistributionRead(
            id=d.id, incident_id=d.incident_id, round=d.round, village=d.village,
            household=HouseholdRead(h.id, h.head_name, h.id_last4, h.village, h.size, h.township_code, h.phone),
            location_id=d.location_id, document_id=d.document_id,
            document_number=document_number("issue", docs[d.document_id], d.document_id), lines=lines[d.id],
            reason=d.reason, created_by=d.created_by, created_at=d.created_at, occurred_at=d.occurred_at))
    return reads


async def distribution_read(session: AsyncSession, distribution: Distribution) -> DistributionRead:
    """One distribution as the API answers it."""
    return (await distribution_reads(session, [distribution]))[0]


async def get_distribution(session: AsyncSession, incident_id: int, distribution_id: int) -> DistributionRead:
    """One distribution of an incident, or NotFound."""
    found = await session.scalar(select(Distribution).where(Distribution.id == distribution_id,
                                                            Distribution.incident_id == incident_id))
    if found is None:
        raise NotFound(f"发放记录 id={distribution_id} 不存在")
    return await distribution_read(session, found)


async def list_distributions(session: AsyncSession, incident_id: int, *, village: str | None = None,
                             round: int | None = None, limit: int = 50, offset: int = 0) -> Page[DistributionRead]:
    """An incident's distributions, newest first, by village (exact) and round."""
    await get_incident(session, incident_id)
    stmt = select(Distribution).where(Distribution.incident_id == incident_id)
    if village:
        stmt = stmt.where(Distribution.village == village)
    if round is not None:
        stmt = stmt.where(Distribution.round == round)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(await session.scalars(stmt.order_by(Distribution.id.desc()).limit(limit).offset(offset)))
    return Page(await distribution_reads(session, rows), total, limit, offset)


async def relief_totals(session: AsyncSession, incident_id: int) -> ReliefTotals:
    """What an incident's relief handed out: households, people, distributions, per item and per village."""
    await get_incident(session, incident_id)
    mine = Distribution.incident_id == incident_id
    distributions = int(await session.scalar(select(func.count()).select_from(Distribution).where(mine)) or 0)
    reached = select(Distribution.household_id).where(mine).distinct().scalar_subquery()
    households, people = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Household.size), 0)).where(Household.id.in_(reached)))).one()
    items = [ItemTotal(int(i), code, name, unit, int(qty), int(n)) for i, code, name, unit, qty, n in (
        await session.execute(
            select(ItemType.id, ItemType.code, ItemType.name, ItemType.unit, func.sum(DistributionLine.quantity),
                   func.count(distinct(Distribution.household_id)))
            .join(Distribution, Distribution.id == DistributionLine.distribution_id)
            .join(ItemType, ItemType.id == DistributionLine.item_type_id)
            .where(mine).group_by(ItemType.id, ItemType.code, ItemType.name, ItemType.unit)
            .order_by(ItemType.code))).all()]
    rounds: dict[str, set[int]] = defaultdict(set)
    for village, round_no in (await session.execute(
            select(Distribution.village, Distribution.round).where(mine).distinct())).all():
        rounds[village].add(int(round_no))
    villages = [VillageTotal(village, int(n), int(count), sorted(rounds[village])) for village, n, count in (
        await session.execute(
            select(Distribution.village, func.count(distinct(Distribution.household_id)), func.count())
            .where(mine).group_by(Distribution.village))).all()]
    villages.sort(key=lambda v: v.village)  # by code point: the same order on every database collation
    return ReliefTotals(incident_id, int(households), int(people), distributions, items, villages)


async def place_name(session: AsyncSession, location_id: int) -> str:
    """The name of the place goods are handed out from ("" if it is gone)."""
    return await session.scalar(select(Location.name).where(Location.id == location_id)) or ""


@dataclass(frozen=True)
class RegisterEntry:
    """One distribution on the register: the household (last four only), when, by whom, and its items."""

    head_name: str
    id_last4: str
    size: int
    occurred_at: dt.datetime
    given_by: str
    lines: list[tuple[str, str, int]]  # (item name, unit, quantity)
    reason: str


@dataclass(frozen=True)
class Register:
    """What the 救灾物资发放登记表 of one village and round of an incident shows."""

    incident_name: str
    place_name: str
    village: str
    round: int
    entries: list[RegisterEntry]


async def register_rows(session: AsyncSession, incident_id: int, village: str, round: int) -> Register:
    """The register of one village and round: each distribution in the order it was handed out."""
    incident = await get_incident(session, incident_id)
    place = await place_name(session, incident.location_id)
    found = list(await session.scalars(
        select(Distribution).where(Distribution.incident_id == incident_id, Distribution.village == village,
                                   Distribution.round == round).order_by(Distribution.occurred_at, Distribution.id)))
    names = dict((await session.execute(select(User.username, User.display_name).where(
        User.username.in_({d.created_by for d in found})))).all())
    entries = []
    for d in await distribution_reads(session, found):
        entries.append(RegisterEntry(
            head_name=d.household.head_name, id_last4=d.household.id_last4, size=d.household.size,
            occurred_at=d.occurred_at, given_by=names.get(d.created_by) or d.created_by,
            lines=[(ln.item_name, ln.unit, ln.quantity) for ln in d.lines], reason=d.reason))
    return Register(incident.name, place, village, round, entries)


@dataclass(frozen=True)
class Stocked:
    """An item the place can hand out now: bulk stock, unreserved, in lots not expired."""

    item_type_id: int
    code: str
    name: str
    unit: str
    available: int


async def stock_to_hand_out(session: AsyncSession, location_id: int, today: dt.date | None = None) -> list[Stocked]:
    """The bulk items available at a place (not reserved, not in expired lots), by name."""
    today = today or beijing_today()
    rows = await session.execute(
        select(ItemType.id, ItemType.code, ItemType.name, ItemType.unit,
               func.sum(Balance.on_hand - Balance.reserved))
        .join(ItemType, ItemType.id == Balance.item_type_id)
        .outerjoin(Lot, Lot.id == Balance.lot_id)
        .where(Balance.location_id == location_id, ItemType.tracking == "bulk",
               or_(Lot.expiry_date.is_(None), Lot.expiry_date >= today))
        .group_by(ItemType.id, ItemType.code, ItemType.name, ItemType.unit)
        .having(func.sum(Balance.on_hand - Balance.reserved) > 0)
        .order_by(ItemType.name))
    return [Stocked(int(i), code, name, unit, int(n)) for i, code, name, unit, n in rows.all()]
