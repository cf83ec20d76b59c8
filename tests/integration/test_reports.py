"""Reports on a real database: 收发存 by hand-computed figures and against ``ledger verify``, 台账, stock by county."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from inventory.availability.service import availability_summary
from inventory.clock import beijing_today
from inventory.errors import InvalidInput
from inventory.reports.by_county import available_per_county, expiring_lots, stock_by_county
from inventory.reports.periods import Period
from inventory.reports.receipts_issues import receipts_issues
from inventory.reports.schemas import BalanceReport, Figures
from inventory.reports.scope import resolve_scope
from inventory.reports.stock_ledger import stock_ledger
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import Balance, Location
from tests.report_support import (
    DEPOT_TENT,
    DEPOT_TENT_ENTRIES,
    DEPOT_WATER,
    JINXIAN_TENT,
    NOVEMBER,
    Ledger,
    build_ledger,
)


@pytest.fixture
async def ledger(db: Database, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """The November 2025 ledger of tests/report_support.py."""
    return await build_ledger(db, monkeypatch)


async def report(db: Database, period: Period, *, location: str | None = None, region: str | None = None,
                 max_rows: int = 2000) -> BalanceReport:
    async with db.read() as s:
        return await receipts_issues(s, await resolve_scope(s, location=location, region=region), period,
                                     max_rows=max_rows)


def line(rep: BalanceReport, location_code: str, item_code: str) -> Figures:
    found = [r.figures for r in rep.rows if r.location.code == location_code and r.item.code == item_code]
    assert len(found) == 1, [(r.location.code, r.item.code) for r in rep.rows]
    return found[0]


def assert_figures(figures: Figures, expected: dict[str, int]) -> None:
    got = {name: getattr(figures, name) for name in expected}
    assert got == expected
    assert figures.balanced


async def test_receipts_issues_of_a_depot_for_november_match_the_figures_computed_by_hand(
    db: Database, ledger: Ledger,
) -> None:
    rep = await report(db, NOVEMBER, location="D-NCX")
    assert (rep.scope.kind, rep.scope.name, rep.period_label, rep.period_span) == (
        "location", "南昌县综合应急物资储备库", "2025年11月", "2025-11-01 至 2025-11-30")
    assert [(r.location.code, r.item.code) for r in rep.rows] == [("D-NCX", "TENT-12"), ("D-NCX", "WATER-550")]
    assert_figures(line(rep, "D-NCX", "TENT-12"), DEPOT_TENT)
    assert_figures(line(rep, "D-NCX", "WATER-550"), DEPOT_WATER)  # the bin rolls up into its depot
    assert rep.totals.closing == 81 + 41 and rep.totals.opening == 107 + 40
    assert not rep.truncated and "冲销" in rep.rule


async def test_a_region_report_shows_the_transfer_out_at_the_sender_and_in_transit_at_the_receiver(
    db: Database, ledger: Ledger,
) -> None:
    rep = await report(db, NOVEMBER, region="3601")
    assert (rep.scope.kind, rep.scope.name) == ("region", "南昌市")
    assert [(r.location.code, r.item.code) for r in rep.rows] == [
        ("D-NCX", "TENT-12"), ("D-NCX", "WATER-550"), ("D-JXX", "TENT-12")]
    assert_figures(line(rep, "D-NCX", "TENT-12"), DEPOT_TENT)
    assert_figures(line(rep, "D-JXX", "TENT-12"), JINXIAN_TENT)
    # X2 left the depot on 11-25 and arrived on 12-02: out of November's stock, in transit at its end.
    december = await report(db, Period(year=2025, month=12), region="3601")
    jinxian = line(december, "D-JXX", "TENT-12")
    assert (jinxian.opening, jinxian.in_transit_opening, jinxian.transfers_in, jinxian.in_transit_closing,
            jinxian.issues, jinxian.closing) == (40, 5, 5, 0, 6, 39)
    # Each line of December opens where November closed.
    for row in rep.rows:
        follows = line(december, row.location.code, row.item.code)
        assert (follows.opening, follows.in_transit_opening) == (row.figures.closing, row.figures.in_transit_closing)


async def test_a_reversal_counts_in_the_period_of_the_reversing_document_as_a_negative_figure(
    db: Database, ledger: Ledger,
) -> None:
    october = line(await report(db, Period(year=2025, month=10), location="D-NCX"), "D-NCX", "TENT-12")
    assert (october.receipts, october.closing) == (107, 107)  # R5 stays in October's report as printed
    november = line(await report(db, NOVEMBER, location="D-NCX"), "D-NCX", "TENT-12")
    assert november.receipts == 20 - 7  # R5's reversal on 11-08: a red −7 in November's 入库
    assert november.issues == 15 + 4  # I2 was reversed after November: November still shows it
    this_year = line(await report(db, Period(year=beijing_today().year), location="D-NCX"), "D-NCX", "TENT-12")
    assert this_year.issues == -4  # I2's reversal, now: a red −4 in this year's 出库


async def test_closing_after_the_last_movement_is_what_ledger_verify_recomputes_for_every_place_and_item(
    db: Database, ledger: Ledger,
) -> None:
    rep = await report(db, Period(year=beijing_today().year), region="36")
    async with db.read() as s:
        verified = await verify_ledger(s)
        assert verified.ok, verified.differences
        stored: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for site, item, on_hand, in_transit in await s.execute(
            select(func.coalesce(Location.site_id, Location.id), Balance.item_type_id, func.sum(Balance.on_hand),
                   func.sum(Balance.in_transit)).join(Location, Location.id == Balance.location_id)
            .group_by(func.coalesce(Location.site_id, Location.id), Balance.item_type_id)):
            stored[(site, item)] = [int(on_hand), int(in_transit)]
    closing = {(r.location.id, r.item.id): [r.figures.closing, r.figures.in_transit_closing] for r in rep.rows}
    assert {k: v for k, v in closing.items() if any(v)} == {k: v for k, v in stored.items() if any(v)}
    assert closing[(ledger.depot, ledger.tent)] == [81 + 4, 0]  # I2's reversal gave 4 back
    assert closing[(ledger.depot, ledger.pump)] == [2, 0]
    assert closing[(ledger.jinxian, ledger.tent)] == [39, 0]
    assert all(r.figures.balanced for r in rep.rows)


async def test_the_stock_ledger_runs_from_the_opening_to_the_closing_balance_voucher_by_voucher(
    db: Database, ledger: Ledger,
) -> None:
    async with db.read() as s:
        book = await stock_ledger(s, await resolve_scope(s, location=str(ledger.depot), region=None), NOVEMBER)
    assert [i.item.code for i in book.items] == ["TENT-12", "WATER-550"]
    tent, water = book.items
    assert (tent.opening, tent.total_in, tent.total_out, tent.closing) == (107, 13, 39, 81)
    assert [(e.kind_zh, e.quantity_in, e.quantity_out, e.balance) for e in tent.entries] == DEPOT_TENT_ENTRIES
    assert tent.entries[-1].balance == tent.closing
    assert [e.date for e in tent.entries][:2] == [dt.date(2025, 11, 3), dt.date(2025, 11, 5)]
    assert all(re.fullmatch(r"[A-Z]{2}\d{8}-\d{6}", e.document_number) for e in tent.entries)
    assert tent.entries[0].document_id == ledger.docs["R4"] and tent.entries[0].lot_number == "T-B"
    assert {e.actor_name for e in tent.entries} == {"李保管"}  # the keeper's display name, not the user name
    reversal = tent.entries[2]
    assert reversal.reversal and reversal.document_id == ledger.docs["R5-rev"] and "冲销 RK" in reversal.summary
    assert "调往 进贤县应急物资储备库" in tent.entries[3].summary
    assert "莲塘镇政府" in tent.entries[1].summary
    assert [(e.kind_zh, e.quantity_in, e.balance) for e in water.entries] == [("盘盈", 1, 41)]
    assert (water.opening, water.closing) == (40, 41)


async def test_capped_reports_say_so_and_keep_their_totals_whole(db: Database, ledger: Ledger) -> None:
    rep = await report(db, NOVEMBER, region="3601", max_rows=1)
    assert rep.truncated and len(rep.rows) == 1
    assert rep.totals.closing == 81 + 41 + 40
    async with db.read() as s:
        book = await stock_ledger(s, await resolve_scope(s, location="D-NCX", region=None), NOVEMBER, max_entries=3)
    assert book.truncated and sum(len(i.entries) for i in book.items) == 3
    assert book.items[0].closing == 81  # the closing figure does not depend on the lines shown


async def test_stock_by_county_uses_the_availability_rule(db: Database, ledger: Ledger) -> None:
    async with db.read() as s:
        stock = await stock_by_county(s, "3601")
        summary = await availability_summary(s, region="3601", category="shelter")
    names = [c.region_name for c in stock.counties]
    assert "南昌县" in names and "进贤县" in names
    ncx = next(c for c in stock.counties if c.region_name == "南昌县")
    shelter = next(f for f in ncx.categories if f.category == "shelter")
    assert (shelter.category_zh, shelter.unit, shelter.on_hand, shelter.available) == ("帐篷篷布", "顶", 85, 85)
    from_summary = next(r for r in summary.regions if r.region_code == "360121")
    assert (shelter.on_hand, shelter.reserved, shelter.available) == (
        from_summary.on_hand, from_summary.reserved, from_summary.available)
    assert dict(available_per_county(stock, "pump"))["南昌县"] == 2
    assert dict(available_per_county(stock, "boat")) == dict.fromkeys(names, 0)  # no boats in the catalogue
    assert next(f for f in stock.total.categories if f.category == "shelter").on_hand == 85 + 39


async def test_lots_expiring_per_month_over_the_next_twelve_months(db: Database, ledger: Ledger) -> None:
    async with db.read() as s:
        soon = await expiring_lots(s, "3601", today=dt.date(2026, 1, 15))
        later = await expiring_lots(s, "3601", today=dt.date(2026, 12, 5))
    assert [m.label for m in soon.months][:3] == ["2026-01", "2026-02", "2026-03"] and len(soon.months) == 12
    march = soon.months[2]
    assert (march.lots, march.quantity, soon.expired_lots) == (1, 41, 0)  # water lot W-1, 40 + 1 in the bin
    assert sum(m.lots for m in later.months) == 0 and later.expired_lots == 1


async def test_a_report_needs_one_scope_and_the_ledger_needs_a_location(db: Database, ledger: Ledger) -> None:
    async with db.read() as s:
        for location, region in ((None, None), ("D-NCX", "3601")):
            with pytest.raises(InvalidInput):
                await resolve_scope(s, location=location, region=region)
        with pytest.raises(InvalidInput) as missing:
            await resolve_scope(s, location="NO-SUCH", region=None)
        assert missing.value.field == "location"
        with pytest.raises(InvalidInput) as unknown:
            await resolve_scope(s, location=None, region="99")
        assert unknown.value.field == "region"
        with pytest.raises(InvalidInput) as whole_region:
            await stock_ledger(s, await resolve_scope(s, location=None, region="3601"), NOVEMBER)
        assert whole_region.value.field == "location"
