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

On SQLite the triggers recompute the rows of a (site, item type) from the stock tables: its single writer
makes that read-and-rewrite safe. On PostgreSQL (:data:`PG_STATEMENTS`) concurrent writers must neither
deadlock nor queue behind each other on these rows, so its triggers keep the table by differences instead:

* a row trigger on ``balances`` and ``assets`` notes each change's difference to what its (site, item type,
  good until) has available in ``site_stock_pending`` (an unlogged table, one set of rows per transaction,
  never holding a committed row), taking a key-share lock on the holding place and its site (and the lot);
* a deferred constraint trigger on the same tables applies the transaction's differences when it commits:
  summed per row, in one statement, in the order (item type, site, good until) — the order
  :func:`inventory.stock.ledger.lock_balances` takes balance rows — so two writers wait on a row of this
  table only for each other's commit, never in a cycle. A row that reaches 0 stays (readers keep
  ``available > 0``); the column is not indexed, so the update is a HOT one;
* a change of a place (active, site, coordinates, kind) or of a lot's expiry first takes the row lock that
  conflicts with those key-share locks — so every writer that noted stock there has committed and none can
  start — then locks the table against applies for the rest of its transaction and recomputes the sites
  concerned from the stock tables (rare: an administrator's edit).

Migrations that rebuild ``balances``, ``assets``, ``locations`` or ``lots`` with ``batch_alter_table``
drop these triggers with the old table: such a migration must run the statements of :data:`TRIGGERS` (or
:data:`PG_STATEMENTS`) again (``tests/integration/test_site_stock.py`` checks that every one exists at head).
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


def _held(sites: str | None, items: str | None, sqlite: bool) -> str:
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
        f"FROM locations L CROSS JOIN assets A{' INDEXED BY ix_assets_location_item_status' if sqlite else ''} "
        "CROSS JOIN item_types I "
        f"WHERE L.active{where_site} AND A.location_id = L.id{where_item('A')} AND I.id = A.item_type_id "
        "AND I.tracking = 'serial' "
        "AND A.status = 'available' AND A.readiness <> 'fault'"
    )


_PG_SITE_COLUMNS = ", S.region_code, S.agreement_lead_hours"
"""What PostgreSQL's table also keeps of the site: all that ranking sources needs besides kind and place."""


def recompute_select(sites: str | None = None, items: str | None = None, *, sqlite: bool = True) -> str:
    """The rows ``site_stock`` should hold (for these sites and items, or all), columns in table order."""
    site = "" if sqlite else _PG_SITE_COLUMNS
    return (
        "SELECT S.id AS site_id, X.item_type_id AS item_type_id, X.good_until AS good_until, SUM(X.n) AS available, "
        f"S.kind AS kind, S.lat AS lat, S.lon AS lon{site} "
        f"FROM ({_held(sites, items, sqlite)}) X JOIN locations S ON S.id = X.site_id "
        f"WHERE S.active AND S.lat IS NOT NULL AND S.lon IS NOT NULL AND S.kind IN ({_KINDS}) "
        f"GROUP BY S.id, X.item_type_id, X.good_until, S.kind, S.lat, S.lon{site}"
    )


_INSERT = "INSERT INTO site_stock (site_id, item_type_id, good_until, available, kind, lat, lon) "
_PG_INSERT = ("INSERT INTO site_stock (site_id, item_type_id, good_until, available, kind, lat, lon, region_code, "
              "agreement_lead_hours) ")


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


_SITE_OK = (f"L.active AND S.active AND S.lat IS NOT NULL AND S.lon IS NOT NULL AND S.kind IN ({_KINDS})")

