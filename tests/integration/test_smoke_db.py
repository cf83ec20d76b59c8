"""The migrated schema is usable on each database."""

from sqlalchemy import func, select

from inventory.store.db import Database
from inventory.store.models import Region


async def test_migrations_load_every_jiangxi_region(db: Database) -> None:
    async with db.read() as session:
        counts = dict((await session.execute(select(Region.level, func.count()).group_by(Region.level))).all())
    assert counts == {1: 1, 2: 11, 3: 100, 4: 1767}
