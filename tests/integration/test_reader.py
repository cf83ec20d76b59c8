"""``Database.reader()``: what ``nearest`` reads with — on SQLite a read transaction on a connection of its own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inventory.availability.service import nearest_available
from inventory.errors import InvalidInput
from inventory.store.db import Database, raw_sqlite
from inventory.store.models import Location


async def _add_location(db: Database, code: str) -> None:
    async with db.write() as session:
        session.add(Location(code=code, name=f"储备点{code}", kind="reserve_point", region_code="360121", path="/"))


async def _count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Location)) or 0)


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's reader is a read session (read committed)
async def test_a_sqlite_reader_sees_one_snapshot_and_the_next_one_sees_later_writes(db: Database) -> None:
    await _add_location(db, "R1")
    async with db.reader() as reader:
        raw = await raw_sqlite(reader)
        before = raw.fetchall("SELECT COUNT(*) FROM locations", ())[0][0]
        await _add_location(db, "R2")  # committed by the writer meanwhile
        assert raw.fetchall("SELECT COUNT(*) FROM locations", ())[0][0] == before
    assert await _count(db) == before + 1
    async with db.reader() as reader:
        assert (await raw_sqlite(reader)).fetchall("SELECT COUNT(*) FROM locations", ())[0][0] == before + 1


async def test_a_refused_query_leaves_the_reader_usable(db: Database) -> None:
    for _ in range(3):
        with pytest.raises(InvalidInput) as refused:
            async with db.reader() as reader:
                await nearest_available(reader, lat=28.5, lon=115.9, item_type="NO-SUCH-ITEM")
        assert refused.value.field == "item_type"
    async with db.reader() as reader:
        answer = await nearest_available(reader, lat=28.5, lon=115.9, tag="fast")  # an empty catalogue: none
    assert answer.sources == [] and answer.shortfall == 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_nul_character_is_refused_on_the_raw_path_too(db: Database) -> None:
    async with db.reader() as reader:
        with pytest.raises(InvalidInput):
            await nearest_available(reader, lat=28.5, lon=115.9, category="pu\x00mp")
