"""The key that signs the phone pages' CSRF tokens when none is configured: made once, kept in the database.

A key made afresh by each process broke every open form at each restart (the old token no longer
verified) and differed between the processes of one PostgreSQL deployment. Kept in the ``settings``
table it survives restarts and every process reads the same one; two processes starting at once both
insert-if-absent and then read back whichever insert won.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from inventory.store.db import Database, dialect_name
from inventory.store.models import Setting

SETTING = "csrf_secret_key"


async def shared_secret(db: Database) -> str:
    """The stored key, made now (race-safe between processes) if there is none yet."""
    find = select(Setting.value).where(Setting.key == SETTING)
    async with db.read() as session:
        value = await session.scalar(find)
    if value:
        return value
    async with db.write() as session:
        builder = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
        await session.execute(builder(Setting).values(key=SETTING, value=secrets.token_urlsafe(48))
                              .on_conflict_do_nothing(index_elements=[Setting.key]))
        value = await session.scalar(find)
    if not value:
        raise RuntimeError("the CSRF secret could not be stored in the settings table")
    return value
