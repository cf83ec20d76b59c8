"""Concurrent writes against the same stock: never negative, never twice, on SQLite and PostgreSQL.

On PostgreSQL each task has its own session and connection, so the transactions really overlap in the
database (each test checks that they did). On SQLite the Database serialises writers by design; the
outcome must be the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

import inventory.stock.ledger
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.reversal import reverse_document
from inventory.stock.schemas import (
    AssetCreate,
    LotSpec,
    MovementCreate,
    MovementLine,
    ReceiveLine,
    TransferReceive,
)
from inventory.stock.transfers import receive_transfer
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, Document, Lot

TASKS = 20


@dataclass
class Place:
    """A depot with tents, two other depots, and pumps at the first depot."""

    depot: int
    others: list[int]
    tent: int
    pump: int
    pumps: list[int]


async def make_place(db: Database, *, tents: int = 10) -> Place:
    """南昌县 depot with ``tents`` tents and three pumps; depots in 进贤县 and 安义县 to send things to."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-NCX", name="南昌县综合应急物资储备库", kind="depot", region_code="360121", lat=28.55, lon=115.94))
        jinxian = await create_location(s, LocationCreate(
            code="D-JXX", name="进贤县应急物资储备库", kind="depot", region_code="360124", lat=28.37, lon=116.24))
        anyi = await create_location(s, LocationCreate(
            code="D-AYX", name="安义县应急物资储备库", kind="depot", region_code="360123", lat=28.84, lon=115.55))
        tent = await create_item_type(s, ItemTypeCreate(
            code="TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter"))
        pump = await create_item_type(s, ItemTypeCreate(
            code="PUMP-300", name="移动泵车", unit="台", tracking="serial", category="pump"))
        pumps = [await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"BC-{n}",
                                                   location_id=depot.id)) for n in (1, 2, 3)]
        if tents:
            await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[
                MovementLine(item_type_id=tent.id, quantity=tents)]), actor="keeper")
        return Place(depot.id, [jinxian.id, anyi.id], tent.id, pump.id, [p.id for p in pumps])


class Overlap:
    """Counts how many wrapped calls are running at once; the peak proves the test really interleaved."""

    def __init__(self, meet: int = 1) -> None:
        self.running = 0
        self.peak = 0
        self.meet = meet  # wait (a second at most) until this many calls run before going on

    def wrap(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """``fn`` with counting around each call; with ``meet`` > 1 a call waits for the others to arrive, so that
        on a loaded machine the requests still interleave rather than one finishing before the next starts."""

        async def counted(*args: Any, **kwargs: Any) -> Any:
            with self:
                for _ in range(100):
                    if self.peak >= self.meet:
                        break
                    await asyncio.sleep(0.01)
                return await fn(*args, **kwargs)

        return counted

    def __enter__(self) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)

    def __exit__(self, *exc: object) -> None:
        self.running -= 1


def assert_overlapped(db: Database, overlap: Overlap) -> None:
    """On PostgreSQL the transactions ran side by side; SQLite serialises writers by design."""
    if db.is_sqlite:
        assert overlap.peak == 1
    else:
        assert overlap.peak > 1


async def run_all(tasks: list[Awaitable[Any]]) -> list[Any]:
    """Run the tasks together; results and exceptions in order."""
    return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)


async def assert_books_agree(db: Database) -> None:
    """verify_ledger finds no difference."""
    async with db.read() as s:
        report = await verify_ledger(s)
    assert report.differences == []


async def figures(db: Database, location: int, item: int) -> tuple[int, int, int]:
    """(on hand, reserved, in transit) summed over lots."""
    async with db.read() as s:
        row = (await s.execute(select(func.coalesce(func.sum(Balance.on_hand), 0),
                                      func.coalesce(func.sum(Balance.reserved), 0),
                                      func.coalesce(func.sum(Balance.in_transit), 0)).where(
            Balance.location_id == location, Balance.item_type_id == item))).one()
    return int(row[0]), int(row[1]), int(row[2])


async def documents(db: Database, kind: str) -> int:
    """How many documents of a kind exist."""
    async with db.read() as s:
        return await s.scalar(select(func.count()).select_from(Document).where(Document.kind == kind)) or 0


def outcome(results: list[Any]) -> Counter[str]:
    """How many tasks succeeded and how each failure was classified; anything unexpected is raised."""
    seen: Counter[str] = Counter()
    for r in results:
        if isinstance(r, InsufficientStock):
            seen["insufficient"] += 1
        elif isinstance(r, Conflict):
            seen["conflict"] += 1
        elif isinstance(r, BaseException):
            raise r
        else:
            seen["ok"] += 1
    return seen


async def test_twenty_concurrent_issues_against_ten_available_let_exactly_ten_through(db: Database) -> None:
    p = await make_place(db)
    overlap = Overlap()

    async def issue_one() -> int:
        async with db.write() as s:
            with overlap:
                doc = await post_document(s, MovementCreate(kind="issue", location_id=p.depot, lines=[
                    MovementLine(item_type_id=p.tent, quantity=1)]), actor="keeper")
                return doc.id

    results = await run_all([issue_one() for _ in range(TASKS)])
    assert outcome(results) == {"ok": 10, "insufficient": TASKS - 10}
    assert all(r.extra["available"] == 0 for r in results if isinstance(r, InsufficientStock))
    assert_overlapped(db, overlap)
    assert await figures(db, p.depot, p.tent) == (0, 0, 0)
    assert await documents(db, "issue") == 10
    await assert_books_agree(db)


