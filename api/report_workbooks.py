"""The Excel edge of reports: the domain's typed reports turned into the rows ``importers.report_sheets`` writes.

The domain (:mod:`inventory.reports`) never sees a workbook, and the Excel layer never sees the domain: this
module converts one into the other, names the file, and writes the workbook in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from importers.report_sheets import (
    BalanceSheetRow,
    CountySheetRow,
    LedgerSheetRow,
    ReportHeading,
    write_receipts_issues,
    write_stock_by_county,
    write_stock_ledger,
)
from inventory.clock import beijing_today
from inventory.reports.periods import Period
from inventory.reports.schemas import (
    BalanceReport,
    Figures,
    RegionStock,
    ReportScope,
    StockByCounty,
    StockLedger,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def unit_name(scope: ReportScope) -> str:
    """填报单位: the location itself, or the region's emergency management bureau."""
    return scope.name if scope.kind == "location" else f"{scope.name}应急管理局"


def title(scope: ReportScope, period: Period | None, what: str) -> str:
    """``南昌县综合应急物资储备库 2026年11月 物资收发存报表``."""
    return " ".join(part for part in (scope.name, period.label if period else "", what) if part)


def _heading(text: str, unit: str, period: str, notes: tuple[str, ...], made_on: dt.date | None) -> ReportHeading:
    return ReportHeading(title=text, unit_name=unit, period=period, made_on=made_on or beijing_today(), notes=notes)


def _balance_row(location: str, code: str, name: str, spec: str, unit: str, f: Figures) -> BalanceSheetRow:
    return BalanceSheetRow(
        location=location, item_code=code, item_name=name, spec=spec, unit=unit, opening=f.opening,
        receipts=f.receipts, returns=f.returns, transfers_in=f.transfers_in, gains=f.gains, issues=f.issues,
        transfers_out=f.transfers_out, losses=f.losses, write_offs=f.write_offs, closing=f.closing,
        in_transit=f.in_transit_closing)


def receipts_issues_workbook(report: BalanceReport, made_on: dt.date | None = None) -> bytes:
    """The 收发存 report as .xlsx (blocking: call it in a worker thread)."""
    notes: tuple[str, ...] = (report.rule,)
    if report.truncated:
        notes += (f"明细超过 {report.max_rows} 行，仅列出前 {report.max_rows} 行；合计为全部明细之和。",)
    heading = _heading(title(report.scope, report.period, "物资收发存报表"), unit_name(report.scope),
                       f"{report.period_label}（{report.period_span}）", notes, made_on)
    rows = [_balance_row(r.location.name, r.item.code, r.item.name, r.item.spec, r.item.unit, r.figures)
            for r in report.rows]
    return write_receipts_issues(heading, rows, _balance_row("", "", "合计", "", "", report.totals))


def stock_ledger_workbook(ledger: StockLedger, made_on: dt.date | None = None) -> bytes:
    """The 台账 as .xlsx (blocking: call it in a worker thread)."""
    notes: tuple[str, ...] = (ledger.rule,)
    if ledger.truncated:
        notes += (f"明细超过 {ledger.max_entries} 条，仅列出前 {ledger.max_entries} 条；"
                  "期初、合计与期末为全部明细的数字。",)
    heading = _heading(title(ledger.scope, ledger.period, "物资台账"), unit_name(ledger.scope),
                       f"{ledger.period_label}（{ledger.period_span}）", notes, made_on)
    rows: list[LedgerSheetRow] = []
    for entry in ledger.items:
        it = entry.item
        rows.append(LedgerSheetRow(item_code=it.code, item_name=it.name, spec=it.spec, unit=it.unit,
                                   date=ledger.period.first_day, kind="期初结存", balance=entry.opening, subtotal=True))
        rows += [LedgerSheetRow(item_code=it.code, item_name=it.name, spec=it.spec, unit=it.unit, date=e.date,
                                number=e.document_number, kind=e.kind_zh, lot=e.lot_number,
                                quantity_in=e.quantity_in or None, quantity_out=e.quantity_out or None,
                                balance=e.balance, who=e.actor_name, summary=e.summary) for e in entry.entries]
        rows.append(LedgerSheetRow(item_code=it.code, item_name=it.name, spec=it.spec, unit=it.unit,
                                   date=ledger.period.last_day, kind="本期合计", quantity_in=entry.total_in,
                                   quantity_out=entry.total_out, balance=entry.closing, subtotal=True))
    totals = (sum(i.total_in for i in ledger.items), sum(i.total_out for i in ledger.items))
    return write_stock_ledger(heading, rows, totals)


def _county_rows(region: RegionStock, *, subtotal: bool = False) -> list[CountySheetRow]:
    return [CountySheetRow(region=region.region_name, category=f.category_zh, unit=f.unit or "（多种）",
                           on_hand=f.on_hand, reserved=f.reserved, available=f.available, in_transit=f.in_transit,
                           subtotal=subtotal) for f in region.categories]


def stock_by_county_workbook(stock: StockByCounty, made_on: dt.date | None = None) -> bytes:
    """库存分布 as .xlsx (blocking: call it in a worker thread)."""
    scope = ReportScope(kind="region", name=stock.region_name, code=stock.region_code, region_code=stock.region_code)
    heading = _heading(f"{stock.region_name} 应急物资库存分布表（按县区、类别）", unit_name(scope),
                       f"截至 {stock.today:%Y年%m月%d日}", (stock.rule,), made_on)
    rows = [row for county in stock.counties for row in _county_rows(county)]
    if any(f.on_hand or f.in_transit for f in stock.own.categories):
        rows += _county_rows(stock.own)
    rows += _county_rows(stock.total, subtotal=True)
    return write_stock_by_county(heading, rows, stock.children)


def content_disposition(ascii_name: str, title_text: str) -> str:
    """An attachment header with an ASCII file name and the Chinese title for browsers that read it (RFC 6266)."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(title_text + '.xlsx')}"
