"""The readiness report: the units of a region by derived state, counted per category and child region in SQL,
and one page of the units not ready with their reasons.

The state is a CASE over the ``assets`` columns the checks, repairs and plans keep (status, readiness,
next_inspection_due) — the same columns ``nearest`` reads — so the counts are GROUP BYs over the units
asked for and only the page's units are read row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import beijing_today
from inventory.errors import InvalidInput
from inventory.places.regions import require_region
from inventory.readiness import rules
from inventory.readiness.checks import HELD
from inventory.readiness.schemas import CategoryCounts, ReadinessReport, RegionCounts, StateCounts
from inventory.readiness.units import units_readiness
from inventory.store.models import Asset, ItemType, Location, Region


def state_case(today: dt.date) -> ColumnElement[str]:
    """:func:`inventory.readiness.rules.unit_state` in SQL."""
    soon = today + dt.timedelta(days=rules.DUE_SOON_DAYS)
    return case((Asset.status == "maintenance", "in_maintenance"), (Asset.readiness == "fault", "fault"),
                (Asset.next_inspection_due < today, "overdue"), (Asset.next_inspection_due <= soon, "due_soon"),
                else_="ready")


def _add(counts: StateCounts, state: str, n: int) -> None:
    setattr(counts, state, getattr(counts, state) + n)
    counts.units += n


async def _units(session: AsyncSession, region: Region, key_length: int, category: str | None,
                 item_type_id: int | None, location_id: int | None, today: dt.date) -> Select[Any]:
    """One row per unit held in the region (and category, item type, place): its state and grouping keys."""
    # The region's codes as a range (not LIKE 'code%'), so both databases read them off the index; the status
    # as ``status || ''``, off its index (nearly every unit held is available: it narrows nothing), so that
    # SQLite, which keeps no statistics, starts from the region's places or from the category's item types.
    after = region.code[:-1] + chr(ord(region.code[-1]) + 1)
    conditions: list[ColumnElement[bool]] = [Asset.status.concat("").in_(HELD), Location.region_code >= region.code,
                                             Location.region_code < after]
    if category is not None:
        conditions.append(ItemType.category == category)
    if item_type_id is not None:
        conditions.append(Asset.item_type_id == item_type_id)
    if location_id is not None:
        path = await session.scalar(select(Location.path).where(Location.id == location_id))
        if path is None:
            raise InvalidInput(f"地点 id={location_id} 不存在", field="location_id")
        conditions.append(Location.path.startswith(path))
    state = state_case(today)
    severity = case(*((state == s, i) for i, s in enumerate(rules.STATES)), else_=len(rules.STATES))
    return (select(Asset.id.label("asset_id"), ItemType.category.label("category"),
                   func.substr(Location.region_code, 1, literal_column(str(key_length))).label("region_key"),
                   state.label("state"), severity.label("severity"), Asset.next_inspection_due.label("due"))
            .join(Location, Location.id == Asset.location_id).join(ItemType, ItemType.id == Asset.item_type_id)
            .where(*conditions))


async def readiness_report(session: AsyncSession, *, region: str, category: str | None = None,
                           item_type_id: int | None = None, location_id: int | None = None,
                           states: Sequence[str] | None = None, limit: int = 50, offset: int = 0,
                           today: dt.date | None = None) -> ReadinessReport:
    """Units held in ``region`` by state, per category and child region; a page of those in ``states``.

    ``states`` defaults to the units not ready (in maintenance, at fault, overdue); add ``due_soon`` to see
    what falls due this week.
    """
    today = today or beijing_today()
    for s in states or ():
        if s not in rules.STATES:
            raise InvalidInput(f"未知的状态 {s}（可选 {'、'.join(rules.STATES)}）", field="state")
    parent = await require_region(session, region, field="region")
    children = list(await session.execute(select(Region.code, Region.name).where(Region.parent_code == parent.code)
                                          .order_by(Region.code)))
    key_length = len(children[0][0]) if children else len(parent.code)
    units = (await _units(session, parent, key_length, category, item_type_id, location_id, today)).subquery()
    wanted = [s for s in rules.STATES if s in (states or rules.NOT_READY)]

    total = StateCounts()
    by_category: dict[str, StateCounts] = {}
    by_key: dict[str, StateCounts] = {code: StateCounts() for code, _ in children}
    groups = select(units.c.category, units.c.region_key, units.c.state, func.count()).group_by(
        units.c.category, units.c.region_key, units.c.state)
    for cat, key, state, n in await session.execute(groups):  # one pass; a few groups per category and region
        _add(by_category.setdefault(cat, StateCounts()), state, n)
        _add(by_key.setdefault(key if key in by_key else parent.code, StateCounts()), state, n)
        _add(total, state, n)
    names = {str(code): str(name) for code, name in children} | {parent.code: parent.name}

    page = list(await session.scalars(
        select(units.c.asset_id).where(units.c.state.in_(wanted))
        .order_by(units.c.severity, units.c.due.is_(None), units.c.due, units.c.asset_id).limit(limit).offset(offset)))
    return ReadinessReport(
        region_code=parent.code, region_name=parent.name, category=category, today=today, states=wanted, total=total,
        by_category=[CategoryCounts(c, by_category[c]) for c in sorted(by_category)],
        by_region=[RegionCounts(code, names.get(code, code), counts) for code, counts in by_key.items()],
        items=await units_readiness(session, page, today), listed=sum(getattr(total, s) for s in wanted),
        limit=limit, offset=offset)
