"""A digest of everything a write could change, to prove that a refused request changed nothing."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from inventory.store.db import Database
from inventory.store.models import Base

# What a refused request may still write (its audit entry), or what no request writes (the regions).
IGNORED = frozenset({"audit_log", "idempotency_keys", "auth_tokens", "login_failures", "regions"})


async def state(db: Database) -> dict[str, str]:
    """One hash per table of its rows in primary-key order."""
    digests: dict[str, str] = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED:
                continue
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            digests[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
