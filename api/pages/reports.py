"""Reports people print and sign, for every signed-in role: ``/reports`` and one page per report.

- ``/reports``: the three reports with their forms (scope and period), and charts a person would rather look
  at than read: available pumps, boats and generators per county, lots expiring per month.
- ``/reports/receipts-issues``: 收发存报表 of a location (with its bins) or a region, for a month or a year.
- ``/reports/stock-ledger``: 台账 of a location for a month or a year.
- ``/reports/stock-by-county``: stock per county × category, with the charts.

Each report page prints on A4 landscape (``/static/reports.css``: no navigation, the header repeated) and
links its ``.xlsx`` (same address + ``.xlsx``, a page route too: it goes by the session cookie). Figures are
read in one short read transaction (:mod:`inventory.reports`); the page, its charts and the workbook are
built in a worker thread, never on the event loop. Forms are plain GET forms: no script needed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.page_text import for_people
from api.pages.charts import column_bars, horizontal_bars
from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.report_workbooks import (
    XLSX,
    content_disposition,
    receipts_issues_workbook,
    stock_by_county_workbook,
    stock_ledger_workbook,
    title,
    unit_name,
)
from inventory.access.scope import Principal
from inventory.clock import beijing_today
from inventory.errors import InvalidInput
from inventory.reports.by_county import (
    CHART_CATEGORIES,
    available_per_county,
    category_zh,
    children_label,
    expiring_lots,
    stock_by_county,
)
from inventory.reports.periods import Period, current_month, months_from, parse_period
from inventory.reports.receipts_issues import receipts_issues
from inventory.reports.schemas import ExpiringLots, ReportScope, StockByCounty, StockLedger
from inventory.reports.scope import resolve_scope
from inventory.reports.stock_ledger import stock_ledger
from inventory.store.db import Database
from inventory.store.models import Location, Region

PATH: Final = "/reports"
DEFAULT_REGION: Final = "3601"  # 南昌市: what a user without a scope region sees first
MAX_LOCATION_CHOICES: Final = 500
FIELD_ZH: Final = {"location": "地点", "region": "行政区划", "period": "报表期间"}
Text = Annotated[str | None, Parameter(max_length=60)]


@dataclass(frozen=True)
class Asked:
    """What the form asked for, echoed back into it."""

    location: str = ""
    region: str = ""
    period: str = ""

    def query(self, **only: str) -> str:
        """The query string of these values (those given in ``only`` replace them; empty ones left out)."""
        values = {"location": self.location, "region": self.region, "period": self.period, **only}
        return urlencode({k: v for k, v in values.items() if v})


@dataclass
class Choices:
    """The lists the forms are filled from."""

    locations: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    regions: list[tuple[str, str]] = field(default_factory=list)  # (code, indented name)
    periods: list[tuple[str, str]] = field(default_factory=list)  # (code, label)


def default_region(principal: Principal) -> str:
    """The region a user sees first: the first of their scope regions, else 南昌市."""
    return next(iter(principal.scope_regions), DEFAULT_REGION)


def period_choices(today: dt.date) -> list[tuple[str, str]]:
    """The last 24 months (this one first), then the last 5 years."""
    months = months_from(dt.date(today.year - 2, today.month, 1), 25)[1:]
    periods = [Period(year=y, month=m) for y, m in reversed(months)]
    periods += [Period(year=today.year - k) for k in range(5)]
    return [(p.code, p.label) for p in periods]


async def _choices(session: AsyncSession) -> Choices:
    locations = [(code, name) for code, name in await session.execute(
        select(Location.code, Location.name).where(Location.kind != "bin", Location.active.is_(True))
        .order_by(Location.region_code, Location.code).limit(MAX_LOCATION_CHOICES))]
    regions = [(code, "　" * (level - 1) + name) for code, name, level in await session.execute(
        select(Region.code, Region.name, Region.level).where(Region.level <= 3).order_by(Region.code).limit(600))]
    return Choices(locations, regions, period_choices(beijing_today()))


async def render(request: Request[Any, Any, Any], name: str, principal: Principal, *, status: int = 200,
                 **extra: Any) -> Response[str]:
    """Render a template in a worker thread (report tables grow with the data) with what every page gets."""
    context = {**Template(template_name=name).create_template_context(request), **page_context(principal, **extra)}
    engine = request.app.template_engine
    assert engine is not None, "the application is built with a template engine"
    template = engine.get_template(name)
    html = await asyncio.to_thread(template.render, **context)
    return Response(html, media_type=MediaType.HTML, status_code=status)


def _error_text(exc: InvalidInput) -> str:
    where = FIELD_ZH.get(exc.field or "", "")
    return f"{where}：{for_people(exc.detail)}" if where else for_people(exc.detail)


def _charts(stock: StockByCounty, expiring: ExpiringLots) -> list[str]:
    """The charts of a region as inline SVG, every text in them escaped (blocking: runs in a worker thread)."""
    charts = []
    for category in CHART_CATEGORIES:
        units = {f.unit for c in stock.counties for f in c.categories if f.category == category and f.unit}
        charts.append(horizontal_bars(
            f"{stock.region_name}{children_label(stock.region_code, short=True)}可用{category_zh(category)}",
            available_per_county(stock, category),
            unit=next(iter(units)) if len(units) == 1 else ""))
    first = expiring.months[0] if expiring.months else None
    since = f"，{first.year}年{first.month}月起" if first else ""
    charts.append(column_bars(
        f"{expiring.region_name}未来12个月到期批次数{since}",
        [(f"{m.month}月", m.lots) for m in expiring.months], unit="批"))
    return charts


async def _region_charts(session: AsyncSession, region: str) -> tuple[StockByCounty, ExpiringLots]:
    stock = await stock_by_county(session, region, categories=CHART_CATEGORIES)
    return stock, await expiring_lots(session, region)


@get(PATH, opt=PAGE, include_in_schema=False)
async def reports_index(request: Request[Any, Any, Any], db: Database, region: Text = None) -> Response[Any]:
    """The reports with their forms, and the charts of the user's region (or the one asked)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    error = None
    async with db.heavy_read() as session:  # reports grow with the data: off the event loop
        choices = await _choices(session)
        try:
            stock, expiring = await _region_charts(session, region or default_region(principal))
        except InvalidInput as exc:
            error = _error_text(exc)
            stock, expiring = await _region_charts(session, default_region(principal))
    charts = await asyncio.to_thread(_charts, stock, expiring)
    asked = Asked(region=stock.region_code, period=current_month().code)
    return await render(request, "reports.html", principal, status=422 if error else 200, choices=choices,
                        asked=asked, charts=charts, chart_region=stock.region_name, error=error,
                        expired_lots=expiring.expired_lots)


