"""The queries of ``nearest_available``: available stock per (site, item type) inside per-kind lat/lon boxes.

A site must lie inside the box of its own kind: a kind that takes longer to mobilise has less time to
travel within the same arrival horizon, so its box is smaller (see :mod:`inventory.availability.search`).
Written as SQL text because the join order is the whole point.

On both databases one statement reads ``site_stock`` (:mod:`inventory.stock.site_stock`, kept by triggers in
the transaction of every change): the rows of the wanted item types in the box's latitude band, from one
index ``(item_type_id, lat, lon, …)``, then the agreement lines valid today.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from sqlalchemy import Date, Float, Integer, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from inventory.places.schemas import SITE_KINDS
from inventory.stock.site_stock import PG_WITH_PENDING

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

_PG_ITEM_IDS = "(SELECT unnest(:item_ids))"
_LATER = "CAST(NULL AS VARCHAR)"
PG_CANDIDATES: Final = text(
    f"SELECT X.site_id, {_LATER} AS code, {_LATER} AS name, X.kind, X.region_code, X.lat, X.lon, "
    f"{_LATER} AS contact_name, {_LATER} AS contact_phone, X.agreement_lead_hours, X.item_type_id, "
    f"SUM(X.available) AS available, {_NO_AGREEMENT} "
    f"FROM {PG_WITH_PENDING} X "
    f"WHERE X.item_type_id = ANY(:item_ids) AND {_boxes('X')} AND X.good_until >= :today "
    "GROUP BY X.site_id, X.item_type_id, X.kind, X.region_code, X.lat, X.lon, X.agreement_lead_hours "
    "HAVING SUM(X.available) > 0 "
    f"UNION ALL {_agreements(_PG_ITEM_IDS)}"
).bindparams(*(bindparam(f"{prefix}{name}", type_=Float) for prefix in ("", *(f"{k}_" for k in SITE_KINDS))
               for name in _EDGES),
             bindparam("today", type_=Date), bindparam("item_ids", type_=ARRAY(Integer)))
"""The candidates statement on PostgreSQL: ``site_stock`` alone (which keeps rows at 0 there, and each site's
region and lead time, all that ranking needs), with the transaction's own differences not yet applied
(:data:`inventory.stock.site_stock.PG_WITH_PENDING`); the item types bound as one integer array, so the statement
PostgreSQL prepares never changes. The site's code, name and contacts are left NULL: :data:`PG_SITE_DETAILS`
reads them for the sources taken only (a box in the sparse west can hold thousands of rows)."""

PG_SITE_DETAILS: Final = text(
    "SELECT id, code, name, contact_name, contact_phone FROM locations WHERE id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(Integer)))
"""The columns :data:`PG_CANDIDATES` leaves NULL, for the sites of the sources taken."""
