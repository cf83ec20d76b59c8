"""msgspec structs of requests for stock between units (物资调用申请): what is asked, answered and read."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal

import msgspec

from inventory.response.schemas import Approval
from inventory.schemas import Id, Short, Strict

Transport = Literal["requester_pickup", "lender_delivery", "either"]
TRANSPORT_ZH: Final = {"requester_pickup": "申请单位自行提运", "lender_delivery": "出借单位送达",
                       "either": "均可（电话商定）"}
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,12}$")]
Box = Literal["incoming", "outgoing", "all"]
RequestStatus = Literal["open", "answered"]
Condition = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class RequestLineCreate(Strict):
    """What is needed: an item type (id or code), or a category with attribute conditions; and how many."""

    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    item_type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    attrs: Annotated[list[Condition], msgspec.Meta(max_length=5)] = msgspec.field(default_factory=list)
    """Attribute conditions with a category, as for ``nearest``: ``flow_m3h>=300``, ``fuel=diesel``."""


class RequestCreate(Strict):
    """A request from the requesting unit (``from_region``) to the unit asked (``to_region``: the owning unit or
    the level above), toward an open incident: 品种、数量、用途、目的地、时间要求、运输方式、联系方式."""

    incident_id: Id
    to_region: RegionCode
    purpose: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    needed_by: dt.datetime
    transport: Transport
    contact_name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    contact_phone: Annotated[str, msgspec.Meta(min_length=5, max_length=30, pattern=r"^[0-9+\-() ]*$")]
    lines: Annotated[list[RequestLineCreate], msgspec.Meta(min_length=1, max_length=50)]
    from_region: RegionCode | None = None
    """The requesting unit; by default the requester's own scope region (required when he has several)."""
    destination: Short = ""
    """Where to deliver, in words (the goods go to the incident's staging place)."""


class AcceptLine(Strict):
    """How much of one request line to give, as which item type (needed for a line asked by category), and from
    which of the acceptor's sites (else the nearest of his own)."""

    line_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    item_type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    from_location_id: Id | None = None


class RequestAccept(Strict):
    """An acceptance, in whole or in part: one dispatch order from the acceptor's own stock, approved in writing
    or orally (先调用，后补办手续: paperwork due within 48 h, as for any order)."""

    lines: Annotated[list[AcceptLine], msgspec.Meta(min_length=1, max_length=50)]
    approval: Approval


class RequestDecline(Strict):
    """A refusal with its reason, of what is still open on the named lines (all lines when none is named)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    line_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=50)] | None = None


class RequestLineRead(msgspec.Struct, kw_only=True):
    """One line and where it stands: ``pending``, ``accepted``, ``declined`` or ``partly`` (some of each, or
    some accepted and the rest still open)."""

    id: int
    item_type_id: int | None
    item_name: str
    unit: str
    category: str | None
    attrs: list[str]
    quantity: int
    accepted: int
    declined: int
    open: int
    status: str
    status_zh: str


class AnswerLineRead(msgspec.Struct, kw_only=True):
    """What an answer gave (or refused) of one line."""

    line_id: int
    item_type_id: int | None
    item_name: str
    quantity: int


class RequestAnswerRead(msgspec.Struct, kw_only=True):
    """An acceptance with its dispatch order, or a refusal with its reason.

    ``settlement_due_at``: settlement with the lending unit is due one month after the order is delivered.
    """

    id: int
    kind: str
    reason: str
    answered_by: str
    answered_at: dt.datetime
    lines: list[AnswerLineRead]
    dispatch_id: int | None = None
    dispatch_status: str | None = None
    approval_mode: str | None = None
    paperwork_due_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    settlement_due_at: dt.datetime | None = None


class RequestRead(msgspec.Struct, kw_only=True):
    """A request between units with its lines and answers."""

    id: int
    incident_id: int
    incident_name: str
    from_region_code: str
    from_region_name: str
    to_region_code: str
    to_region_name: str
    purpose: str
    destination: str
    needed_by: dt.datetime
    transport: str
    transport_zh: str
    contact_name: str
    contact_phone: str
    status: str
    status_zh: str
    outcome: str
    """``pending`` (nothing answered), ``accepted`` / ``declined`` (every line so), else ``partly``."""
    outcome_zh: str
    created_by: str
    created_at: dt.datetime
    answered_at: dt.datetime | None
    lines: list[RequestLineRead]
    answers: list[RequestAnswerRead]


class RequestCounts(msgspec.Struct, kw_only=True):
    """Open requests addressed to the user's units (to answer) and sent by them (waiting)."""

    incoming_open: int
    outgoing_open: int
