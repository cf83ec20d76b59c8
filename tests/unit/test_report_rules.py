"""Report periods and the 收发存 column rules, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.errors import InvalidInput
from inventory.reports.periods import Period, current_month, months_from, parse_period
from inventory.reports.rules import INFLOWS, OUTFLOWS, amount, column_of, entry_label, entry_sides


@pytest.mark.parametrize(("text", "year", "month"), [
    ("2026-11", 2026, 11), ("2026/1", 2026, 1), ("202611", 2026, 11), ("2026年11月", 2026, 11), (" 2026.03 ", 2026, 3),
    ("2026", 2026, None), ("2026年", 2026, None),
])
def test_a_period_is_read_as_people_write_it(text: str, year: int, month: int | None) -> None:
    assert parse_period(text) == Period(year=year, month=month)


@pytest.mark.parametrize("text", ["", "11/2026", "2026-13", "2026-00", "1999", "2026-11-05", "abc"])
def test_a_period_that_is_no_month_or_year_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_period(text)
    assert info.value.field == "period"


def test_a_month_runs_from_midnight_beijing_time_to_the_next_month() -> None:
    november = Period(year=2026, month=11)
    assert november.start.astimezone(dt.UTC) == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)
    assert november.end.astimezone(dt.UTC) == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
    assert (november.code, november.label, november.span) == ("2026-11", "2026年11月", "2026-11-01 至 2026-11-30")
    december, year = Period(year=2026, month=12), Period(year=2026)
    assert december.end == year.end == dt.datetime(2027, 1, 1, tzinfo=november.start.tzinfo)
    assert (year.code, year.label, year.last_day) == ("2026", "2026年度", dt.date(2026, 12, 31))
    # 2026-11-30 17:00 UTC is already 1 December in Beijing.
    assert current_month(dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)) == december
    assert months_from(dt.date(2026, 11, 20), 3) == [(2026, 11), (2026, 12), (2027, 1)]


@pytest.mark.parametrize(("kind", "quantity", "column"), [
    ("receipt", 5, "receipts"), ("return", 5, "returns"), ("transfer_receipt", 5, "transfers_in"),
    ("adjustment", 5, "gains"), ("adjustment", -5, "losses"), ("issue", -5, "issues"), ("dispatch", -5, "issues"),
    ("transfer", -5, "transfers_out"), ("write_off", -5, "write_offs"),
])
def test_each_kind_of_document_has_its_column_and_moves_stock_the_way_the_column_says(
    kind: str, quantity: int, column: str,
) -> None:
    assert column_of(kind, quantity, reversal=False) == column
    assert amount(column_of(kind, quantity, False), quantity) == 5  # a normal movement is a positive figure
    # Its reversal stays in the same column as a negative (red) figure.
    assert column_of(kind, -quantity, reversal=True) == column
    assert amount(column_of(kind, -quantity, True), -quantity) == -5


@pytest.mark.parametrize("quantities", [[5, -3, 7], [-2, -2], [10, -10, 4]])
def test_closing_is_opening_plus_inflows_minus_outflows_for_any_mix(quantities: list[int]) -> None:
    columns = dict.fromkeys((*INFLOWS, *OUTFLOWS), 0)
    for kind in ("receipt", "issue", "adjustment", "transfer", "write_off", "return", "transfer_receipt"):
        for q in quantities:
            for reversal in (False, True):
                column = column_of(kind, q, reversal)
                columns[column] += amount(column, q)
    total = sum(quantities) * 7 * 2
    assert sum(columns[c] for c in INFLOWS) - sum(columns[c] for c in OUTFLOWS) == total


def test_a_ledger_entry_names_its_kind_and_keeps_a_reversal_on_the_side_it_undoes() -> None:
    assert (entry_label("receipt", 7, False), entry_sides(7, False)) == ("入库", (7, 0))
    assert (entry_label("receipt", -7, True), entry_sides(-7, True)) == ("入库冲销", (-7, 0))
    assert (entry_label("issue", -4, False), entry_sides(-4, False)) == ("出库", (0, 4))
    assert (entry_label("issue", 4, True), entry_sides(4, True)) == ("出库冲销", (0, -4))
    assert (entry_label("adjustment", -2, False), entry_label("transfer", -1, False)) == ("盘亏", "调出")
