"""Lot picking first-expiring-first-out (先进先出、出陈存新) and voucher numbers; no database."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from inventory.demo.catalog import ITEM_TYPES
from inventory.demo.stock import DEPOT_STOCK, POINT_STOCK, opening_lines
from inventory.stock.documents import PREFIX, document_number, parse_document_number
from inventory.stock.lots import Candidate, fefo_order, is_expired, pick_fefo, pickable
from inventory.stock.schemas import LotSpec
from inventory.store.models import ItemType

TODAY = dt.date(2026, 7, 15)


def lot(lot_id: int | None, available: int, expiry: dt.date | None = None, made: dt.date | None = None) -> Candidate:
    """A candidate lot."""
    return Candidate(lot_id, expiry, made, available)


def days(n: int) -> dt.date:
    """A date ``n`` days from TODAY."""
    return TODAY + dt.timedelta(days=n)


def test_a_lot_is_expired_only_from_the_day_after_its_expiry_date() -> None:
    assert not is_expired(TODAY, TODAY)
    assert is_expired(days(-1), TODAY)
    assert not is_expired(days(1), TODAY)
    assert not is_expired(None, TODAY)


def test_fefo_order_is_earliest_expiry_then_oldest_production_with_undated_and_lotless_stock_last() -> None:
    order = fefo_order([
        lot(None, 5),
        lot(1, 5),
        lot(2, 5, expiry=days(90)),
        lot(3, 5, expiry=days(30), made=days(-300)),
        lot(4, 5, expiry=days(30), made=days(-400)),
        lot(5, 5, made=days(-500)),
    ])
    assert [c.lot_id for c in order] == [4, 3, 2, 5, 1, None]


def test_pick_takes_the_first_expiring_lot_first_and_spans_lots() -> None:
    candidates = [lot(1, 10, expiry=days(300)), lot(2, 4, expiry=days(20)), lot(3, 6, expiry=days(60))]
    assert pick_fefo(candidates, 3, TODAY) == [(2, 3)]
    assert pick_fefo(candidates, 12, TODAY) == [(2, 4), (3, 6), (1, 2)]
    assert pick_fefo(candidates, 20, TODAY) == [(2, 4), (3, 6), (1, 10)]


def test_pick_never_takes_an_expired_lot_unless_asked_to() -> None:
    candidates = [lot(1, 5, expiry=days(-1)), lot(2, 3, expiry=days(100))]
    assert pick_fefo(candidates, 3, TODAY) == [(2, 3)]
    assert pick_fefo(candidates, 4, TODAY) is None
    assert pickable(candidates, TODAY) == 3
    assert pick_fefo(candidates, 7, TODAY, include_expired=True) == [(1, 5), (2, 2)]
    assert pickable(candidates, TODAY, include_expired=True) == 8


def test_a_lot_expiring_today_can_still_be_picked() -> None:
    assert pick_fefo([lot(1, 2, expiry=TODAY)], 2, TODAY) == [(1, 2)]


def test_pick_skips_lots_with_nothing_available_and_refuses_more_than_there_is() -> None:
    candidates = [lot(1, 0, expiry=days(1)), lot(2, -3, expiry=days(2)), lot(None, 4)]
    assert pick_fefo(candidates, 4, TODAY) == [(None, 4)]
    assert pick_fefo(candidates, 5, TODAY) is None
    assert pickable(candidates, TODAY) == 4
    assert pick_fefo([], 1, TODAY) is None


@pytest.mark.parametrize(("kind", "prefix"), [("receipt", "RK"), ("issue", "CK"), ("transfer", "DB"),
                                              ("transfer_receipt", "SH"), ("adjustment", "PD"),
                                              ("write_off", "BF"), ("return", "GH")])
def test_document_number_is_prefix_date_and_zero_padded_id(kind: str, prefix: str) -> None:
    number = document_number(kind, dt.datetime(2026, 7, 15, 9, 30, tzinfo=dt.UTC), 42)
    assert number == f"{prefix}20260715-000042"
    assert parse_document_number(number) == 42


def test_every_kind_has_its_own_prefix() -> None:
    assert len(set(PREFIX.values())) == len(PREFIX)


def test_document_numbers_round_trip_beyond_six_digits_and_in_lower_case() -> None:
    number = document_number("issue", dt.datetime(2026, 1, 2, tzinfo=dt.UTC), 12_345_678)
    assert number == "CK20260102-12345678"
    assert parse_document_number(number) == 12_345_678
    assert parse_document_number(" ck20260102-000007 ") == 7


@pytest.mark.parametrize("text", ["", "42", "CK-000042", "CK20260715000042", "CK2026071-000042",
                                  "ZZ20260715-000042", "D-NCX-12", "CK20260715-00042", "CK20260715-00004x",
                                  "XCK20260715-000042"])
def test_text_that_is_not_a_voucher_number_gives_none(text: str) -> None:
    assert parse_document_number(text) is None


def test_every_demo_lot_has_a_quality_for_its_label_and_textiles_their_grade() -> None:
    types = {d.code: ItemType(id=n, code=d.code, shelf_life_days=d.shelf_life_days)
             for n, d in enumerate(ITEM_TYPES, 1) if d.tracking == "bulk"}
    code_of = {it.id: code for code, it in types.items()}
    for plan in (DEPOT_STOCK, POINT_STOCK):
        lots = [(code_of[line.item_type_id], line.lot) for line in opening_lines(random.Random(7), plan, types, TODAY)]
        assert lots
        assert all(isinstance(lot, LotSpec) and lot.quality for _, lot in lots), lots
        grades = {code: lot.quality for code, lot in lots if lot is not None}
        assert grades.get("BED-QUILT", "一等品") == "一等品"
        assert grades["TENT-12"] == grades["WATER-550"] == "合格"
