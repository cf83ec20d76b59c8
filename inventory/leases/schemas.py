"""msgspec structs for leases (租赁、借用): the contract, its lines, returns, extensions, fees."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from inventory.schemas import Id, Strict

Direction = Literal["in", "out"]
FeeBasis = Literal["per_day", "per_use", "lump_sum", "free"]
LeaseStatus = Literal["draft", "active", "overdue", "returned", "closed_short"]
Condition = Literal["ok", "damaged", "lost"]
Money = Annotated[float, msgspec.Meta(ge=0, le=100_000_000)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]

STATUS_ZH = {"draft": "未交付", "active": "租借中", "overdue": "已逾期", "returned": "已归还",
             "closed_short": "短还结案"}
DIRECTION_ZH = {"in": "租入/借入", "out": "租出/借出"}
FEE_BASIS_ZH = {"per_day": "按日", "per_use": "按次", "lump_sum": "一次总价", "free": "无偿"}


class LeaseLineCreate(Strict):
    """A serial unit (``asset_id`` lending out, ``serial_number`` leasing in) or a quantity of an item type."""

    item_type_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)] = 1
    lot_id: Id | None = None
    asset_id: Id | None = None
    serial_number: Annotated[str, msgspec.Meta(max_length=60)] = ""
    condition_out: Text200 = ""


class LeaseCreate(Strict):
    """A lease contract; ``location_id`` is our depot that hands the goods over (or receives them)."""

    direction: Direction
    counterparty: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    location_id: Id
    start_date: dt.date
    due_date: dt.date
    lines: Annotated[list[LeaseLineCreate], msgspec.Meta(min_length=1, max_length=200)]
    counterparty_kind: Literal["unit", "firm"] = "unit"
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] = ""
    contact_phone: Annotated[str, msgspec.Meta(max_length=30)] = ""
    agreement_number: Annotated[str, msgspec.Meta(max_length=60)] = ""
    fee_basis: FeeBasis = "free"
    rate: Money = 0.0
    deposit: Money = 0.0
    notes: Text200 = ""


class ReturnLine(Strict):
    """What came back of one lease line, and in what condition."""

    line_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)] = 1
    condition: Condition = "ok"
    note: Text200 = ""


class LeaseHandOver(Strict):
    """The handing over; ``occurred_at``: when the goods really changed hands (default now; 北京时间 without an
    offset; not in the future). An empty body is the same as ``{}``."""

    occurred_at: dt.datetime | None = None


class LeaseReturn(Strict):
    """A return, in full or in part; lent goods come back to ``location_id`` (default: the lease's depot).

    ``occurred_at``: when they really came back (default now; 北京时间 without an offset; not in the future,
    not before the handing over)."""

    lines: Annotated[list[ReturnLine], msgspec.Meta(min_length=1, max_length=200)]
    location_id: Id | None = None
    occurred_at: dt.datetime | None = None


class LeaseExtend(Strict):
    """A new due date (later than the current one) and why."""

    due_date: dt.date
    reason: Text200 = ""


class LeaseLineRead(msgspec.Struct):
    """A lease line with what came back."""

    id: int
    item_type_id: int
    item_name: str
    lot_id: int | None
    asset_id: int | None
    serial_number: str
    quantity: int
    returned: int
    damaged: int
    lost: int
    outstanding: int
    condition_out: str
    condition_back: str


class ExtensionRead(msgspec.Struct):
    """One extension of the due date."""

    previous_due: dt.date
    new_due: dt.date
    reason: str
    actor: str
    created_at: dt.datetime


class FeeRead(msgspec.Struct):
    """The fee accrued to date (or at return): chargeable days, days past due and the amount in yuan."""

    basis: str
    rate: float
    days: int
    late_days: int
    amount: float


class LeaseRead(msgspec.Struct):
    """A lease with its derived status, lines, extensions and fee."""

    id: int
    direction: str
    status: str
    status_zh: str
    agreement_number: str
    counterparty: str
    counterparty_kind: str
    contact_name: str
    contact_phone: str
    location_id: int
    counterparty_location_id: int | None
    start_date: dt.date
    due_date: dt.date
    fee_basis: str
    rate: float
    deposit: float
    notes: str
    created_by: str
    created_at: dt.datetime
    out_at: dt.datetime | None
    closed_at: dt.datetime | None
    lines: list[LeaseLineRead]
    extensions: list[ExtensionRead]
    fee: FeeRead
    write_off_request_ids: list[int] = msgspec.field(default_factory=list)


class FeeTotal(msgspec.Struct):
    """Fees of one counterparty in a year: what the bureau pays (leased in) and is owed (lent out)."""

    counterparty: str
    leases: int
    payable: float
    receivable: float


class FeeSummary(msgspec.Struct):
    """Fee totals per counterparty for leases that started in a year."""

    year: int
    payable: float
    receivable: float
    counterparties: list[FeeTotal]