PG_STATEMENTS: Final = (
    # available may reach 0 and stay (readers keep available > 0). No CHECK on it: PostgreSQL checks the row an
    # INSERT … ON CONFLICT proposes (a negative difference) before it finds the row to add it to. No foreign
    # keys: a derived table, checked by ``inventory ledger verify``.
    """CREATE TABLE site_stock (
    site_id INTEGER NOT NULL,
    item_type_id INTEGER NOT NULL,
    good_until DATE NOT NULL,
    available INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    region_code VARCHAR(12) NOT NULL,
    agreement_lead_hours DOUBLE PRECISION,
    PRIMARY KEY (site_id, item_type_id, good_until)
) WITH (fillfactor = 50)""",
    # available is left out of every index so that the write path's updates are HOT ones.
    "CREATE INDEX ix_site_stock_item_lat_lon ON site_stock (item_type_id, lat, lon) "
    "INCLUDE (kind, good_until, site_id)",
    """CREATE UNLOGGED TABLE site_stock_pending (
    tx BIGINT NOT NULL DEFAULT txid_current(),
    site_id INTEGER NOT NULL,
    item_type_id INTEGER NOT NULL,
    good_until DATE NOT NULL,
    delta INTEGER NOT NULL
)""",
    "CREATE INDEX ix_site_stock_pending_tx ON site_stock_pending (tx)",
    # Note a difference of what a place holds for an item type (of this tracking) until a day.
    f"""CREATE FUNCTION site_stock_note(p_location INTEGER, p_item INTEGER, p_good DATE, p_delta INTEGER,
                                 p_tracking TEXT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_site INTEGER;
    v_ok BOOLEAN;
BEGIN
    IF p_location IS NULL OR p_delta = 0 THEN
        RETURN;
    END IF;
    -- The key-share locks make a change of the place or its site wait for this transaction (see the module doc).
    SELECT S.id, {_SITE_OK} INTO v_site, v_ok
      FROM locations L JOIN locations S ON S.id = L.site_id WHERE L.id = p_location FOR KEY SHARE OF L, S;
    IF NOT FOUND OR NOT v_ok THEN
        RETURN;
    END IF;
    IF (SELECT tracking FROM item_types WHERE id = p_item) IS DISTINCT FROM p_tracking THEN
        RETURN;
    END IF;
    INSERT INTO site_stock_pending (site_id, item_type_id, good_until, delta)
    VALUES (v_site, p_item, COALESCE(p_good, DATE '{NEVER}'), p_delta);
END $$""",
    f"""CREATE FUNCTION site_stock_lot_expiry(p_lot INTEGER) RETURNS DATE LANGUAGE plpgsql AS $$
DECLARE
    v_expiry DATE;
BEGIN
    IF p_lot IS NULL THEN
        RETURN DATE '{NEVER}';
    END IF;
    SELECT expiry_date INTO v_expiry FROM lots WHERE id = p_lot FOR KEY SHARE;
    RETURN COALESCE(v_expiry, DATE '{NEVER}');
END $$""",
    """CREATE FUNCTION site_stock_balance_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_delta INTEGER;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.location_id = OLD.location_id AND NEW.item_type_id = OLD.item_type_id
       AND NEW.lot_id IS NOT DISTINCT FROM OLD.lot_id THEN
        v_delta := GREATEST(NEW.on_hand - NEW.reserved, 0) - GREATEST(OLD.on_hand - OLD.reserved, 0);
        IF v_delta <> 0 THEN
            PERFORM site_stock_note(NEW.location_id, NEW.item_type_id, site_stock_lot_expiry(NEW.lot_id), v_delta,
                                    'bulk');
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.on_hand > OLD.reserved THEN
        PERFORM site_stock_note(OLD.location_id, OLD.item_type_id, site_stock_lot_expiry(OLD.lot_id),
                                OLD.reserved - OLD.on_hand, 'bulk');
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.on_hand > NEW.reserved THEN
        PERFORM site_stock_note(NEW.location_id, NEW.item_type_id, site_stock_lot_expiry(NEW.lot_id),
                                NEW.on_hand - NEW.reserved, 'bulk');
    END IF;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION site_stock_asset_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_old INTEGER := 0;
    v_new INTEGER := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'available' AND OLD.readiness <> 'fault' THEN
        v_old := 1;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'available' AND NEW.readiness <> 'fault' THEN
        v_new := 1;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.location_id IS NOT DISTINCT FROM OLD.location_id
       AND NEW.item_type_id = OLD.item_type_id
       AND NEW.next_inspection_due IS NOT DISTINCT FROM OLD.next_inspection_due THEN
        PERFORM site_stock_note(NEW.location_id, NEW.item_type_id, NEW.next_inspection_due, v_new - v_old, 'serial');
        RETURN NULL;
    END IF;
    IF v_old = 1 THEN
        PERFORM site_stock_note(OLD.location_id, OLD.item_type_id, OLD.next_inspection_due, -1, 'serial');
    END IF;
    IF v_new = 1 THEN
        PERFORM site_stock_note(NEW.location_id, NEW.item_type_id, NEW.next_inspection_due, 1, 'serial');
    END IF;
    RETURN NULL;
END $$""",
    # At commit: the transaction's differences, summed, applied in (item type, site, good until) order.
    """CREATE FUNCTION site_stock_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH noted AS (DELETE FROM site_stock_pending WHERE tx = txid_current()
                   RETURNING site_id, item_type_id, good_until, delta),
         summed AS (SELECT site_id, item_type_id, good_until, SUM(delta) AS delta FROM noted
                    GROUP BY site_id, item_type_id, good_until HAVING SUM(delta) <> 0)
    INSERT INTO site_stock AS X (site_id, item_type_id, good_until, available, kind, lat, lon, region_code,
                                 agreement_lead_hours)
    SELECT D.site_id, D.item_type_id, D.good_until, D.delta, S.kind, S.lat, S.lon, S.region_code,
           S.agreement_lead_hours
      FROM summed D JOIN locations S ON S.id = D.site_id
     ORDER BY D.item_type_id, D.site_id, D.good_until
    ON CONFLICT (site_id, item_type_id, good_until) DO UPDATE SET available = X.available + EXCLUDED.available;
    RETURN NULL;
END $$""",
    # Recompute these sites from the stock tables, with no apply running or starting until this commits.
    f"""CREATE FUNCTION site_stock_recompute(p_sites INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE site_stock IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM site_stock_pending WHERE tx = txid_current() AND site_id = ANY(p_sites);
    DELETE FROM site_stock WHERE site_id = ANY(p_sites);
    {_PG_INSERT}
    {recompute_select("SELECT unnest(p_sites)", None, sqlite=False)};
END $$""",
    """CREATE FUNCTION site_stock_location_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Conflicts with the writers' key-share locks: every one that noted stock here has committed.
    PERFORM 1 FROM locations WHERE id = NEW.id FOR UPDATE;
    PERFORM site_stock_recompute(ARRAY[OLD.site_id, NEW.site_id]);
    RETURN NULL;
END $$""",
    """CREATE FUNCTION site_stock_lot_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM lots WHERE id = NEW.id FOR UPDATE;
    PERFORM site_stock_recompute(ARRAY(SELECT DISTINCT L.site_id FROM balances B
                                       JOIN locations L ON L.id = B.location_id WHERE B.lot_id = NEW.id));
    RETURN NULL;
END $$""",
    "CREATE TRIGGER site_stock_balance_change AFTER INSERT OR UPDATE OF on_hand, reserved, location_id, "
    "item_type_id, lot_id OR DELETE ON balances FOR EACH ROW EXECUTE FUNCTION site_stock_balance_change()",
    "CREATE TRIGGER site_stock_asset_change AFTER INSERT OR UPDATE OF status, readiness, next_inspection_due, "
    "location_id, item_type_id OR DELETE ON assets FOR EACH ROW EXECUTE FUNCTION site_stock_asset_change()",
    "CREATE CONSTRAINT TRIGGER site_stock_balance_apply AFTER INSERT OR UPDATE OR DELETE ON balances "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION site_stock_apply()",
    "CREATE CONSTRAINT TRIGGER site_stock_asset_apply AFTER INSERT OR UPDATE OR DELETE ON assets "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION site_stock_apply()",
    "CREATE TRIGGER site_stock_location_change AFTER UPDATE OF active, site_id, lat, lon, kind, region_code, "
    "agreement_lead_hours ON locations FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active "
    "OR OLD.site_id IS DISTINCT FROM NEW.site_id OR OLD.lat IS DISTINCT FROM NEW.lat OR OLD.lon IS DISTINCT FROM "
    "NEW.lon OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.region_code IS DISTINCT FROM NEW.region_code "
    "OR OLD.agreement_lead_hours IS DISTINCT FROM NEW.agreement_lead_hours) "
    "EXECUTE FUNCTION site_stock_location_change()",
    "CREATE TRIGGER site_stock_lot_change AFTER UPDATE OF expiry_date ON lots FOR EACH ROW "
    "WHEN (OLD.expiry_date IS DISTINCT FROM NEW.expiry_date) EXECUTE FUNCTION site_stock_lot_change()",
)
"""PostgreSQL: the table, its search index, the pending differences and the functions and triggers keeping it."""

