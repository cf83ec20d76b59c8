"""Availability (可用库存): the nearest sources of what an incident needs, and totals per region.

What counts as available
    Bulk stock: on hand minus reserved, in lots that have not expired (a lot with
    ``expiry_date < today`` is expired); stock in transit does not count. Serial units: one each
    when the unit's status is ``available``, its readiness is not ``fault`` and its inspection is
    not overdue (``next_inspection_due < today``); reserved, deployed, in-transit, in-maintenance,
    leased-out, lost and retired units never count (``unknown`` readiness does count). Stock in a
    bin counts at its site (the nearest location that is not a bin, ``Location.site_id``). Stock at
    an inactive location or an inactive site never counts, nor does a site without coordinates
    (for ``nearest_available``, which needs a distance).

Agreement reserves (协议储备)
    A line of an agreement counts at the firm's warehouse (a vendor location) only while the agreement
    binds (``valid_from <= today <= valid_until``): what it promises (held, or made per day for
    capacity) less what call-offs have asked for and not yet received. Its lead time is the agreement's
    response hours (到位时限). The source names the agreement (``agreement``).

Sources (``nearest_available``)
    A source is one (site, item type) pair with something available, or one agreement line. Sources
    are ordered by ``eta_minutes``, then ``distance_km``, then location id, then item type id, stock
    before agreements (on unrounded values). The list stops at the first source where the running
    total (``cumulative``) reaches ``quantity``, or when ``limit`` sources are listed, whichever
    comes first. ``fulfilled`` says whether the listed sources cover ``quantity``; ``shortfall`` is
    what they leave missing.
    ``max_km`` leaves out sites farther than that great-circle distance; ``include_agreement=False``
    leaves out vendor locations and agreements (agreement reserves, 协议储备).

ETA
    ``eta_minutes`` = mobilisation minutes for the site's kind + great-circle distance × road factor
    ÷ speed of the site's region (:mod:`inventory.availability.eta`; the longest configured region-code prefix
    wins) + for a vendor, the agreement's response hours (or the warehouse's ``agreement_lead_hours`` for
    stock booked there). It is an
    estimate from straight-line distance, not a route: good for ranking, to be confirmed with the
    source by phone. Each source also shows the three parts.

The search itself (a growing arrival horizon, exact once enough arrives within it) is
:mod:`inventory.availability.search`; its SQL is :mod:`inventory.availability.sql`. On SQLite it reads
``site_stock`` (:mod:`inventory.stock.site_stock`), the same rule kept per site by triggers; the API calls it
with :meth:`inventory.store.db.Database.reader`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, case, distinct, false, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Subquery

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig, agreement_lead_minutes
from inventory.availability.filters import check_tag, fetch_rows, refuse_unknown_filters
from inventory.availability.ownership import own_scope, owner_units
from inventory.availability.schemas import (
    AgreementSource,
    AvailabilitySummary,
    ItemTypeBrief,
    NearestAvailability,
    Origin,
    RegionFigures,
    Source,
    SourceLocation,
)
from inventory.availability.search import Candidate, Query, search_sources
from inventory.catalog.service import item_type_conditions
from inventory.clock import beijing_today
from inventory.errors import InvalidInput
from inventory.places.geo import Crs, to_wgs84, validate_point
from inventory.places.regions import require_region
from inventory.places.schemas import SITE_KINDS
from inventory.store.db import Reader
from inventory.store.models import Agreement, AgreementLine, Asset, Balance, ItemType, Location, Lot, Region

MAX_LIMIT: Final = 500
MAX_QUANTITY: Final = 1_000_000_000
ETA_BASIS: Final = ("预计到达时间为估算值：出动准备时间 + 直线距离 × 道路系数 ÷ 车速（协议储备另加约定供货时间），"
                    "请与来源单位电话确认。Estimate from straight-line distance × road factor ÷ speed, "
                    "plus mobilisation time (and a vendor's agreement lead time); confirm by phone.")


def validate_request(quantity: int, limit: int, max_km: float | None) -> None:
    """Raise InvalidInput for a quantity, limit or radius a person could not have meant."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"需求数量应为 1 到 {MAX_QUANTITY} 之间的整数，收到 {quantity}。", field="quantity")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"最多列出的来源数 limit 应在 1 到 {MAX_LIMIT} 之间，收到 {limit}。", field="limit")
    if max_km is not None and not (math.isfinite(max_km) and max_km > 0):
        raise InvalidInput(f"搜索半径 max_km 应为正数（公里），收到 {max_km!r}。", field="max_km")


