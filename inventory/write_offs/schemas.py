"""msgspec structs for write-off requests (报废申请) and their decision."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from inventory.schemas import Id, Strict

WriteOffStatus = Literal["pending", "approved", "rejected", "cancelled"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class WriteOffLineRequest(Strict):
    """What to write off: a quantity of a bulk item (one lot, or first-expiring-first) or named serial units."""

    item_type_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
    lot_id: Id | None = None
    asset_ids: list[Id] = msgspec.field(default_factory=list)


class WriteOffCreate(Strict):
    """A write-off request at a location: its lines and why (霉变, 过期, 损坏无法修复…)."""

    location_id: Id
    lines: Annotated[list[WriteOffLineRequest], msgspec.Meta(min_length=1, max_length=500)]
    reason: Reason


class WriteOffReject(Strict):
    """Why the approver refuses the write-off."""

    reason: Reason


class WriteOffLineRead(msgspec.Struct):
    """Stock a request has set aside: a quantity of one lot (or lot-less stock) or one unit, at one place."""

    item_type_id: int
    location_id: int
    lot_id: int | None
    asset_id: int | None
    quantity: int


class WriteOffRead(msgspec.Struct):
    """A write-off request and where it stands; ``document_id`` is the 报废单 posted on approval."""

    id: int
    status: WriteOffStatus
    location_id: int
    requested_by: str
    reason: str
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    rejection_reason: str
    reservation_document_id: int | None
    document_id: int | None
    document_number: str | None
    lines: list[WriteOffLineRead]