PG_TRIGGERS: Final = {"balances": ("site_stock_balance_change", "site_stock_balance_apply"),
                      "assets": ("site_stock_asset_change", "site_stock_asset_apply"),
                      "locations": ("site_stock_location_change",), "lots": ("site_stock_lot_change",)}
"""PostgreSQL: table → the triggers on it that keep ``site_stock``."""

PG_FUNCTIONS: Final = ("site_stock_balance_change", "site_stock_asset_change", "site_stock_apply",
                       "site_stock_location_change", "site_stock_lot_change", "site_stock_recompute(INTEGER[])",
                       "site_stock_note(INTEGER, INTEGER, DATE, INTEGER, TEXT)", "site_stock_lot_expiry(INTEGER)")


def pg_create_statements() -> list[str]:
    """PostgreSQL: everything to run, in order, to add the table and its triggers and fill it from the stock."""
    return [*PG_STATEMENTS, _PG_INSERT + recompute_select(sqlite=False)]


def pg_drop_statements() -> list[str]:
    """The reverse of :func:`pg_create_statements`."""
    return ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, names in PG_TRIGGERS.items() for name in names]
            + [f"DROP FUNCTION IF EXISTS {f}" for f in PG_FUNCTIONS]
            + ["DROP TABLE IF EXISTS site_stock_pending", "DROP TABLE IF EXISTS site_stock"])


