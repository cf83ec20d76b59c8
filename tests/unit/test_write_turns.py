"""``inventory.store.db.Turns``: writers of the same stock go to PostgreSQL in arrival order, never waiting forever."""

from __future__ import annotations

import asyncio

import pytest

import inventory.store.db as db_module
from inventory.store.db import Turns


async def test_writers_of_one_key_get_their_turns_in_arrival_order_and_other_keys_do_not_wait() -> None:
    turns = Turns()
    assert await turns.take("bag@1")
    order: list[int] = []

    async def writer(n: int) -> None:
        assert await turns.take("bag@1")
        order.append(n)
        await asyncio.sleep(0)  # let the others run while this one holds the turn
        turns.give_back("bag@1")

    tasks = [asyncio.create_task(writer(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert order == []  # all five wait behind the first holder
    assert await asyncio.wait_for(turns.take("tent@1"), 0.1)  # another key: its own turn at once
    turns.give_back("bag@1")
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    turns.give_back("tent@1")
    assert await turns.take("bag@1")  # every turn was given back: the next takes it at once


async def test_a_writer_gives_up_its_turn_after_the_wait_and_a_cancelled_one_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db_module, "TURN_WAIT", 0.05)
    turns = Turns()
    assert await turns.take("k")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await turns.take("k") is False  # waited TURN_WAIT, then goes to PostgreSQL's row locks as before
    assert 0.04 <= loop.time() - started < 1.0
    cancelled = asyncio.create_task(turns.take("k"))
    waiting = asyncio.create_task(turns.take("k"))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    turns.give_back("k")  # the turn passes over the cancelled writer to the next one
    assert await waiting is True
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    turns.give_back("k")
    assert await turns.take("k")
