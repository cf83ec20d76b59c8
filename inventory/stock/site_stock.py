"""``site_stock`` (SQLite): stock available for dispatch per site, item type and last good day, kept by triggers.

``nearest`` asks "which sites near here have any of these item types available today?". Answered from the
stock tables, that is a walk over every site near the origin, its bins, their balances and their serial
units. On SQLite this table answers it from one index instead, ``(item_type_id, lat, lon, …)``: the rows
of the wanted item types in the latitude band of the search box.

One row per (site, item type, ``good_until``), ``available`` > 0, for the sites that can offer stock
(active, with coordinates, a kind in :data:`inventory.places.schemas.SITE_KINDS`):

* bulk item types: Σ (on hand − reserved) over the balances with something unreserved at the site's
  active locations (the site and its bins), by the lot's expiry date;
* serial item types: the units there whose status is ``available`` and readiness not ``fault``, by
  their next inspection date;

``good_until`` is that date ('9999-12-31' for none): the stock counts on any day up to it, so a query
keeps ``good_until >= today`` and the table never needs a nightly job. The rule is the one of
:mod:`inventory.availability.service`; the triggers recompute the rows of a (site, item type) from the stock
tables whenever a balance, a unit, a location or a lot changes what they hold, in the same transaction.
:func:`differences` recomputes the whole table and compares (``inventory ledger verify`` runs it).

SQLite only: its single writer makes the triggers' read-and-rewrite safe. On PostgreSQL, concurrent
writers at one site would contend (and could deadlock) on these rows, and its planner reads the stock
tables well enough; it queries them directly.

Migrations that rebuild ``balances``, ``assets``, ``locations`` or ``lots`` with ``batch_alter_table``
drop these triggers with the old table: such a migration must run the statements of :data:`TRIGGERS`
again (``tests/integration/test_site_stock.py`` checks that every one exists at head).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.places.schemas import SITE_KINDS

NEVER: Final = "9999-12-31"
"""``good_until`` of stock without an expiry or an inspection date."""

TABLE: Final = """
CREATE TABLE site_stock (
    site_id INTEGER NOT NULL REFERENCES locations (id),
    item_type_id INTEGER NOT NULL REFERENCES item_types (id),
    good_until DATE NOT NULL,
    available INTEGER NOT NULL CHECK (available > 0),
    kind VARCHAR(16) NOT NULL,
    lat FLOAT NOT NULL,
    lon FLOAT NOT NULL,
    PRIMARY KEY (site_id, item_type_id, good_until)
)"""
INDEX: Final = ("CREATE INDEX ix_site_stock_item_lat_lon ON site_stock "
                "(item_type_id, lat, lon, kind, good_until, available, site_id)")
"""The search index: equality on the item type, a range on latitude, the rest read from the index itself."""

_KINDS = ", ".join(f"'{k}'" for k in SITE_KINDS)


def _held(sites: str | None, items: str | None) -> str:
    """(site_id, item_type_id, good_until, n) of every available holding, optionally only these sites and items."""
    where_site = f" AND L.site_id IN ({sites})" if sites else ""

    def where_item(alias: str) -> str:
        return f" AND {alias}.item_type_id IN ({items})" if items else ""

    # CROSS JOIN fixes the order (SQLite keeps no statistics here): the site's locations, then their stock.
    return (
        f"SELECT L.site_id AS site_id, B.item_type_id AS item_type_id, "
        f"COALESCE(T.expiry_date, '{NEVER}') AS good_until, B.on_hand - B.reserved AS n "
        "FROM locations L CROSS JOIN balances B CROSS JOIN item_types I LEFT JOIN lots T ON T.id = B.lot_id "
        f"WHERE L.active{where_site} AND B.location_id = L.id{where_item('B')} AND I.id = B.item_type_id "
        "AND I.tracking = 'bulk' AND B.on_hand > B.reserved "
        "UNION ALL "
        f"SELECT L.site_id, A.item_type_id, COALESCE(A.next_inspection_due, '{NEVER}'), 1 "
        "FROM locations L CROSS JOIN assets A INDEXED BY ix_assets_location_item_status CROSS JOIN item_types I "
        f"WHERE L.active{where_site} AND A.location_id = L.id{where_item('A')} AND I.id = A.item_type_id "
        "AND I.tracking = 'serial' "
        "AND A.status = 'available' AND A.readiness <> 'fault'"
    )


def recompute_select(sites: str | None = None, items: str | None = None) -> str:
    """The rows ``site_stock`` should hold (for these sites and items, or all), columns in table order."""
    return (
        "SELECT S.id AS site_id, X.item_type_id AS item_type_id, X.good_until AS good_until, SUM(X.n) AS available, "
        "S.kind AS kind, S.lat AS lat, S.lon AS lon "
        f"FROM ({_held(sites, items)}) X JOIN locations S ON S.id = X.site_id "
        f"WHERE S.active AND S.lat IS NOT NULL AND S.lon IS NOT NULL AND S.kind IN ({_KINDS}) "
        "GROUP BY S.id, X.item_type_id, X.good_until, S.kind, S.lat, S.lon"
    )


_INSERT = "INSERT INTO site_stock (site_id, item_type_id, good_until, available, kind, lat, lon) "


def _refresh(sites: str, items: str | None) -> str:
    """Trigger body statements: forget the rows of these sites (and items), then write them anew."""
    only_items = f" AND item_type_id IN ({items})" if items else ""
    return (f"DELETE FROM site_stock WHERE site_id IN ({sites}){only_items};\n"
            f"{_INSERT}{recompute_select(sites, items)};")


def _site_of(ref: str) -> str:
    return f"SELECT site_id FROM locations WHERE id = {ref}.location_id"


def _trigger(name: str, event: str, table: str, body: str, when: str | None = None) -> str:
    return (f"CREATE TRIGGER {name} AFTER {event} ON {table}" + (f" WHEN {when}" if when else "")
            + f"\nBEGIN\n{body}\nEND")


_MOVED = "OLD.location_id IS NOT NEW.location_id OR OLD.item_type_id IS NOT NEW.item_type_id"
TRIGGERS: Final = {
    # A balance or a unit changes what its (site, item type) holds; moved to another place or item type,
    # what the old one holds too.
    "site_stock_balance_insert": _trigger("site_stock_balance_insert", "INSERT", "balances",
                                          _refresh(_site_of("NEW"), "NEW.item_type_id")),
    "site_stock_balance_update": _trigger(
        "site_stock_balance_update", "UPDATE OF on_hand, reserved, location_id, item_type_id, lot_id", "balances",
        _refresh(_site_of("NEW"), "NEW.item_type_id")),
    "site_stock_balance_move": _trigger("site_stock_balance_move", "UPDATE OF location_id, item_type_id",
                                        "balances", _refresh(_site_of("OLD"), "OLD.item_type_id"), _MOVED),
    "site_stock_balance_delete": _trigger("site_stock_balance_delete", "DELETE", "balances",
                                          _refresh(_site_of("OLD"), "OLD.item_type_id")),
    "site_stock_asset_insert": _trigger("site_stock_asset_insert", "INSERT", "assets",
                                        _refresh(_site_of("NEW"), "NEW.item_type_id"), "NEW.location_id IS NOT NULL"),
    "site_stock_asset_update": _trigger(
        "site_stock_asset_update", "UPDATE OF status, readiness, next_inspection_due, location_id, item_type_id",
        "assets", _refresh(_site_of("NEW"), "NEW.item_type_id")),
    "site_stock_asset_move": _trigger("site_stock_asset_move", "UPDATE OF location_id, item_type_id", "assets",
                                      _refresh(_site_of("OLD"), "OLD.item_type_id"), _MOVED),
    "site_stock_asset_delete": _trigger("site_stock_asset_delete", "DELETE", "assets",
                                        _refresh(_site_of("OLD"), "OLD.item_type_id")),
    # A place opened or closed, moved, re-sited or re-kinded: everything its site (old and new) holds.
    "site_stock_location_update": _trigger(
        "site_stock_location_update", "UPDATE OF active, site_id, lat, lon, kind", "locations",
        _refresh("NEW.site_id, OLD.site_id", None)),
    # A lot's expiry date (fixed at creation today; kept right should that change).
    "site_stock_lot_update": _trigger(
        "site_stock_lot_update", "UPDATE OF expiry_date", "lots",
        _refresh("SELECT L.site_id FROM balances B JOIN locations L ON L.id = B.location_id WHERE B.lot_id = NEW.id",
                 "NEW.item_type_id")),
}
"""Trigger name → its CREATE TRIGGER statement. (An item type's tracking cannot change once it has stock.)"""


def create_statements() -> list[str]:
    """Everything to run, in order, to add the table, its index and triggers, and fill it from the stock."""
    return [TABLE, INDEX, *TRIGGERS.values(), _INSERT + recompute_select()]


def drop_statements() -> list[str]:
    """The reverse of :func:`create_statements`."""
    return [*(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS), "DROP TABLE IF EXISTS site_stock"]


_COLUMNS = "site_id, item_type_id, good_until, kind, lat, lon"
_DIFFERENCES = text(
    f"SELECT {_COLUMNS}, SUM(stored), SUM(expected) FROM ("
    f"SELECT {_COLUMNS}, available AS stored, 0 AS expected FROM site_stock "
    f"UNION ALL SELECT {_COLUMNS}, 0, available FROM ({recompute_select()}) E"
    f") GROUP BY {_COLUMNS} HAVING SUM(stored) <> SUM(expected) ORDER BY site_id, item_type_id, good_until"
)


async def differences(conn: AsyncConnection) -> list[tuple[int, int, str, int, int]]:
    """(site, item type, good until, stored, expected) wherever ``site_stock`` disagrees with the stock tables.

    A row whose site moved or changed kind without its rows following shows twice: stored there, expected
    at the new place.
    """
    return [(int(r[0]), int(r[1]), str(r[2]), int(r[6]), int(r[7])) for r in await conn.execute(_DIFFERENCES)]
