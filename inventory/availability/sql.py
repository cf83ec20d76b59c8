"""The queries of ``nearest_available``: available stock per (site, item type) inside per-kind lat/lon boxes.

A site must lie inside the box of its own kind: a kind that takes longer to mobilise has less time to
travel within the same arrival horizon, so its box is smaller (see :mod:`inventory.availability.search`).
Written as SQL text because the join order is the whole point.

On SQLite, one statement (:data:`SQLITE_CANDIDATES`) reads ``site_stock`` (:mod:`inventory.stock.site_stock`,
kept by triggers): the rows of the wanted item types in the box's latitude band, from one index.

On PostgreSQL, two plans over the stock tables answer the same question, and its planner orders the joins
from its statistics:

* ``site`` — sites inside the boxes first (``ix_locations_lat_lon``), then their locations (bins roll up
  through ``ix_locations_site_id``), then the balances (``uq_balances_key``) and ready serial units
  (``ix_assets_location_item_status``) of those locations. Its cost is the number of locations in the
  boxes: cheap while they are small.
* ``item`` — stock of the wanted item types first (``ix_balances_item_type_id``, ``ix_assets_item_status``;
  units counted per location first), then its location and site by primary key, keeping those inside
  the boxes. Its cost is the wanted stock wherever it is: cheap for rare items, which need large boxes.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import BindParameter, Date, Float, TextClause, bindparam, text

from inventory.places.schemas import SITE_KINDS

Plan = Literal["site", "item"]

_EDGES = ("min_lat", "max_lat", "min_lon", "max_lon")
_PLACE_COLUMNS = "S.id AS site_id, S.code, S.name, S.kind, S.region_code, S.lat, S.lon, S.contact_name, S.contact_phone"
_SITE_COLUMNS = f"{_PLACE_COLUMNS}, S.agreement_lead_hours"
_NO_AGREEMENT = ("CAST(NULL AS INTEGER) AS agreement_id, CAST(NULL AS VARCHAR) AS agreement_number, "
                 "CAST(NULL AS VARCHAR) AS agreement_name, CAST(NULL AS VARCHAR) AS agreement_kind")


def _agreements(item_ids: str) -> str:
    """Agreement lines (协议储备) of the wanted item types that bind the firm today, at vendor sites in the boxes.

    A line offers what it promises less what call-offs have asked for and not yet received; its lead time is the
    agreement's response hours (到位时限), not the warehouse's. Few rows in a county: one index on the item type.
    """
    return (
        f"SELECT {_PLACE_COLUMNS}, A.response_hours AS agreement_lead_hours, G.item_type_id, "
        "G.quantity - G.outstanding AS available, A.id, A.number, A.name, A.kind "
        "FROM agreement_lines G JOIN agreements A ON A.id = G.agreement_id "
        "JOIN locations S ON S.id = A.vendor_location_id "
        f"WHERE G.item_type_id IN {item_ids} AND G.quantity > G.outstanding "
        "AND A.valid_from <= :today AND A.valid_until >= :today "
        f"AND S.active AND S.lat IS NOT NULL AND S.lon IS NOT NULL AND {_boxes('S')}"
    )


def _boxes(alias: str) -> str:
    """The site inside the outer box, and inside the box of its own kind (an empty box leaves a kind out).

    A CASE rather than an OR of per-kind boxes: nothing for a planner to try to split into index scans.
    """
    a = alias
    per_kind = " ".join(
        f"WHEN '{k}' THEN {a}.lat BETWEEN :{k}_min_lat AND :{k}_max_lat "
        f"AND {a}.lon BETWEEN :{k}_min_lon AND :{k}_max_lon" for k in SITE_KINDS)
    return (f"{a}.lat BETWEEN :min_lat AND :max_lat AND {a}.lon BETWEEN :min_lon AND :max_lon "
            f"AND CASE {a}.kind {per_kind} ELSE false END")


def _from(stock: str) -> str:
    """The FROM clause joining a stock table (``balances B`` or ``assets A``) to its location L and site S."""
    alias = stock.split()[-1]
    return f"{stock} JOIN locations L ON {alias}.location_id = L.id JOIN locations S ON L.site_id = S.id"


def _where(alias: str, ids: str | None) -> str:
    """Conditions on the site, the holding location and (unless ``ids`` is None) the item type."""
    return (f"{_boxes('S')} AND S.active AND L.site_id = S.id AND L.active AND {alias}.location_id = L.id"
            + (f" AND {alias}.item_type_id IN :{ids}" if ids else ""))


def _bulk() -> str:
    return (
        f"SELECT {_SITE_COLUMNS}, B.item_type_id, SUM(B.on_hand - B.reserved) AS available, {_NO_AGREEMENT} "
        f"FROM {_from('balances B')} LEFT JOIN lots T ON T.id = B.lot_id "
        f"WHERE {_where('B', 'bulk_ids')} AND B.on_hand > B.reserved "
        "AND (T.expiry_date IS NULL OR T.expiry_date >= :today) "
        "GROUP BY S.id, B.item_type_id"
    )


def _ready(alias: str) -> str:
    return (f"{alias}status = 'available' AND {alias}readiness <> 'fault' "
            f"AND ({alias}next_inspection_due IS NULL OR {alias}next_inspection_due >= :today)")


def _serial(plan: Plan) -> str:
    if plan == "site":
        return (
            f"SELECT {_SITE_COLUMNS}, A.item_type_id, COUNT(*) AS available, {_NO_AGREEMENT} "
            f"FROM {_from('assets A')} "
            f"WHERE {_where('A', 'serial_ids')} AND {_ready('A.')} "
            "GROUP BY S.id, A.item_type_id"
        )
    # Stock first: count the ready units per location before looking up each location (once, not per unit).
    units = (f"(SELECT location_id, item_type_id, COUNT(*) AS units FROM assets WHERE item_type_id IN :serial_ids "
             f"AND {_ready('')} GROUP BY location_id, item_type_id) A")
    return (
        f"SELECT {_SITE_COLUMNS}, A.item_type_id, SUM(A.units) AS available, {_NO_AGREEMENT} "
        f"FROM {_from(units)} WHERE {_where('A', None)} "
        "GROUP BY S.id, A.item_type_id"
    )


@cache
def candidates_statement(plan: Plan, bulk: bool, serial: bool) -> TextClause:
    """PostgreSQL: rows (site columns…, item_type_id, available) of every wanted item type available at a site
    in the box, read with ``plan``; ``bulk`` and ``serial``: whether item types of that tracking are wanted;
    then the agreement lines (:func:`_agreements`).

    Binds the outer box ``min_lat``, ``max_lat``, ``min_lon``, ``max_lon``, a box per kind
    (``depot_min_lat``…), ``today``, ``bulk_ids`` / ``serial_ids`` and ``agreement_ids`` (all of them).
    """
    parts = ([_bulk()] if bulk else []) + ([_serial(plan)] if serial else []) + [_agreements(":agreement_ids")]
    params = [bindparam(f"{prefix}{name}", type_=Float) for prefix in ("", *(f"{k}_" for k in SITE_KINDS))
              for name in ("min_lat", "max_lat", "min_lon", "max_lon")]
    params.append(bindparam("today", type_=Date))
    if bulk:
        params.append(bindparam("bulk_ids", expanding=True))
    if serial:
        params.append(bindparam("serial_ids", expanding=True))
    params.append(bindparam("agreement_ids", expanding=True))
    return text(" UNION ALL ".join(parts)).bindparams(*params)


@cache
def stock_rows_statement(bulk: bool, serial: bool, cap: int) -> TextClause:
    """(stock rows of the wanted item types counted up to ``cap``, locations inside the outer box).

    Cheap whatever the answers (index reads, the first at most ``cap`` entries long): the first is what
    reading stock first would visit, the second what reading sites first would.
    """
    parts: list[str] = []
    params: list[BindParameter[Any]] = [bindparam(edge, type_=Float) for edge in _EDGES]
    if bulk:
        parts.append(f"(SELECT COUNT(*) FROM (SELECT 1 FROM balances WHERE item_type_id IN :bulk_ids LIMIT {cap}) b)")
        params.append(bindparam("bulk_ids", expanding=True))
    if serial:
        parts.append(f"(SELECT COUNT(*) FROM (SELECT 1 FROM assets WHERE item_type_id IN :serial_ids "
                     f"AND status = 'available' LIMIT {cap}) a)")
        params.append(bindparam("serial_ids", expanding=True))
    sites = ("(SELECT COUNT(*) FROM locations WHERE lat BETWEEN :min_lat AND :max_lat "
             "AND lon BETWEEN :min_lon AND :max_lon)")
    return text(f"SELECT {' + '.join(parts)}, {sites}").bindparams(*params)


class SiteRow(NamedTuple):
    """One row of the candidates statement: a site, an item type and how many are available there."""

    site_id: int
    code: str
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    contact_name: str
    contact_phone: str
    agreement_lead_hours: float | None
    item_type_id: int
    available: int
    agreement_id: int | None
    agreement_number: str | None
    agreement_name: str | None
    agreement_kind: str | None


_ITEM_IDS = "(SELECT value FROM json_each(:item_ids))"
SQLITE_CANDIDATES = (
    f"SELECT {_SITE_COLUMNS}, X.item_type_id, SUM(X.available) AS available, {_NO_AGREEMENT} "
    "FROM site_stock X CROSS JOIN locations S "
    f"WHERE X.item_type_id IN {_ITEM_IDS} AND {_boxes('X')} "
    "AND X.good_until >= :today AND S.id = X.site_id GROUP BY X.site_id, X.item_type_id "
    f"UNION ALL {_agreements(_ITEM_IDS)}"
)
"""The candidates statement on SQLite, for the sqlite3 module: one index range per wanted item type over
``site_stock`` (:mod:`inventory.stock.site_stock`), which holds only sites that may offer stock, then the
agreement lines valid today. The item types are bound as one JSON array (``json_each``), so the text, and
SQLite's prepared statement, never change."""
