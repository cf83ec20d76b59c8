"""Reports as JSON rows: 收发存, 台账, stock by county and lots expiring per month (the pages print the same)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from inventory.reports import by_county
from inventory.reports.periods import current_month, parse_period
from inventory.reports.receipts_issues import receipts_issues
from inventory.reports.schemas import BalanceReport, ExpiringLots, StockByCounty, StockLedger
from inventory.reports.scope import resolve_scope
from inventory.reports.stock_ledger import stock_ledger
from inventory.store.db import Database

LocationRef = Annotated[str | None, Parameter(max_length=40, description="地点 id 或地点编号（含其货架） location")]
RegionCode = Annotated[str | None, Parameter(max_length=12, description="行政区划代码，如 3601（其下全部地点） region")]
PeriodText = Annotated[str | None, Parameter(
    max_length=20, description="报表期间：月报 2026-11，年报 2026（默认本月，北京时间） period")]
CountyRegion = Annotated[str, Parameter(max_length=12, description="行政区划代码，按其下各县区统计，如 3601")]


class ReportController(Controller):
    """Reports people print and sign, as typed rows (bounded: one scope, one period, a row limit stated)."""

    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/receipts-issues", opt={"action": "read"})
    async def receipts_issues(self, db: Database, location: LocationRef = None, region: RegionCode = None,
                              period: PeriodText = None) -> BalanceReport:
        """收发存: opening, receipts, issues, transfers, adjustments, write-offs and closing per location × item.

        Give ``location`` (with its bins) or ``region`` (every location under it), not both.
        """
        when = parse_period(period or current_month().code)
        async with db.heavy_read() as session:
            scoped = await resolve_scope(session, location=location, region=region)
            return await receipts_issues(session, scoped, when)

    @get("/stock-ledger", opt={"action": "read"})
    async def stock_ledger(self, db: Database, location: LocationRef = None,
                           period: PeriodText = None) -> StockLedger:
        """台账 of a location: every on-hand movement of the period with its voucher number and running balance."""
        when = parse_period(period or current_month().code)
        async with db.heavy_read() as session:
            scoped = await resolve_scope(session, location=location, region=None)
            return await stock_ledger(session, scoped, when)

    @get("/stock-by-county", opt={"action": "read"})
    async def stock_by_county(self, db: Database, region: CountyRegion = "3601") -> StockByCounty:
        """On hand, reserved and available per county × category (availability's rule)."""
        async with db.heavy_read() as session:
            return await by_county.stock_by_county(session, region)

    @get("/expiring-lots", opt={"action": "read"})
    async def expiring_lots(self, db: Database, region: CountyRegion = "3601",
                            months: Annotated[int, Parameter(ge=1, le=36, description="月数")] = 12) -> ExpiringLots:
        """Lots with stock on hand expiring in each of the next months, and how many already expired."""
        async with db.heavy_read() as session:
            return await by_county.expiring_lots(session, region, months=months)
