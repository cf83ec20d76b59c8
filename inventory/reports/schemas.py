"""msgspec structs of the reports: typed rows, no workbook (the Excel layer writes them, the pages show them)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from inventory.reports.periods import Period
from inventory.reports.rules import INFLOWS, OUTFLOWS, Column

ScopeKind = Literal["location", "region"]


class ReportScope(msgspec.Struct, frozen=True, kw_only=True):
    """What a report covers: one location with its bins, or every location of a region (code prefix)."""

    kind: ScopeKind
    name: str  # 南昌县综合应急物资储备库, or 南昌县
    code: str  # the location's code, or the region code
    location_id: int | None = None
    region_code: str  # the location's region, or the region itself


class Figures(msgspec.Struct, kw_only=True):
    """The figures of one 收发存 line (or of the 合计): on hand through the period, and stock in transit.

    ``closing`` = ``opening`` + receipts + returns + transfers in + gains − issues − transfers out − losses
    − write-offs; ``in_transit_closing`` = ``in_transit_opening`` + what was shipped toward here − what
    arrived (or was closed short) in the period.
    """

    opening: int = 0
    receipts: int = 0
    returns: int = 0
    transfers_in: int = 0
    gains: int = 0
    issues: int = 0
    transfers_out: int = 0
    losses: int = 0
    write_offs: int = 0
    closing: int = 0
    in_transit_opening: int = 0
    in_transit_closing: int = 0

    @property
    def total_in(self) -> int:
        """本期收入合计."""
        return sum(getattr(self, c) for c in INFLOWS)

    @property
    def total_out(self) -> int:
        """本期发出合计."""
        return sum(getattr(self, c) for c in OUTFLOWS)

    @property
    def balanced(self) -> bool:
        """True when closing = opening + in − out (always, unless a figure was edited by hand)."""
        return self.closing == self.opening + self.total_in - self.total_out

    def add_to(self, column: Column, value: int) -> None:
        """Add ``value`` to a movement column."""
        setattr(self, column, getattr(self, column) + value)

    def accumulate(self, other: Figures) -> None:
        """Add another line's figures to these (for totals)."""
        for name in self.__struct_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def empty(self) -> bool:
        """True when every figure is zero (such a line is left out)."""
        return not any(getattr(self, name) for name in self.__struct_fields__)


class ItemBrief(msgspec.Struct, frozen=True, kw_only=True):
    """The catalogue entry a line is about."""

    id: int
    code: str
    name: str
    spec: str
    unit: str
    category: str


class PlaceBrief(msgspec.Struct, frozen=True, kw_only=True):
    """The location a line is about (bins roll up into their site)."""

    id: int
    code: str
    name: str
    region_code: str


class BalanceRow(msgspec.Struct, kw_only=True):
    """One 收发存 line: a location × item type."""

    location: PlaceBrief
    item: ItemBrief
    figures: Figures


class BalanceReport(msgspec.Struct, kw_only=True):
    """收发存报表 (receipts, issues and balance) of a scope for a period; rows ordered by location, item code."""

    scope: ReportScope
    period: Period
    period_label: str
    period_span: str
    rows: list[BalanceRow]
    totals: Figures
    truncated: bool  # more lines than ``max_rows``: the first are listed, the totals still cover everything
    max_rows: int
    generated_at: dt.datetime
    rule: str  # how movements are counted (reversals, transfers in transit), printed under the table


class LedgerEntry(msgspec.Struct, kw_only=True):
    """One line of the stock ledger: a voucher's movement of one item (and lot) at the location."""

    occurred_at: dt.datetime
    date: dt.date  # Beijing date of occurred_at
    document_id: int
    document_number: str  # voucher number (凭证号)
    kind: str
    kind_zh: str
    reversal: bool
    lot_number: str
    quantity_in: int
    quantity_out: int
    balance: int  # running balance on hand of this item after the entry
    actor: str
    actor_name: str
    summary: str  # 摘要: reason, counterparty, reference


class LedgerItem(msgspec.Struct, kw_only=True):
    """The ledger of one item type at the location: opening, entries, totals and closing."""

    item: ItemBrief
    opening: int
    total_in: int
    total_out: int
    closing: int
    entries: list[LedgerEntry]


class StockLedger(msgspec.Struct, kw_only=True):
    """台账 of a location (with its bins) for a period: per item type, every on-hand movement in order."""

    scope: ReportScope
    period: Period
    period_label: str
    period_span: str
    items: list[LedgerItem]
    truncated: bool  # more entries than ``max_entries``: the later ones are left out; totals stay complete
    max_entries: int
    generated_at: dt.datetime
    rule: str


class CategoryFigures(msgspec.Struct, kw_only=True):
    """Stock of one category in one region (availability's rule: inventory.availability.service)."""

    category: str
    category_zh: str
    unit: str
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    in_transit: int = 0


class RegionStock(msgspec.Struct, kw_only=True):
    """One county (or the asked region's own locations, or the total) with a line per category."""

    region_code: str
    region_name: str
    categories: list[CategoryFigures]


class StockByCounty(msgspec.Struct, kw_only=True):
    """Stock per county × category of a region: on hand, reserved, available (and in transit)."""

    region_code: str
    region_name: str
    children: str  # what the child regions are: 县（市、区） under a city, 乡镇（街道） under a county
    counties: list[RegionStock]
    own: RegionStock  # locations coded to the region itself (a city's own depot)
    total: RegionStock
    today: dt.date
    generated_at: dt.datetime
    rule: str


class ExpiryMonth(msgspec.Struct, kw_only=True):
    """Lots with stock on hand whose expiry date falls in one month."""

    year: int
    month: int
    label: str  # 2027-01
    lots: int
    quantity: int


class ExpiringLots(msgspec.Struct, kw_only=True):
    """Lots expiring per month over the next months, in a region."""

    region_code: str
    region_name: str
    months: list[ExpiryMonth]
    expired_lots: int  # already past their expiry date, still on hand
    today: dt.date