PG_WITH_PENDING: Final = (
    "(SELECT site_id, item_type_id, good_until, available, kind, lat, lon, region_code, agreement_lead_hours "
    "FROM site_stock UNION ALL SELECT P.site_id, P.item_type_id, P.good_until, P.delta, S.kind, S.lat, S.lon"
    f"{_PG_SITE_COLUMNS} "
    "FROM site_stock_pending P JOIN locations S ON S.id = P.site_id WHERE P.tx = txid_current_if_assigned())"
)
"""PostgreSQL: ``site_stock`` as this transaction sees it — its own differences, not applied until it commits,
added (none in a transaction that has written nothing). Several rows per key: sum them. Reading them takes no
lock, so a write that reads the table (a dispatch choosing its sources after reserving some) neither waits nor
makes others wait."""


async def rebuild(conn: AsyncConnection) -> int:
    """Fill ``site_stock`` anew from the stock tables (after a bulk load that bypassed the triggers); rows written."""
    sqlite = conn.dialect.name == "sqlite"
    if not sqlite:
        await conn.execute(text("LOCK TABLE site_stock IN SHARE ROW EXCLUSIVE MODE"))
    await conn.execute(text("DELETE FROM site_stock"))
    result = await conn.execute(text((_INSERT if sqlite else _PG_INSERT) + recompute_select(sqlite=sqlite)))
    return int(result.rowcount)


def _differences(sqlite: bool) -> str:
    site = "" if sqlite else _PG_SITE_COLUMNS.replace("S.", "")
    columns = f"site_id, item_type_id, good_until, kind, lat, lon{site}"
    return (
        f"SELECT {columns}, SUM(stored), SUM(expected) FROM ("
        f"SELECT {columns}, available AS stored, 0 AS expected FROM {'site_stock' if sqlite else PG_WITH_PENDING} X "
        f"UNION ALL SELECT {columns}, 0, available FROM ({recompute_select(sqlite=sqlite)}) E"
        f") D GROUP BY {columns} HAVING SUM(stored) <> SUM(expected) ORDER BY site_id, item_type_id, good_until"
    )


async def differences(conn: AsyncConnection) -> list[tuple[int, int, str, int, int]]:
    """(site, item type, good until, stored, expected) wherever ``site_stock`` disagrees with the stock tables.

    A row whose site moved or changed kind without its rows following shows twice: stored there, expected
    at the new place. (A row at 0, which PostgreSQL keeps, agrees with nothing expected.)
    """
    rows = await conn.execute(text(_differences(conn.dialect.name == "sqlite")))
    return [(int(r[0]), int(r[1]), str(r[2]), int(r[-2]), int(r[-1])) for r in rows]
