"""The stocktake's rules without a database: count bound, differences far beyond the book, reasons, Beijing date."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from inventory.stock.schemas import MAX_QUANTITY, MovementLine
from inventory.stocktake.rules import beijing_date, count_too_large, far_beyond_book, needs_reason


def test_a_count_is_bounded_like_a_movement() -> None:
    def movable(quantity: int) -> bool:
        try:
            msgspec.convert({"item_type_id": 1, "quantity": quantity}, MovementLine)
        except msgspec.ValidationError:
            return False
        return True

    assert movable(MAX_QUANTITY) and not movable(MAX_QUANTITY + 1)
    assert not count_too_large(MAX_QUANTITY)
    assert count_too_large(MAX_QUANTITY + 1)
    assert count_too_large(99_999_999_999_999)


@pytest.mark.parametrize(("book", "difference", "flagged"), [
    (100, 1001, True), (100, 1000, False),  # more than ten times the book
    (5, 101, True), (5, 100, False),  # ... and more than 100 units
    (0, 101, True), (0, 100, False),  # stock found that the book did not have
    (50, -45, False), (2_000, -1_999, False),  # a shortage can never be ten times the book
    (None, 500, False), (100, None, False),  # not counted
])
def test_a_difference_far_beyond_the_book_is_over_ten_times_the_book_and_over_100_units(
    book: int | None, difference: int | None, flagged: bool,
) -> None:
    assert far_beyond_book(book, difference) is flagged


@pytest.mark.parametrize(("difference", "reason", "needed"), [
    (-1, "", True), (3, " \u3000 ", True), (-1, "破损", False), (0, "", False), (None, "", False),
])
def test_a_difference_needs_a_reason_that_says_something(difference: int | None, reason: str, needed: bool) -> None:
    assert needs_reason(difference, reason) is needed


def test_the_beijing_date_turns_at_16_00_utc() -> None:
    assert beijing_date(dt.datetime(2026, 3, 31, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 3, 31)
    assert beijing_date(dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 4, 1)