def site_kinds(include_agreement: bool) -> list[str]:
    """Kinds of site whose stock may be offered (vendors only with agreement reserves included)."""
    return [k for k in SITE_KINDS if include_agreement or k != "vendor"]


_BRIEF = (ItemType.id, ItemType.code, ItemType.name, ItemType.unit, ItemType.tracking, ItemType.category)


def _brief(row: Sequence[Any]) -> ItemTypeBrief:
    return ItemTypeBrief(id=row[0], code=row[1], name=row[2], unit=row[3], tracking=row[4], category=row[5])


@lru_cache(maxsize=1024)
def _matching_statement(item_type: str | None, category: str | None, tag: str | None,
                        attrs: tuple[str, ...]) -> tuple[Select[*tuple[Any, ...]], int | None]:
    """The statement of :func:`matching_item_types`, built once per distinct filter (InvalidInput if one is bad).

    With ``item_type``: the entries with that id or code, each with a last column saying whether it
    satisfies the other filters; the id it was read as, if any.
    """
    conditions: list[ColumnElement[bool]] = item_type_conditions(tag=tag, category=category, attrs=attrs)
    if not item_type:
        return select(*_BRIEF).where(*conditions).order_by(ItemType.id), None
    item_id = int(item_type) if item_type.isascii() and item_type.isdigit() and len(item_type) < 10 else None
    by_id = false() if item_id is None else ItemType.id == item_id
    matches = and_(*conditions) if conditions else true()
    return select(*_BRIEF, matches.label("matches")).where(by_id | (ItemType.code == item_type)), item_id


async def matching_item_types(
    reader: Reader, *, item_type: str | None = None, category: str | None = None, tag: str | None = None,
    attrs: Sequence[str] = (),
) -> list[ItemTypeBrief]:
    """The catalogue entries that satisfy every filter given (item type by id or code, category, tag, attrs).

    ``item_type`` is looked up as :func:`inventory.catalog.service.find_item_type` does: by id first, then by code.
    One statement, run on SQLite's connection itself (a commander's every query starts here). When nothing
    matches, a category, tag or attribute name the catalogue does not have is refused
    (:mod:`inventory.availability.filters`) rather than answered as "nothing available".
    """
    if not (item_type or category or tag or attrs):
        raise InvalidInput("请说明需要什么物资：item_type（id 或物资编号）、category、tag 或 attr 至少填一项。",
                           field="item_type")
    check_tag(tag)
    stmt, item_id = _matching_statement(item_type, category, tag, tuple(attrs))
    rows = await fetch_rows(reader, stmt)
    if item_type:
        found = {r[0]: r for r in rows}
        named = found.get(item_id or 0) or next((r for r in found.values() if r[1] == item_type), None)
        if named is None:
            raise InvalidInput(f"物资品目 {item_type} 不存在（可填 id 或物资编号）", field="item_type")
        rows = [named] if named[-1] else []
    if not rows:
        await refuse_unknown_filters(reader, category=category, attrs=attrs)
    return [_brief(r) for r in rows]


def _source(c: Candidate, types: dict[int, ItemTypeBrief], cumulative: int, eta: EtaConfig) -> Source:
    row = c.row
    lead = agreement_lead_minutes(row.kind, row.agreement_lead_hours)
    mobilisation = eta.mobilisation(row.kind)
    return Source(
        location=SourceLocation(
            id=row.site_id, code=row.code, name=row.name, kind=row.kind, region_code=row.region_code, lat=row.lat,
            lon=row.lon, contact_name=row.contact_name, contact_phone=row.contact_phone,
            agreement_lead_hours=row.agreement_lead_hours),
        item_type=types[c.item_type_id], available=c.available, distance_km=round(c.distance, 3),
        eta_minutes=round(c.eta, 1), mobilisation_minutes=mobilisation,
        travel_minutes=round(c.eta - mobilisation - lead, 1), agreement_lead_minutes=lead, cumulative=cumulative,
        agreement=_agreement(row),
    )