async def test_concurrent_issues_picking_across_lots_never_take_more_than_each_lot_holds(db: Database) -> None:
    p = await make_place(db, tents=0)
    soon, late = beijing_today() + dt.timedelta(days=30), beijing_today() + dt.timedelta(days=300)
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=p.depot, lines=[
            MovementLine(item_type_id=p.tent, quantity=4, lot=LotSpec(number="T-SOON", expiry_date=soon)),
            MovementLine(item_type_id=p.tent, quantity=7, lot=LotSpec(number="T-LATE", expiry_date=late)),
        ]), actor="keeper")
    overlap = Overlap()

    async def issue(qty: int) -> int:
        async with db.write() as s:
            with overlap:
                doc = await post_document(s, MovementCreate(kind="issue", location_id=p.depot, lines=[
                    MovementLine(item_type_id=p.tent, quantity=qty)]), actor="keeper")
                return doc.id

    results = await run_all([issue(3) for _ in range(TASKS // 2)])
    assert outcome(results) == {"ok": 3, "insufficient": TASKS // 2 - 3}
    assert_overlapped(db, overlap)
    assert await figures(db, p.depot, p.tent) == (2, 0, 0)
    await assert_books_agree(db)


async def test_concurrent_receipts_of_a_new_lot_number_create_the_lot_once(db: Database) -> None:
    p = await make_place(db, tents=0)
    expiry = beijing_today() + dt.timedelta(days=700)
    overlap = Overlap()

    async def receive_lot(qty: int) -> int:
        async with db.write() as s:
            with overlap:
                doc = await post_document(s, MovementCreate(kind="receipt", location_id=p.depot, lines=[
                    MovementLine(item_type_id=p.tent, quantity=qty,
                                 lot=LotSpec(number="T-20260715", expiry_date=expiry))]), actor="keeper")
                return doc.id

    results = await run_all([receive_lot(2) for _ in range(5)])
    assert outcome(results) == {"ok": 5}
    assert_overlapped(db, overlap)
    async with db.read() as s:
        lots = (await s.execute(select(Lot.number, Lot.expiry_date))).all()
    assert [tuple(row) for row in lots] == [("T-20260715", expiry)]
    assert await figures(db, p.depot, p.tent) == (10, 0, 0)
    await assert_books_agree(db)


async def test_two_concurrent_transfers_of_the_same_unit_let_exactly_one_through(db: Database) -> None:
    p = await make_place(db, tents=0)
    overlap = Overlap()

    async def send(asset_id: int, to: int) -> int:
        async with db.write() as s:
            with overlap:
                doc = await post_document(s, MovementCreate(kind="transfer", location_id=p.depot, to_location_id=to,
                                                            lines=[MovementLine(item_type_id=p.pump, quantity=1,
                                                                                asset_ids=[asset_id])]),
                                          actor="keeper")
                return doc.id

    # Every pump is raced by two transfers to different depots.
    results = await run_all([send(a, to) for a in p.pumps for to in p.others])
    assert outcome(results) == {"ok": 3, "conflict": 3}
    assert_overlapped(db, overlap)
    async with db.read() as s:
        assets = (await s.scalars(select(Asset).order_by(Asset.id))).all()
    assert [a.status for a in assets] == ["in_transit"] * 3
    assert all(a.location_id in p.others for a in assets)
    in_transit = [await figures(db, to, p.pump) for to in p.others]
    assert sum(t for _, _, t in in_transit) == 3
    assert [t for _, _, t in in_transit] == [sum(a.location_id == to for a in assets) for to in p.others]
    assert await figures(db, p.depot, p.pump) == (0, 0, 0)
    assert await documents(db, "transfer") == 3
    await assert_books_agree(db)


async def test_transfers_crossing_between_two_depots_at_once_all_go_through(db: Database) -> None:
    p = await make_place(db)
    a, b = p.depot, p.others[0]
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=b, lines=[
            MovementLine(item_type_id=p.tent, quantity=10)]), actor="keeper")
    overlap = Overlap()

    async def send(source: int, dest: int) -> int:
        async with db.write() as s:
            with overlap:
                doc = await post_document(s, MovementCreate(kind="transfer", location_id=source, to_location_id=dest,
                                                            lines=[MovementLine(item_type_id=p.tent, quantity=1)]),
                                          actor="keeper")
                return doc.id

    # Opposite directions take the same rows in opposite orders: without one lock order they deadlock.
    results = await run_all([send(*pair) for _ in range(TASKS // 2) for pair in ((a, b), (b, a))])
    assert outcome(results) == {"ok": TASKS}
    assert_overlapped(db, overlap)
    assert await figures(db, a, p.tent) == (0, 0, 10)
    assert await figures(db, b, p.tent) == (0, 0, 10)
    await assert_books_agree(db)


async def test_two_concurrent_receipts_of_one_transfer_receive_it_once(db: Database) -> None:
    p = await make_place(db)
    dest = p.others[0]
    ids = []
    async with db.write() as s:
        for qty in (3, 4):
            doc = await post_document(s, MovementCreate(kind="transfer", location_id=p.depot, to_location_id=dest,
                                                        lines=[MovementLine(item_type_id=p.tent, quantity=qty)]),
                                      actor="keeper")
            ids.append(doc.id)
    first, other = ids
    overlap = Overlap()

    async def receive_all() -> int:
        async with db.write() as s:
            with overlap:
                return (await receive_transfer(s, first, TransferReceive(), actor="keeper")).id

    results = await run_all([receive_all() for _ in range(4)])
    assert outcome(results) == {"ok": 1, "conflict": 3}
    assert_overlapped(db, overlap)
    # The other transfer's goods are still on their way, and can still be received.
    assert await figures(db, dest, p.tent) == (3, 0, 4)
    async with db.write() as s:
        await receive_transfer(s, other, TransferReceive(lines=[ReceiveLine(item_type_id=p.tent, quantity=4)]),
                               actor="keeper")
    assert await figures(db, dest, p.tent) == (7, 0, 0)
    await assert_books_agree(db)


async def test_two_concurrent_reversals_of_one_document_reverse_it_once(db: Database) -> None:
    p = await make_place(db)
    async with db.write() as s:
        issued = (await post_document(s, MovementCreate(kind="issue", location_id=p.depot, lines=[
            MovementLine(item_type_id=p.tent, quantity=4),
            MovementLine(item_type_id=p.pump, quantity=1, asset_ids=[p.pumps[0]])]), actor="keeper")).id
    overlap = Overlap()

    async def undo() -> int:
        async with db.write() as s:
            with overlap:
                return (await reverse_document(s, issued, "重复出库", actor="keeper")).id

    results = await run_all([undo() for _ in range(4)])
    assert outcome(results) == {"ok": 1, "conflict": 3}
    assert_overlapped(db, overlap)
    assert await figures(db, p.depot, p.tent) == (10, 0, 0)
    assert await figures(db, p.depot, p.pump) == (3, 0, 0)
    await assert_books_agree(db)


# --- the same races through HTTP: the test client runs the app in this event loop, so requests overlap ------


async def test_twenty_concurrent_http_issues_against_ten_available_give_ten_201_and_ten_409(
    db: Database, client: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = await make_place(db)
    overlap = Overlap()
    monkeypatch.setattr(inventory.stock.ledger, "post_document", overlap.wrap(inventory.stock.ledger.post_document))
    body = {"kind": "issue", "location_id": p.depot, "lines": [{"item_type_id": p.tent, "quantity": 1}]}
    responses = await run_all([client.post("/api/v1/movements", json=body) for _ in range(TASKS)])
    stock = (await client.get("/api/v1/stock", params={"location_id": p.depot, "item_type_id": p.tent})).json()
    assert Counter(r.status_code for r in responses) == {201: 10, 409: TASKS - 10}
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert all(r["available"] == 0 and r["requested"] == 1 for r in refusals)
    assert all(r["errors"][0]["field"] == "lines.0.quantity" for r in refusals)
    assert_overlapped(db, overlap)
    assert stock["items"] == []
    assert await figures(db, p.depot, p.tent) == (0, 0, 0)
    await assert_books_agree(db)


async def test_two_concurrent_http_transfers_of_the_same_unit_give_one_201_and_one_409(
    db: Database, client: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = await make_place(db, tents=0)
    overlap = Overlap(meet=1 if db.is_sqlite else 2)
    monkeypatch.setattr(inventory.stock.ledger, "post_document", overlap.wrap(inventory.stock.ledger.post_document))

    def body(to: int) -> dict[str, Any]:
        return {"kind": "transfer", "location_id": p.depot, "to_location_id": to,
                "lines": [{"item_type_id": p.pump, "quantity": 1, "asset_ids": [p.pumps[0]]}]}

    responses = await run_all([client.post("/api/v1/movements", json=body(to)) for to in p.others])
    asset = (await client.get(f"/api/v1/assets/{p.pumps[0]}")).json()
    for r in responses:
        if isinstance(r, BaseException):
            raise r
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert_overlapped(db, overlap)
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert (asset["status"], asset["location_id"]) == ("in_transit", winner["to_location_id"])
    await assert_books_agree(db)


async def test_the_same_idempotency_key_sent_five_times_at_once_writes_one_document(db: Database, client: Any) -> None:
    p = await make_place(db)
    body = {"kind": "issue", "location_id": p.depot, "lines": [{"item_type_id": p.tent, "quantity": 2}]}
    headers = {"Idempotency-Key": "scan-7f3a-0001"}
    responses = await run_all([client.post("/api/v1/movements", json=body, headers=headers)
                               for _ in range(5)])
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 4
    assert await documents(db, "issue") == 1
    assert await figures(db, p.depot, p.tent) == (8, 0, 0)
