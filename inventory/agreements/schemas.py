"""msgspec structs for agreement reserves (协议储备): the agreement, its lines, checks and drills, call-offs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from inventory.schemas import Id, Strict

AgreementKind = Literal["physical", "capacity"]
PriceMechanism = Literal["fixed", "market", "subsidy"]
RotationBy = Literal["vendor", "bureau"]
AgreementStatus = Literal["pending", "valid", "expiring", "expired"]
CheckMethod = Literal["regular", "spot", "drill"]
CheckResult = Literal["pass", "deficient", "fail"]
CallOffState = Literal["reserved", "called_off", "delivered", "released"]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]

KIND_ZH = {"physical": "实物代储", "capacity": "产能储备"}
PRICE_ZH = {"fixed": "固定价格", "market": "调用时市场价", "subsidy": "代储补贴"}
ROTATION_ZH = {"vendor": "企业轮换", "bureau": "应急管理部门轮换"}
STATUS_ZH = {"pending": "未生效", "valid": "有效", "expiring": "即将到期", "expired": "已过期"}
METHOD_ZH = {"regular": "定期检查", "spot": "抽查", "drill": "拉动演练"}
RESULT_ZH = {"pass": "合格", "deficient": "有缺项", "fail": "不合格"}
CALLOFF_ZH = {"reserved": "已预留", "called_off": "已调用待到货", "delivered": "已到货", "released": "已取消"}


class AgreementLineCreate(Strict):
    """An item type and the quantity held (physical) or made per day (capacity)."""

    item_type_id: Id
    quantity: Quantity


class AgreementCreate(Strict):
    """An agreement with a firm; ``vendor_location_id`` is its warehouse (a location of kind ``vendor``)."""

    number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    vendor_location_id: Id
    kind: AgreementKind
    valid_from: dt.date
    valid_until: dt.date
    response_hours: Annotated[float, msgspec.Meta(gt=0, le=720)]
    lines: Annotated[list[AgreementLineCreate], msgspec.Meta(min_length=1, max_length=200)]
    delivery_point: Annotated[str, msgspec.Meta(max_length=200)] = ""
    price_mechanism: PriceMechanism = "fixed"
    rotation_by: RotationBy = "vendor"
    check_interval_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] = ""
    contact_phone: Annotated[str, msgspec.Meta(max_length=30)] = ""
    notes: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CheckCount(Strict):
    """What was counted of one agreement line."""

    line_id: Id
    counted: Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]


class CheckCreate(Strict):
    """A check (定期检查, 抽查) or a drill (拉动演练: when the goods were asked for and when they arrived)."""

    checked_on: dt.date
    method: CheckMethod
    result: CheckResult
    counts: Annotated[list[CheckCount], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)
    deficiency: Annotated[str, msgspec.Meta(max_length=300)] = ""
    requested_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None


class AgreementLineRead(msgspec.Struct):
    """A line with what is called off and not yet delivered, and what it offers today."""

    id: int
    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    quantity: int
    outstanding: int
    available: int


class CheckCountRead(msgspec.Struct):
    line_id: int
    item_name: str
    promised: int
    counted: int


class CheckRead(msgspec.Struct):
    """A check; for a drill, the measured response time beside the promised one."""

    id: int
    agreement_id: int
    checked_on: dt.date
    method: CheckMethod
    result: CheckResult
    deficiency: str
    requested_at: dt.datetime | None
    arrived_at: dt.datetime | None
    measured_response_hours: float | None
    promised_response_hours: float
    on_time: bool | None
    counts: list[CheckCountRead]
    recorded_by: str
    created_at: dt.datetime


class CallOffRead(msgspec.Struct):
    """A call-off (调用) by a dispatch; settlement is due one month after the call."""

    id: int
    agreement_id: int
    item_type_id: int
    item_name: str
    quantity: int
    dispatch_id: int
    state: CallOffState
    created_at: dt.datetime
    called_at: dt.datetime | None
    delivered_at: dt.datetime | None
    receipt_id: int | None
    settlement_due: dt.date | None
    settled_at: dt.datetime | None
    settlement_note: str
    settlement_overdue: bool


class AgreementRead(msgspec.Struct):
    """An agreement with its derived status, lines, the last check and drill, and when the next check is due."""

    id: int
    number: str
    name: str
    vendor_location_id: int
    vendor_name: str
    vendor_region_code: str
    lat: float | None
    lon: float | None
    kind: AgreementKind
    valid_from: dt.date
    valid_until: dt.date
    status: AgreementStatus
    days_left: int
    response_hours: float
    delivery_point: str
    price_mechanism: PriceMechanism
    rotation_by: RotationBy
    check_interval_days: int
    contact_name: str
    contact_phone: str
    notes: str
    lines: list[AgreementLineRead]
    last_check: CheckRead | None
    last_drill: CheckRead | None
    next_check_due: dt.date
    check_overdue: bool
    settlements_overdue: int
    created_by: str
    created_at: dt.datetime


class SettleRequest(Strict):
    """Record that a call-off has been paid (结算)."""

    note: Annotated[str, msgspec.Meta(max_length=200)] = ""