def _agreement(row: Any) -> AgreementSource | None:
    """The agreement a candidate row comes from (None for stock held at the site)."""
    if not row.agreement_id:
        return None
    return AgreementSource(id=row.agreement_id, number=row.agreement_number, name=row.agreement_name,
                           kind=row.agreement_kind, response_hours=row.agreement_lead_hours)


async def nearest_available(
    reader: Reader, *, lat: float, lon: float, crs: Crs = "wgs84", item_type: str | None = None,
    category: str | None = None, tag: str | None = None, attrs: Sequence[str] = (), quantity: int = 1,
    limit: int = 10, max_km: float | None = None, include_agreement: bool = True, eta: EtaConfig | None = None,
    today: dt.date | None = None, principal: Principal | None = None, own_only: bool = False,
    excluding: str | None = None,
) -> NearestAvailability:
    """The sources of what is needed nearest in estimated arrival, until ``quantity`` or ``limit`` (module doc).

    With ``principal``, each source says whether it is his own unit's (``own``) and which unit owns it
    (``owner``); ``own_only`` looks at his own sources only (:mod:`inventory.availability.ownership`), none
    under the region ``excluding``.
    """
    eta = eta or EtaConfig()
    validate_request(quantity, limit, max_km)
    validate_point(lat, lon, region_code=None, check_swapped=True)
    wlat, wlon = to_wgs84(lat, lon, crs)
    if own_only and principal is None:
        raise InvalidInput("own_only 需要登录用户的辖区", field="own_only")
    types = await matching_item_types(reader, item_type=item_type, category=category, tag=tag, attrs=attrs)
    taken: list[Candidate] = []
    scope = await own_scope(reader, principal, excluding) if principal is not None else None
    if types:
        query = Query(origin=(wlat, wlon), bulk_ids=[t.id for t in types if t.tracking == "bulk"],
                      serial_ids=[t.id for t in types if t.tracking == "serial"], quantity=quantity, limit=limit,
                      max_km=max_km, kinds=site_kinds(include_agreement), today=today or beijing_today(),
                      own=scope if own_only else None)
        taken = await search_sources(reader, query, eta)
    by_id = {t.id: t for t in types}
    owners = await owner_units(reader, (c.row.region_code for c in taken)) if scope is not None else {}
    sources, cumulative = [], 0
    for c in taken:
        cumulative += c.available
        source = _source(c, by_id, cumulative, eta)
        if scope is not None:
            source.own = scope.owns(c.site_id, c.row.region_code)
            source.owner = owners[c.row.region_code]
        sources.append(source)
    return NearestAvailability(
        origin=Origin(lat=round(wlat, 7), lon=round(wlon, 7), crs=crs, input_lat=lat, input_lon=lon),
        quantity=quantity, limit=limit, max_km=max_km, include_agreement=include_agreement, item_types=types,
        sources=sources, fulfilled=cumulative >= quantity, shortfall=max(0, quantity - cumulative),
        eta_basis=ETA_BASIS, own_only=own_only,
    )