async def _report_page(
    request: Request[Any, Any, Any], db: Database, asked: Asked, *, template: str, path: str,
    build: Callable[[AsyncSession, Asked], Any], workbook: Callable[[Any], bytes] | None = None,
    needs: tuple[str, ...] = ("location", "region"),
) -> Response[Any]:
    """A report page (or, with ``workbook``, its .xlsx): the form alone until something is asked."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{path}?{asked.query()}" if asked.query() else path)
    report, error, expiring = None, None, None
    async with db.heavy_read() as session:  # reports grow with the data: off the event loop
        choices = await _choices(session)
        if any(getattr(asked, name) for name in needs):
            try:
                report = await build(session, asked)
            except InvalidInput as exc:
                error = _error_text(exc)
        if isinstance(report, StockByCounty) and workbook is None:
            expiring = await expiring_lots(session, report.region_code)
    if report is not None and workbook is not None:
        data = await asyncio.to_thread(workbook, report)
        return Response(data, media_type=XLSX, headers={"Content-Disposition": content_disposition(
            f"{path.rsplit('/', 1)[-1]}-{report_code(report)}.xlsx", report_title(report))})
    if workbook is not None and error is None:
        error = "请先选择报表范围和期间，再下载 Excel"
    if not asked.period:  # the form (and the report's links) show the period the report was made for
        asked = replace(asked, period=current_month().code)
    if not (asked.location or asked.region):  # nothing asked yet: the form starts at the user's region
        asked = replace(asked, region=default_region(principal))
    extra: dict[str, Any] = {}
    if report is not None:
        extra = {"heading": report_title(report), "unit": report_unit(report), "made_on": beijing_today()}
    if isinstance(report, StockByCounty) and expiring is not None:
        extra |= {"charts": await asyncio.to_thread(_charts, report, expiring), "expired_lots": expiring.expired_lots}
    return await render(request, template, principal, status=422 if error else 200, choices=choices, asked=asked,
                        report=report, error=error, xlsx=f"{path}.xlsx?{asked.query()}", **extra)


def report_code(report: Any) -> str:
    """What tells one report file from another: scope code and period (``D-NCX-2026-11``)."""
    if isinstance(report, StockByCounty):
        return f"{report.region_code}-{report.today:%Y%m%d}"
    return f"{report.scope.code}-{report.period.code}"


def report_unit(report: Any) -> str:
    """填报单位 of a report."""
    if isinstance(report, StockByCounty):
        return unit_name(ReportScope(kind="region", name=report.region_name, code=report.region_code,
                                     region_code=report.region_code))
    return unit_name(report.scope)


def report_title(report: Any) -> str:
    """The title printed on a report (and used as its file name)."""
    if isinstance(report, StockByCounty):
        return f"{report.region_name}应急物资库存分布表"
    what = "物资台账" if isinstance(report, StockLedger) else "物资收发存报表"
    return title(report.scope, report.period, what)


async def _receipts_issues(session: AsyncSession, asked: Asked) -> Any:
    period = parse_period(asked.period or current_month().code)
    scoped = await resolve_scope(session, location=asked.location, region=asked.region)
    return await receipts_issues(session, scoped, period)


async def _stock_ledger(session: AsyncSession, asked: Asked) -> Any:
    period = parse_period(asked.period or current_month().code)
    if not asked.location.strip():
        raise InvalidInput("台账按地点编制：请填写地点编号", field="location")
    scoped = await resolve_scope(session, location=asked.location, region=None)
    return await stock_ledger(session, scoped, period)


async def _stock_by_county(session: AsyncSession, asked: Asked) -> Any:
    return await stock_by_county(session, asked.region.strip())


@get(f"{PATH}/receipts-issues", opt=PAGE, include_in_schema=False)
async def receipts_issues_page(request: Request[Any, Any, Any], db: Database, location: Text = None,
                               region: Text = None, period: Text = None) -> Response[Any]:
    """收发存报表 of a location or a region for a month or a year."""
    return await _report_page(request, db, Asked(location or "", region or "", period or ""),
                              template="reports_receipts_issues.html", path=f"{PATH}/receipts-issues",
                              build=_receipts_issues)


@get(f"{PATH}/receipts-issues.xlsx", opt=PAGE, include_in_schema=False)
async def receipts_issues_xlsx(request: Request[Any, Any, Any], db: Database, location: Text = None,
                               region: Text = None, period: Text = None) -> Response[Any]:
    """The 收发存 report as .xlsx."""
    return await _report_page(request, db, Asked(location or "", region or "", period or ""),
                              template="reports_receipts_issues.html", path=f"{PATH}/receipts-issues",
                              build=_receipts_issues, workbook=receipts_issues_workbook)


@get(f"{PATH}/stock-ledger", opt=PAGE, include_in_schema=False)
async def stock_ledger_page(request: Request[Any, Any, Any], db: Database, location: Text = None,
                            period: Text = None) -> Response[Any]:
    """台账 of a location for a month or a year."""
    return await _report_page(request, db, Asked(location or "", "", period or ""),
                              template="reports_stock_ledger.html", path=f"{PATH}/stock-ledger",
                              build=_stock_ledger, needs=("location",))


@get(f"{PATH}/stock-ledger.xlsx", opt=PAGE, include_in_schema=False)
async def stock_ledger_xlsx(request: Request[Any, Any, Any], db: Database, location: Text = None,
                            period: Text = None) -> Response[Any]:
    """The 台账 as .xlsx."""
    return await _report_page(request, db, Asked(location or "", "", period or ""),
                              template="reports_stock_ledger.html", path=f"{PATH}/stock-ledger",
                              build=_stock_ledger, workbook=stock_ledger_workbook, needs=("location",))


@get(f"{PATH}/stock-by-county", opt=PAGE, include_in_schema=False)
async def stock_by_county_page(request: Request[Any, Any, Any], db: Database, region: Text = None) -> Response[Any]:
    """Stock per county × category of a region, with the charts."""
    return await _report_page(request, db, Asked(region=region or ""), template="reports_stock_by_county.html",
                              path=f"{PATH}/stock-by-county", build=_stock_by_county, needs=("region",))


@get(f"{PATH}/stock-by-county.xlsx", opt=PAGE, include_in_schema=False)
async def stock_by_county_xlsx(request: Request[Any, Any, Any], db: Database, region: Text = None) -> Response[Any]:
    """Stock per county × category as .xlsx."""
    return await _report_page(request, db, Asked(region=region or ""), template="reports_stock_by_county.html",
                              path=f"{PATH}/stock-by-county", build=_stock_by_county,
                              workbook=stock_by_county_workbook, needs=("region",))


HANDLERS = [reports_index, receipts_issues_page, receipts_issues_xlsx, stock_ledger_page, stock_ledger_xlsx,
            stock_by_county_page, stock_by_county_xlsx]
