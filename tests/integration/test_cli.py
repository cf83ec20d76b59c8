"""The command line against a real database: ledger verify and demo load."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.cli import main
from inventory.demo.loader import load_demo
from inventory.store.db import Database


@pytest.mark.parametrize("backend", ["sqlite"])  # site_stock exists on SQLite only
async def test_ledger_verify_names_a_site_stock_row_that_disagrees_with_the_stock(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async with db.write() as session:
        await load_demo(session)
        site, item, good_until = (await session.execute(text(
            "SELECT site_id, item_type_id, good_until FROM site_stock ORDER BY site_id, item_type_id LIMIT 1"))).one()
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    tamper = ("UPDATE site_stock SET available = available + :n "
              "WHERE site_id = :s AND item_type_id = :i AND good_until = :g")
    async with db.write() as session:
        await session.execute(text(tamper), {"n": 5, "s": site, "i": item, "g": good_until})
    code = await asyncio.to_thread(main, ["ledger", "verify"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"地点 location {site} 品目 item {item} site_stock:{good_until}" in out and "≠ 库存 stock" in out
    async with db.write() as session:  # put it back: the fixture checks the table when the test ends
        await session.execute(text(tamper), {"n": -5, "s": site, "i": item, "g": good_until})


async def test_ledger_verify_passes_on_the_demo_and_fails_on_a_tampered_balance(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with db.write() as session:
        await load_demo(session)
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    import asyncio

    code = await asyncio.to_thread(main, ["ledger", "verify"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "账实相符" in out
    async with db.write() as session:
        await session.execute(text("UPDATE balances SET on_hand = on_hand + 7 WHERE id = "
                                   "(SELECT min(id) FROM balances WHERE reserved = 0)"))
    code = await asyncio.to_thread(main, ["ledger", "verify"])
    out = capsys.readouterr().out
    assert code == 1
    assert "差异" in out and "stored" in out