def site_stock_rows(region: str, types: list[ItemTypeBrief], kinds: list[str], today: dt.date) -> Subquery:
    """Stock of ``types`` at the active sites of ``kinds`` under ``region``, bins counted at their site.

    Columns ``site_id``, ``code`` (the site's region code), ``item_type_id``, ``on_hand``, ``reserved``,
    ``available`` and ``in_transit``, several rows per site and item type: sum them. Book figures come from the
    balances (serial units included); available follows the rule of the module doc: unreserved bulk stock in
    unexpired lots, plus ready serial units, plus what valid agreements' lines offer at their vendor sites (on hand
    0: not ours). Shared by :func:`availability_summary` and the map's per-site figures.
    """
    site, held_at = aliased(Location), aliased(Location)
    places = [held_at.site_id == site.id, site.active, held_at.active, site.kind.in_(kinds),
              site.region_code.startswith(region, autoescape=True)]
    bulk = [t.id for t in types if t.tracking == "bulk"]
    serial = [t.id for t in types if t.tracking == "serial"]
    fresh = or_(Lot.expiry_date.is_(None), Lot.expiry_date >= today)
    bulk_available = case((and_(Balance.item_type_id.in_(bulk), fresh), Balance.on_hand - Balance.reserved),
                          else_=0) if bulk else literal(0)
    parts = [select(site.id.label("site_id"), site.region_code.label("code"),
                    Balance.item_type_id.label("item_type_id"), Balance.on_hand.label("on_hand"),
                    Balance.reserved.label("reserved"), bulk_available.label("available"),
                    Balance.in_transit.label("in_transit"))
             .select_from(Balance).join(held_at, held_at.id == Balance.location_id)
             .join(site, held_at.site_id == site.id).outerjoin(Lot, Lot.id == Balance.lot_id)
             .where(*places, Balance.item_type_id.in_([t.id for t in types]))]
    if serial:
        parts.append(select(site.id, site.region_code, Asset.item_type_id, literal(0), literal(0), literal(1),
                            literal(0))
                     .select_from(Asset).join(held_at, held_at.id == Asset.location_id)
                     .join(site, held_at.site_id == site.id)
                     .where(*places, Asset.item_type_id.in_(serial), Asset.status == "available",
                            Asset.readiness != "fault",
                            or_(Asset.next_inspection_due.is_(None), Asset.next_inspection_due >= today)))
    # Agreement lines valid today count as available at the firm's warehouse (none of it is on our books).
    parts.append(select(site.id, site.region_code, AgreementLine.item_type_id, literal(0), literal(0),
                        AgreementLine.quantity - AgreementLine.outstanding, literal(0))
                 .select_from(AgreementLine).join(Agreement, Agreement.id == AgreementLine.agreement_id)
                 .join(site, site.id == Agreement.vendor_location_id)
                 .where(site.active, site.kind.in_(kinds), site.region_code.startswith(region, autoescape=True),
                        AgreementLine.item_type_id.in_([t.id for t in types]), Agreement.valid_from <= today,
                        Agreement.valid_until >= today))
    return union_all(*parts).subquery()


async def _region_figures(
    session: AsyncSession, region: str, types: list[ItemTypeBrief], kinds: list[str], today: dt.date,
) -> dict[str, list[int]]:
    """[on hand, reserved, available, in transit, sites with some available] per site region code under ``region``."""
    stock = site_stock_rows(region, types, kinds, today)
    per_region = select(stock.c.code, func.sum(stock.c.on_hand), func.sum(stock.c.reserved),
                        func.sum(stock.c.available), func.sum(stock.c.in_transit),
                        func.count(distinct(case((stock.c.available > 0, stock.c.site_id))))).group_by(stock.c.code)
    return {code: [int(v or 0) for v in values] for code, *values in await session.execute(per_region)}


def _add(target: RegionFigures, values: list[int]) -> None:
    target.on_hand += values[0]
    target.reserved += values[1]
    target.available += values[2]
    target.in_transit += values[3]
    target.sites += values[4]


async def availability_summary(
    session: AsyncSession, *, region: str, item_type: str | None = None, category: str | None = None,
    tag: str | None = None, attrs: Sequence[str] = (), include_agreement: bool = True, today: dt.date | None = None,
) -> AvailabilitySummary:
    """On hand, reserved, available and in transit per child region of ``region`` (bins count at their site).

    ``available`` follows the same rule as ``nearest_available``; ``sites`` counts the sites with
    something available. Stock at locations coded to ``region`` itself (e.g. the city depot) is in
    ``own``; ``total`` is the whole region. Every child region is listed, those with nothing too.
    """
    parent = await require_region(session, region, field="region")
    children = list(await session.scalars(select(Region).where(Region.parent_code == parent.code)
                                          .order_by(Region.code)))
    types = await matching_item_types(session, item_type=item_type, category=category, tag=tag, attrs=attrs)
    rows = {c.code: RegionFigures(region_code=c.code, region_name=c.name) for c in children}
    own = RegionFigures(region_code=parent.code, region_name=parent.name)
    total = RegionFigures(region_code=parent.code, region_name=parent.name)
    if types:
        figures = await _region_figures(session, parent.code, types, site_kinds(include_agreement),
                                        today or beijing_today())
        lengths = sorted({len(code) for code in rows}, reverse=True)
        for code, values in figures.items():
            child = next((rows[code[:n]] for n in lengths if code[:n] in rows), own)
            _add(child, values)
            _add(total, values)
    return AvailabilitySummary(region_code=parent.code, region_name=parent.name, include_agreement=include_agreement,
                               item_types=types, regions=list(rows.values()), own=own, total=total)
