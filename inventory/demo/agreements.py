"""The demo's agreement reserves (协议储备), so /agreements, nearest and the map have them:

- a supermarket's 实物代储 of water and instant food in 南昌县, 4 hours to arrive, priced at the market at call-off,
  rotated by the firm;
- a pump maker's 产能储备 in 新建区: pumps per day, the first day's output within 24 hours;
- a tent firm's 实物代储 in 进贤县, 12 hours, expiring within 30 days of the load (即将到期); its drill was late.

Each firm has a warehouse of its own (kind ``vendor``, made by the loader from :data:`AGREEMENT_FIRMS` like the
other vendors), a regular check (定期检查) and a drill (拉动演练) whose measured response time stands beside the
promised one. Everything goes through :mod:`inventory.agreements.service`, as the API would.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.agreements.schemas import (
    AgreementCreate,
    AgreementKind,
    AgreementLineCreate,
    CheckCount,
    CheckCreate,
    CheckResult,
    PriceMechanism,
)
from inventory.agreements.service import create_agreement, record_check
from inventory.clock import beijing_today
from inventory.demo.catalog import DemoVendor
from inventory.stock.documents import CHINA
from inventory.store.models import Agreement, AgreementLine, ItemType, Location

COMMANDER: Final = Principal(user_id=0, username="demo-commander", display_name="演示指挥人员", role="commander",
                             scope_regions=("3601",), scope_locations=(), token_id=0)
PREFIX: Final = "DEMO-XY-"


class DemoCheck(msgspec.Struct, frozen=True, kw_only=True):
    """A check ``days_ago`` days before the load; a drill when ``took_minutes`` is set (asked at ``asked_at``)."""

    days_ago: int
    result: CheckResult = "pass"
    counted: dict[str, int] = msgspec.field(default_factory=dict)  # item code → counted at the firm
    deficiency: str = ""
    asked_at: dt.time = dt.time(9, 0)
    took_minutes: int | None = None


class DemoAgreement(msgspec.Struct, frozen=True, kw_only=True):
    """An agreement of the demo; its validity is reckoned from the load date so it binds whenever the demo loads."""

    number: str
    name: str
    firm: str  # the vendor location's code
    kind: AgreementKind
    response_hours: float
    lines: dict[str, int]  # item code → quantity held (physical) or made per day (capacity)
    days_left: int | None  # None: from 1 January this year to 31 December next year
    price_mechanism: PriceMechanism
    check_interval_days: int
    delivery_point: str
    contact: tuple[str, str]
    notes: str
    checks: tuple[DemoCheck, ...]


AGREEMENT_FIRMS: Final[tuple[DemoVendor, ...]] = (
    # Warehouses of firms whose own goods (or output) are promised: nothing of the bureau's is booked there.
    DemoVendor(code="V-FOOD-360121", name="江西某连锁超市有限公司南昌县配送中心", region_code="360121",
               lead_hours=4, ownership="owned", stock={}),
    DemoVendor(code="V-PUMPMK-360112", name="江西某水泵制造有限公司新建生产基地", region_code="360112",
               lead_hours=24, ownership="owned", stock={}),
    DemoVendor(code="V-TENT-360124", name="江西某篷业有限公司进贤仓库", region_code="360124",
               lead_hours=12, ownership="owned", stock={}),
)
"""The three firms' warehouses (one per agreement); ``lead_hours`` is the agreement's response time."""

AGREEMENTS: Final[tuple[DemoAgreement, ...]] = (
    DemoAgreement(
        number=f"{PREFIX}001", name="生活类救灾物资协议代储（饮用水、方便食品）", firm="V-FOOD-360121",
        kind="physical", response_hours=4, lines={"WATER-550": 2000, "FOOD-NOODLE": 1000}, days_left=None,
        price_mechanism="market", check_interval_days=90, delivery_point="南昌县内事发地现场收货点或县综合储备库",
        contact=("邹经理", "13870012345"), notes="企业负责采购、储存、配送和轮换，库存不低于协议数量",
        checks=(
            DemoCheck(days_ago=70, asked_at=dt.time(9, 30), took_minutes=205),
            DemoCheck(days_ago=25, counted={"WATER-550": 2150, "FOOD-NOODLE": 1080}),
        )),
    DemoAgreement(
        number=f"{PREFIX}002", name="排涝泵产能储备", firm="V-PUMPMK-360112", kind="capacity", response_hours=24,
        lines={"PUMP-SUB-400": 6, "PUMP-SUB-300": 10}, days_left=None, price_mechanism="fixed",
        check_interval_days=180, delivery_point="南昌市应急物资储备库", contact=("涂厂长", "13907912345"),
        notes="汛期每日产能，调用后 24 小时内交付首日产量",
        checks=(
            DemoCheck(days_ago=120, asked_at=dt.time(8, 0), took_minutes=21 * 60 + 30),
            DemoCheck(days_ago=60),
        )),
    DemoAgreement(
        number=f"{PREFIX}003", name="救灾帐篷协议代储", firm="V-TENT-360124", kind="physical", response_hours=12,
        lines={"TENT-12": 500, "TENT-COT-12": 200}, days_left=20, price_mechanism="fixed",
        check_interval_days=90, delivery_point="进贤县综合应急物资储备库", contact=("万经理", "13576012345"),
        notes="协议即将到期，续签前须完成一次抽查",
        checks=(
            DemoCheck(days_ago=40, result="deficient", counted={"TENT-12": 500, "TENT-COT-12": 180},
                      deficiency="棉帐篷少 20 顶，企业承诺 7 日内补足"),
            DemoCheck(days_ago=15, result="deficient", asked_at=dt.time(14, 0), took_minutes=13 * 60 + 40,
                      deficiency="夜间装车延误，到位晚于承诺时限 1 小时 40 分"),
        )),
)


def _validity(spec: DemoAgreement, today: dt.date) -> tuple[dt.date, dt.date]:
    if spec.days_left is None:
        return dt.date(today.year, 1, 1), dt.date(today.year + 1, 12, 31)
    until = today + dt.timedelta(days=spec.days_left)
    return until - dt.timedelta(days=364), until


async def _make(session: AsyncSession, spec: DemoAgreement, today: dt.date) -> bool:
    firm = await session.scalar(select(Location.id).where(Location.code == spec.firm))
    items: dict[str, int] = dict((await session.execute(
        select(ItemType.code, ItemType.id).where(ItemType.code.in_(list(spec.lines))))).all())
    if firm is None or len(items) < len(spec.lines):
        return False
    valid_from, valid_until = _validity(spec, today)
    a = await create_agreement(session, AgreementCreate(
        number=spec.number, name=spec.name, vendor_location_id=firm, kind=spec.kind, valid_from=valid_from,
        valid_until=valid_until, response_hours=spec.response_hours,
        lines=[AgreementLineCreate(item_type_id=items[code], quantity=n) for code, n in spec.lines.items()],
        delivery_point=spec.delivery_point, price_mechanism=spec.price_mechanism, rotation_by="vendor",
        check_interval_days=spec.check_interval_days, contact_name=spec.contact[0],
        contact_phone=spec.contact[1], notes=spec.notes), COMMANDER)
    lines: dict[int, int] = dict((await session.execute(
        select(AgreementLine.item_type_id, AgreementLine.id).where(AgreementLine.agreement_id == a.id))).all())
    for c in spec.checks:
        day = today - dt.timedelta(days=c.days_ago)
        asked = arrived = None
        if c.took_minutes is not None:  # a drill: the firm was asked on the day and the goods arrived later
            asked = dt.datetime.combine(day, c.asked_at, CHINA)
            arrived = asked + dt.timedelta(minutes=c.took_minutes)
        await record_check(session, a.id, CheckCreate(
            checked_on=day, method="regular" if asked is None else "drill", result=c.result,
            counts=[CheckCount(line_id=lines[items[code]], counted=n) for code, n in c.counted.items()],
            deficiency=c.deficiency, requested_at=asked, arrived_at=arrived), COMMANDER, today=today)
    return True


async def ensure_demo_agreements(session: AsyncSession, today: dt.date | None = None) -> tuple[int, int]:
    """Record the demo agreements, each with its checks, unless the demo recorded it before; (created, skipped)."""
    today = today or beijing_today()
    there = set(await session.scalars(select(Agreement.number).where(Agreement.number.startswith(PREFIX))))
    made = 0
    for spec in AGREEMENTS:
        if spec.number not in there:
            made += await _make(session, spec, today)
    return made, sum(1 for spec in AGREEMENTS if spec.number in there)
