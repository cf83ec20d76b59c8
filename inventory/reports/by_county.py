"""Stock by county (库存分布): on hand, reserved and available per county × category; lots expiring per month.

The figures per county are :func:`inventory.availability.service.availability_summary`'s, asked once per
category of the catalogue, so "available" here is exactly what a commander's availability question counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.availability.schemas import RegionFigures
from inventory.availability.service import availability_summary
from inventory.catalog.rules import CATEGORY_LABELS_ZH
from inventory.clock import beijing_today
from inventory.places.regions import require_region
from inventory.reports.periods import months_from
from inventory.reports.schemas import CategoryFigures, ExpiringLots, ExpiryMonth, RegionStock, StockByCounty
from inventory.store.models import Balance, ItemType, Location, Lot, utcnow

MAX_CATEGORIES = 60
CHART_CATEGORIES = ("pump", "boat", "generator")  # what a commander looks at first in the flood season
RULE = ("在库 = 账面结存；已预留 = 动用指令、报废申请等已占用；可用 = 未预留且未过期的批次物资，加上状态完好、"
        "未超期检查的单件装备（与就近调配的口径相同）；含协议储备。储备库的货架计入所属储备库。")
_ORDER = {category: i for i, category in enumerate(CATEGORY_LABELS_ZH)}
_CHILDREN = {2: ("设区市", "各设区市"), 4: ("县（市、区）", "各县区"), 6: ("乡镇（街道）", "各乡镇")}


def children_label(region_code: str, *, short: bool = False) -> str:
    """What the child regions of a region are called: 县（市、区） under a city (各县区 when ``short``)."""
    long_name, short_name = _CHILDREN.get(len(region_code), ("下级区划", "各下级区划"))
    return short_name if short else long_name


def category_zh(category: str) -> str:
    """The Chinese name of a category (the category itself when it has none)."""
    return CATEGORY_LABELS_ZH.get(category, category)


async def _categories(session: AsyncSession) -> list[tuple[str, str]]:
    """(category, unit) of the catalogue's categories, usual ones first; unit empty when they differ."""
    units: dict[str, set[str]] = defaultdict(set)
    for category, unit in await session.execute(select(ItemType.category, ItemType.unit).distinct()):
        units[category].add(unit)
    ordered = sorted(units, key=lambda c: (_ORDER.get(c, len(_ORDER)), c))[:MAX_CATEGORIES]
    return [(c, next(iter(units[c])) if len(units[c]) == 1 else "") for c in ordered]


def _figures(category: str, unit: str, source: RegionFigures) -> CategoryFigures:
    return CategoryFigures(category=category, category_zh=category_zh(category), unit=unit, on_hand=source.on_hand,
                           reserved=source.reserved, available=source.available, in_transit=source.in_transit)


async def stock_by_county(session: AsyncSession, region: str, *, categories: Sequence[str] | None = None,
                          today: dt.date | None = None, now: dt.datetime | None = None) -> StockByCounty:
    """Per child region of ``region`` (the counties of a city), one line per category of the catalogue.

    ``categories``: only these (those the catalogue has), e.g. :data:`CHART_CATEGORIES` for a chart.
    """
    parent = await require_region(session, region, field="region")
    today = today or beijing_today(now)
    counties: dict[str, RegionStock] = {}
    own = RegionStock(region_code=parent.code, region_name=f"{parent.name}本级", categories=[])
    total = RegionStock(region_code=parent.code, region_name=f"{parent.name}合计", categories=[])
    for category, unit in await _categories(session):
        if categories is not None and category not in categories:
            continue
        summary = await availability_summary(session, region=parent.code, category=category, today=today)
        for figures in summary.regions:
            county = counties.setdefault(figures.region_code, RegionStock(
                region_code=figures.region_code, region_name=figures.region_name, categories=[]))
            county.categories.append(_figures(category, unit, figures))
        own.categories.append(_figures(category, unit, summary.own))
        total.categories.append(_figures(category, unit, summary.total))
    return StockByCounty(region_code=parent.code, region_name=parent.name, children=children_label(parent.code),
                         counties=list(counties.values()),
                         own=own, total=total, today=today, generated_at=now or utcnow(), rule=RULE)


def available_per_county(stock: StockByCounty, category: str) -> list[tuple[str, int]]:
    """(county name, available) of one category, every county in order (zero where there is none)."""
    result = []
    for county in stock.counties:
        figures = next((f for f in county.categories if f.category == category), None)
        result.append((county.region_name, figures.available if figures else 0))
    return result


async def expiring_lots(session: AsyncSession, region: str, *, today: dt.date | None = None,
                        months: int = 12) -> ExpiringLots:
    """Lots with stock on hand in the region expiring in each of the next ``months`` months (this one first)."""
    parent = await require_region(session, region, field="region")
    today = today or beijing_today()
    window = months_from(today, months + 1)
    end = dt.date(*window[-1], 1)
    held = (select(Lot.expiry_date, Lot.id, Balance.on_hand)
            .select_from(Balance).join(Lot, Lot.id == Balance.lot_id).join(Location, Location.id == Balance.location_id)
            .where(Location.region_code.startswith(parent.code, autoescape=True), Balance.on_hand > 0)).subquery()
    per_day = await session.execute(
        select(held.c.expiry_date, func.count(distinct(held.c.id)), func.sum(held.c.on_hand))
        .where(held.c.expiry_date >= today, held.c.expiry_date < end).group_by(held.c.expiry_date))
    buckets: dict[tuple[int, int], list[int]] = {ym: [0, 0] for ym in window[:-1]}
    for day, lots, quantity in per_day:
        bucket = buckets[(day.year, day.month)]
        bucket[0] += int(lots)
        bucket[1] += int(quantity or 0)
    expired = await session.scalar(select(func.count(distinct(held.c.id))).where(held.c.expiry_date < today))
    return ExpiringLots(
        region_code=parent.code, region_name=parent.name, today=today, expired_lots=int(expired or 0),
        months=[ExpiryMonth(year=y, month=m, label=f"{y}-{m:02d}", lots=n, quantity=q)
                for (y, m), (n, q) in buckets.items()])
