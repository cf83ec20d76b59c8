"""Data and DDL that migrations apply: Jiangxi regions and append-only triggers."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.engine import Connection

APPEND_ONLY_TABLES: tuple[str, ...] = ("documents", "movements")


def read_regions() -> Iterator[dict[str, object]]:
    """Jiangxi's GB/T 2260 codes (package data), parents before children."""
    data = resources.files("inventory.places") / "data"

    def rows(name: str) -> list[dict[str, str]]:
        with (data / name).open(encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    for r in rows("jiangxi-provinces.csv"):
        yield {"code": r["code"], "name": r["name"], "level": 1, "parent_code": None}
    for r in rows("jiangxi-cities.csv"):
        yield {"code": r["code"], "name": r["name"], "level": 2, "parent_code": r["provinceCode"]}
    for r in rows("jiangxi-areas.csv"):
        yield {"code": r["code"], "name": r["name"], "level": 3, "parent_code": r["cityCode"]}
    for r in rows("jiangxi-streets.csv"):
        yield {"code": r["code"] + "000", "name": r["name"], "level": 4, "parent_code": r["areaCode"]}


def load_regions(conn: Connection) -> int:
    """Insert the regions that are not there yet; returns how many were inserted."""
    regions = sa.table(
        "regions",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("level", sa.Integer),
        sa.column("parent_code", sa.String),
    )
    existing = {row[0] for row in conn.execute(sa.select(regions.c.code))}
    new = [r for r in read_regions() if r["code"] not in existing]
    if new:
        conn.execute(regions.insert(), new)
    return len(new)


def append_only_triggers(dialect: str, tables: Sequence[str]) -> list[str]:
    """DDL that makes the database itself refuse UPDATE and DELETE on ledger tables."""
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(
            """
            CREATE OR REPLACE FUNCTION inventory_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'append-only table %: % refused (ledger is never edited)',
                    TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for t in tables:
            statements.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                              f"FOR EACH ROW EXECUTE FUNCTION inventory_refuse_change()")
            statements.append(f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                              f"FOR EACH STATEMENT EXECUTE FUNCTION inventory_refuse_change()")
    else:
        for t in tables:
            for op in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} BEGIN "
                    f"SELECT RAISE(ABORT, 'append-only table {t}: {op} refused (ledger is never edited)'); END"
                )
    return statements
