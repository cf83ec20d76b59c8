"""msgspec structs for lots, serial units, documents, movements, balances, transfers and the stock card."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from inventory.schemas import AssetStatus, Id, Ownership, Percent, Readiness, Short, Strict

DocumentKind = Literal["receipt", "issue", "transfer", "adjustment", "write_off", "return"]
MAX_QUANTITY = 1_000_000_000  # the largest quantity one line may move (a stocktake's count is bounded alike)
Quantity = Annotated[int, msgspec.Meta(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]


class LotSpec(Strict):
    """A lot given by its number; created on receipt if new, reused if it exists."""

    number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    origin: Annotated[str, msgspec.Meta(max_length=100)] = ""
    quality: Annotated[str, msgspec.Meta(max_length=40)] = ""  # 质量 on the label: 合格, 一等品…
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None


class MovementLine(Strict):
    """One line of a document: a quantity of a bulk item (optionally a lot) or named serial units."""

    item_type_id: Id
    quantity: Quantity
    lot_id: Id | None = None
    lot: LotSpec | None = None
    asset_ids: list[Id] = msgspec.field(default_factory=list)


class MovementCreate(Strict):
    """A document to post: receipt, issue, transfer, adjustment or return.

    ``write_off`` is refused with a pointer to ``POST /api/v1/write-offs``: a write-off is requested and
    posted only when a commander or admin other than the requester approves it.
    """

    kind: DocumentKind
    location_id: Id
    lines: Annotated[list[MovementLine], msgspec.Meta(min_length=1, max_length=500)]
    to_location_id: Id | None = None
    reason: Text200 = ""
    reference: Annotated[str, msgspec.Meta(max_length=100)] = ""
    counterparty: Annotated[str, msgspec.Meta(max_length=100)] = ""
    occurred_at: dt.datetime | None = None
    approver: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class ReverseRequest(Strict):
    """Why a document is being reversed."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ReceiveLine(Strict):
    """What arrived of one transfer line."""

    item_type_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
    lot_id: Id | None = None
    asset_ids: list[Id] = msgspec.field(default_factory=list)


class TransferReceive(Strict):
    """A receipt at the destination; omit ``lines`` to receive everything still in transit."""

    lines: list[ReceiveLine] | None = None
    close_short: bool = False
    loss_reason: Text200 = ""
    occurred_at: dt.datetime | None = None


class MovementRead(msgspec.Struct):
    """One posted movement."""

    id: int
    document_id: int
    location_id: int
    item_type_id: int
    lot_id: int | None
    asset_id: int | None
    bucket: str
    quantity: int
    created_at: dt.datetime


class DocumentRead(msgspec.Struct):
    """A posted document (单据) with its movements."""

    id: int
    number: str
    kind: str
    location_id: int
    to_location_id: int | None
    actor: str
    approver: str | None
    created_at: dt.datetime
    occurred_at: dt.datetime
    reason: str
    reference: str
    counterparty: str
    reverses_id: int | None
    reversed_by_id: int | None
    transfer_id: int | None
    movements: list[MovementRead]


class LotBalance(msgspec.Struct):
    """Figures for one lot (or the lot-less stock) of an item type at a location."""

    lot_id: int | None
    lot_number: str | None
    expiry_date: dt.date | None
    expired: bool
    on_hand: int
    reserved: int
    available: int
    in_transit: int


class StockRow(msgspec.Struct):
    """Stock of one item type at one location, with its lots."""

    location_id: int
    location_code: str
    location_name: str
    region_code: str
    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    on_hand: int
    reserved: int
    available: int
    in_transit: int
    lots: list[LotBalance]


class StockCardLine(msgspec.Struct):
    """One movement on a stock card (台账) with the running on-hand balance after it."""

    movement_id: int
    document_id: int
    document_number: str
    kind: str
    created_at: dt.datetime
    occurred_at: dt.datetime
    location_id: int
    lot_id: int | None
    asset_id: int | None
    bucket: str
    quantity: int
    balance: int
    in_transit_balance: int
    reason: str


class StockCard(msgspec.Struct):
    """The stock card of one item type at one location."""

    location_id: int
    item_type_id: int
    include_children: bool
    opening: int
    closing: int
    lines: list[StockCardLine]
    truncated: bool = False
    """True when the range holds more movements than ``lines`` lists (the first ones, oldest first);
    ``closing`` counts them all. Narrow ``since``/``until`` to see the rest."""


class TransferLine(msgspec.Struct):
    """One line of a transfer: sent, received, lost and still in transit."""

    item_type_id: int
    lot_id: int | None
    asset_id: int | None
    sent: int
    received: int
    lost: int
    outstanding: int


class TransferRead(msgspec.Struct):
    """A transfer (调拨单) and where it stands."""

    id: int
    number: str
    from_location_id: int
    to_location_id: int
    status: Literal["in_transit", "received", "cancelled"]
    created_at: dt.datetime
    occurred_at: dt.datetime
    actor: str
    reason: str
    lines: list[TransferLine]
    receipts: list[int]


class LotRead(msgspec.Struct):
    """A batch of a bulk item type, with the code on its label."""

    id: int
    item_type_id: int
    number: str
    origin: str
    quality: str
    production_date: dt.date | None
    expiry_date: dt.date | None
    label_code: str | None
    created_at: dt.datetime


class AssetCreate(Strict):
    """A new serial unit."""

    item_type_id: Id
    serial_number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    location_id: Id | None = None
    status: AssetStatus = "available"
    ownership: Ownership = "owned"
    readiness: Readiness = "unknown"
    battery_pct: Percent | None = None
    fuel_pct: Percent | None = None
    last_inspected_at: dt.datetime | None = None
    notes: Short = ""


class AssetUpdate(Strict):
    """A partial change of an asset's descriptive and readiness fields (moves go through the ledger)."""

    serial_number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)] | UnsetType = UNSET
    ownership: Ownership | UnsetType = UNSET
    readiness: Readiness | UnsetType = UNSET
    battery_pct: Percent | UnsetType | None = UNSET
    fuel_pct: Percent | UnsetType | None = UNSET
    fault_note: Short | UnsetType = UNSET
    last_inspected_at: dt.datetime | UnsetType | None = UNSET
    status: AssetStatus | UnsetType = UNSET
    notes: Short | UnsetType = UNSET


class AssetRead(msgspec.Struct):
    """A serial unit with its status, place and readiness."""

    id: int
    item_type_id: int
    serial_number: str
    label_code: str | None
    status: str
    location_id: int | None
    ownership: str
    readiness: str
    battery_pct: int | None
    fuel_pct: int | None
    fault_note: str
    last_inspected_at: dt.datetime | None
    next_inspection_due: dt.date | None
    inspection_overdue: bool
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
