"""msgspec structs for incidents and dispatch orders."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from inventory.schemas import Crs, Id, Strict

IncidentKind = Literal["flood", "waterlogging", "typhoon", "landslide", "forest_fire", "earthquake", "other"]
ResponseLevel = Literal["county", "city", "province"]
"""The incident's response level (响应级别): it sets how soon dispatched stock should arrive."""
DispatchStatus = Literal["reserved", "executing", "in_transit", "delivered", "returned", "cancelled"]


class IncidentCreate(Strict):
    """A new incident at a point (any CRS; stored as WGS-84)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: IncidentKind
    region_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,12}$")]
    lat: float
    lon: float
    crs: Crs = "wgs84"
    level: ResponseLevel = "county"


class IncidentRead(msgspec.Struct):
    """An incident."""

    id: int
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    source_crs: str
    status: str
    location_id: int
    created_by: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    level: str = "county"


class DispatchLineRequest(Strict):
    """What is needed: an item type (id or code), how many, and optionally from where.

    ``agreement_id`` calls the goods off an agreement reserve (协议储备调用) instead of taking them from stock.
    """

    item_type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    from_location_id: Id | None = None
    agreement_id: Id | None = None


class Approval(Strict):
    """Who authorised the order: in writing, or orally in an emergency (paperwork due within 48 h)."""

    mode: Literal["written", "oral"]
    approved_by: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    document_no: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class DispatchCreate(Strict):
    """A dispatch order: every line is reserved in one transaction, or none is."""

    lines: Annotated[list[DispatchLineRequest], msgspec.Meta(min_length=1, max_length=100)]
    approval: Approval


class DispatchLineRead(msgspec.Struct):
    """One allocation: a quantity at a source, its state, and the transfer that carried it."""

    id: int
    item_type_id: int
    location_id: int
    lot_id: int | None
    asset_id: int | None
    quantity: int
    state: str
    transfer_id: int | None
    agreement_id: int | None = None


class DispatchRead(msgspec.Struct):
    """A dispatch order and where it stands, with its response-time target (:mod:`inventory.response.targets`).

    ``estimate_meets_target``: the slowest line's estimated arrival at ordering is within the target;
    ``delivered_within_target``: None until delivered; ``late``: delivered after the target, or not delivered
    and past it now. The target fields are None on orders placed before targets existed.
    """

    id: int
    incident_id: int
    status: str
    approval_mode: str
    approved_by: str
    document_no: str | None
    paperwork_due_at: dt.datetime | None
    paperwork_received_at: dt.datetime | None
    paperwork_overdue: bool
    created_by: str
    created_at: dt.datetime
    ordered_at: dt.datetime
    lines: list[DispatchLineRead]
    executed_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    target_hours: float | None = None
    target_due_at: dt.datetime | None = None
    estimated_minutes: float | None = None
    estimate_meets_target: bool | None = None
    delivered_within_target: bool | None = None
    late: bool = False


LineIds = Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]


class ExecuteRequest(Strict):
    """Execute reserved lines: the named ``line_ids`` (a keeper scanning one unit or lot), else those of one
    source, else every source in the keeper's scope. ``occurred_at``: when it really left (default now)."""

    from_location_id: Id | None = None
    line_ids: LineIds | None = None
    occurred_at: dt.datetime | None = None


class DeliverRequest(Strict):
    """Sign for executed lines at the incident: the named ``line_ids``, else everything on the way."""

    line_ids: LineIds | None = None
    occurred_at: dt.datetime | None = None


class ReturnRequest(Strict):
    """Bring what was delivered back to a depot through the ledger: the named ``line_ids``, else all of it."""

    to_location_id: Id
    reason: Annotated[str, msgspec.Meta(max_length=200)] = "事件结束归还"
    line_ids: LineIds | None = None
    occurred_at: dt.datetime | None = None


class PaperworkRequest(Strict):
    """The written order that follows an oral approval."""

    document_no: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
