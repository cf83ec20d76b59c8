"""The stock card (台账, ``GET /api/v1/stock/card``) follows when a movement happened, as the reports do.

A paper note entered after later movements (a higher movement id, a later ``created_at``) with an earlier
``occurred_at`` stands in its real place, and the running balances follow that order; ``since``/``until`` select
by ``occurred_at`` (the opening balance is everything that happened before ``since``); a card cut at its line
limit keeps that order and still closes on the book. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock.ledger import post_document
from inventory.stock.queries import stock_card
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine, StockCard
from inventory.store.db import Database

BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Card:
    """南昌县's depot (with a bin) and its tents: movements entered out of the order they happened in."""

    depot: int
    bin: int
    tent: int
    receipt: int  # 20 at t0
    issue: int  # −5 at t2, entered before the note
    note: int  # +7 at t1 (a bin), entered after the issue
    today: int  # −3 now, entered last
    t0: dt.datetime
    t1: dt.datetime
    t2: dt.datetime
    now: dt.datetime


async def post(db: Database, kind: str, location: int, item: int, quantity: int,
               occurred_at: dt.datetime | None) -> int:
    """Post a one-line document in its own transaction; its id."""
    lot = LotSpec(number="T-1") if kind == "receipt" else None
    async with db.write() as s:
        doc = await post_document(s, MovementCreate(
            kind=kind, location_id=location, occurred_at=occurred_at,  # type: ignore[arg-type]  # a literal
            lines=[MovementLine(item_type_id=item, quantity=quantity, lot=lot)]), actor="keeper")
        return doc.id


async def make_card(db: Database) -> Card:
    now = dt.datetime.now(BEIJING).replace(second=0, microsecond=0)
    t0, t1, t2 = (now - dt.timedelta(days=n) for n in (10, 5, 2))
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-NCX", name="南昌县综合应急物资储备库", kind="depot", region_code="360121", lat=28.55, lon=115.94))
        shelf = await create_location(s, LocationCreate(
            code="D-NCX-A1", name="A区1号货架", kind="bin", region_code="360121", parent_id=depot.id))
        tent = await create_item_type(s, ItemTypeCreate(
            code="TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter"))
    receipt = await post(db, "receipt", depot.id, tent.id, 20, t0)
    issue = await post(db, "issue", depot.id, tent.id, 5, t2)
    note = await post(db, "receipt", shelf.id, tent.id, 7, t1)
    today = await post(db, "issue", depot.id, tent.id, 3, None)
    return Card(depot.id, shelf.id, tent.id, receipt, issue, note, today, t0, t1, t2, now)


async def card_of(db: Database, c: Card, **kw: Any) -> StockCard:
    async with db.read() as s:
        return await stock_card(s, location_id=c.depot, item_type_id=c.tent, include_children=True, **kw)


def docs(card: StockCard) -> list[tuple[int, int, int]]:
    return [(ln.document_id, ln.quantity, ln.balance) for ln in card.lines]


async def test_a_note_entered_later_stands_where_it_happened_and_the_balances_follow(db: Database) -> None:
    c = await make_card(db)
    card = await card_of(db, c)
    assert docs(card) == [(c.receipt, 20, 20), (c.note, 7, 27), (c.issue, -5, 22), (c.today, -3, 19)]
    assert (card.opening, card.closing, card.truncated) == (0, 19, False)
    by_id = {ln.document_id: ln for ln in card.lines}
    # Entered after the issue, yet shown before it: the card is not in entry order.
    assert by_id[c.note].movement_id > by_id[c.issue].movement_id
    assert by_id[c.note].created_at > by_id[c.issue].created_at
    assert by_id[c.note].occurred_at == c.t1 and by_id[c.issue].occurred_at == c.t2
    assert [ln.occurred_at for ln in card.lines] == sorted(ln.occurred_at for ln in card.lines)
    # Without the bin the note is not on the depot's own card; the rest keeps its order.
    async with db.read() as s:
        own = await stock_card(s, location_id=c.depot, item_type_id=c.tent)
    assert docs(own) == [(c.receipt, 20, 20), (c.issue, -5, 15), (c.today, -3, 12)]


async def test_the_same_moment_keeps_the_order_of_entry(db: Database) -> None:
    c = await make_card(db)
    tie = await post(db, "issue", c.depot, c.tent, 2, c.t1)  # entered last, happened with the note
    card = await card_of(db, c)
    assert docs(card) == [(c.receipt, 20, 20), (c.note, 7, 27), (tie, -2, 25), (c.issue, -5, 20), (c.today, -3, 17)]


async def test_since_and_until_select_by_when_it_happened(db: Database) -> None:
    c = await make_card(db)
    # Everything was entered in the last minute: by entry time all of it would be after `since`.
    card = await card_of(db, c, since=c.t1 - dt.timedelta(hours=1))
    assert card.opening == 20
    assert docs(card) == [(c.note, 7, 27), (c.issue, -5, 22), (c.today, -3, 19)]
    assert card.closing == 19
    window = await card_of(db, c, since=c.t1 - dt.timedelta(hours=1), until=c.t2)  # `until` is left out
    assert (window.opening, docs(window), window.closing) == (20, [(c.note, 7, 27)], 27)
    upto = await card_of(db, c, until=c.t1 + dt.timedelta(seconds=1))
    assert (upto.opening, docs(upto), upto.closing) == (0, [(c.receipt, 20, 20), (c.note, 7, 27)], 27)
    from_note = await card_of(db, c, since=c.t1)  # `since` is taken in
    assert (from_note.opening, [ln.document_id for ln in from_note.lines]) == (20, [c.note, c.issue, c.today])
    after = await card_of(db, c, since=c.now + dt.timedelta(minutes=5))
    assert (after.opening, after.lines, after.closing) == (19, [], 19)


async def test_a_card_cut_at_its_limit_keeps_the_real_order_and_closes_on_the_book(db: Database) -> None:
    c = await make_card(db)
    cut = await card_of(db, c, limit=2)
    assert docs(cut) == [(c.receipt, 20, 20), (c.note, 7, 27)]
    assert (cut.truncated, cut.closing) == (True, 19)
    window = await card_of(db, c, since=c.t1 - dt.timedelta(hours=1), limit=1)
    assert (window.opening, docs(window), window.truncated, window.closing) == (20, [(c.note, 7, 27)], True, 19)


async def test_the_api_answers_in_the_same_order_and_range(db: Database, client: Any) -> None:
    c = await make_card(db)
    params: dict[str, Any] = {"location_id": c.depot, "item_type_id": c.tent, "include_children": "true"}
    r = await client.get("/api/v1/stock/card", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(ln["document_id"], ln["balance"]) for ln in body["lines"]] == [
        (c.receipt, 20), (c.note, 27), (c.issue, 22), (c.today, 19)]
    assert {"created_at", "occurred_at", "movement_id", "in_transit_balance"} <= set(body["lines"][0])
    since = (c.t1 - dt.timedelta(hours=1)).isoformat()  # 北京时间 with its offset
    r = await client.get("/api/v1/stock/card", params={**params, "since": since, "until": c.t2.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["opening"], [ln["document_id"] for ln in body["lines"]], body["closing"]) == (20, [c.note], 27)
    assert dt.datetime.fromisoformat(body["lines"][0]["occurred_at"]) == c.t1
