"""The command line against a real database: ledger verify and demo load."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.cli import main
from inventory.db import Database
from inventory.demo import load_demo


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
