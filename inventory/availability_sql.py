"""The candidate query of ``nearest_available``: available stock per (site, item type) inside a lat/lon box.

Written as SQL text because the join order is the whole point. Two plans answer the same question:

* ``site`` — sites inside the box first (``ix_locations_lat_lon``), then their locations (bins roll up
  through ``ix_locations_site_id``), then balances (``uq_balances_key``) and serial units
  (``ix_assets_location_item_status``) of the wanted item types. Cheap while the box is small.
* ``item`` — stock of the wanted item types first (``ix_balances_item_type_id``, ``ix_assets_item_status``),
  then its location and site by primary key, keeping those inside the box. Cheap for rare items,
  which are the ones that need a large box.

SQLite has no statistics to choose between them, so its text pins the order with ``CROSS JOIN``
(SQLite never reorders the tables of a CROSS JOIN) and keeps ``kind`` off its index with a unary
``+``. PostgreSQL gets plain joins and plans them itself from its statistics.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from sqlalchemy import Date, Float, String, TextClause, bindparam, text

Plan = Literal["site", "item"]

_SITE_COLUMNS = ("S.id AS site_id, S.code, S.name, S.kind, S.region_code, S.lat, S.lon, S.contact_name, "
                 "S.contact_phone, S.agreement_lead_hours")
_BOX = "S.lat BETWEEN :min_lat AND :max_lat AND S.lon BETWEEN :min_lon AND :max_lon"


def _from(dialect: str, plan: Plan, stock: str) -> str:
    """The FROM clause joining a stock table (``balances B`` or ``assets A``) to its location L and site S."""
    alias = stock.split()[-1]
    if dialect == "sqlite":
        order = ["locations S", "locations L", stock] if plan == "site" else [stock, "locations L", "locations S"]
        return " CROSS JOIN ".join(order)
    return f"{stock} JOIN locations L ON {alias}.location_id = L.id JOIN locations S ON L.site_id = S.id"


def _sites(dialect: str, stock_alias: str) -> str:
    """Conditions on the site and the holding location shared by both stock kinds."""
    kind = "+S.kind" if dialect == "sqlite" else "S.kind"
    return (f"{_BOX} AND S.active AND {kind} IN :kinds AND L.site_id = S.id AND L.active "
            f"AND {stock_alias}.location_id = L.id")


def _bulk(dialect: str, plan: Plan) -> str:
    return (
        f"SELECT {_SITE_COLUMNS}, B.item_type_id, SUM(B.on_hand - B.reserved) AS available "
        f"FROM {_from(dialect, plan, 'balances B')} LEFT JOIN lots T ON T.id = B.lot_id "
        f"WHERE {_sites(dialect, 'B')} AND B.item_type_id IN :bulk_ids AND B.on_hand > B.reserved "
        "AND (T.expiry_date IS NULL OR T.expiry_date >= :today) "
        "GROUP BY S.id, B.item_type_id"
    )


def _serial(dialect: str, plan: Plan) -> str:
    return (
        f"SELECT {_SITE_COLUMNS}, A.item_type_id, COUNT(*) AS available "
        f"FROM {_from(dialect, plan, 'assets A')} "
        f"WHERE {_sites(dialect, 'A')} AND A.item_type_id IN :serial_ids AND A.status = 'available' "
        "AND A.readiness <> 'fault' AND (A.next_inspection_due IS NULL OR A.next_inspection_due >= :today) "
        "GROUP BY S.id, A.item_type_id"
    )


@cache
def candidates_statement(dialect: str, plan: Plan, bulk: bool, serial: bool) -> TextClause:
    """Rows (site columns…, item_type_id, available) of every wanted item type available at a site in the box.

    Binds ``min_lat``, ``max_lat``, ``min_lon``, ``max_lon``, ``kinds``, ``today`` and ``bulk_ids`` /
    ``serial_ids``. Built once per variant: the statement text is what the database caches plans by.
    """
    parts = ([_bulk(dialect, plan)] if bulk else []) + ([_serial(dialect, plan)] if serial else [])
    params = [bindparam(name, type_=Float) for name in ("min_lat", "max_lat", "min_lon", "max_lon")]
    params += [bindparam("kinds", expanding=True, type_=String), bindparam("today", type_=Date)]
    if bulk:
        params.append(bindparam("bulk_ids", expanding=True))
    if serial:
        params.append(bindparam("serial_ids", expanding=True))
    return text(" UNION ALL ".join(parts)).bindparams(*params)
