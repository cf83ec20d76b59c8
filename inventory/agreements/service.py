"""Writing agreements: record one, its checks and drills, settle call-offs; and the call-offs dispatch makes.

A call-off (调用) is made by a dispatch line that names an agreement (or that ``nearest`` filled from one):
:func:`reserve_calloff` at the order, :func:`call_off` when the keeper executes it (the firm is asked;
settlement falls due a month later), :func:`deliver_calloff` when the goods arrive at the incident's staging
place (a receipt there, so the ledger sees them from then on), :func:`release_calloff` when the order is
cancelled first. A line offers ``quantity − outstanding``; reserving raises ``outstanding`` with a conditional
UPDATE, so two orders at once can never take more than the line holds, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, require_scope
from inventory.agreements.queries import add_month, get_agreement, is_valid_on
from inventory.agreements.schemas import KIND_ZH, AgreementCreate, CheckCreate, SettleRequest
from inventory.clock import BEIJING, beijing_today
from inventory.errors import Conflict, InvalidInput
from inventory.places.refs import load_item, load_place
from inventory.readiness.plans import refresh_due
from inventory.stock.assets import create_asset
from inventory.stock.documents import MAX_FUTURE
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, MovementCreate, MovementLine
from inventory.store.models import (
    Agreement,
    AgreementCallOff,
    AgreementCheck,
    AgreementCheckCount,
    AgreementLine,
    Asset,
    DispatchLine,
    Location,
    Movement,
    utcnow,
)


async def _vendor(session: AsyncSession, location_id: int, field: str) -> Location:
    loc = await session.get(Location, location_id)
    if loc is None:
        raise InvalidInput(f"地点 id={location_id} 不存在", field=field)
    if loc.kind != "vendor":
        raise InvalidInput(f"{loc.name} 不是协议企业仓库（地点类型须为 vendor，现为 {loc.kind}）", field=field)
    return loc


async def create_agreement(session: AsyncSession, data: AgreementCreate, principal: Principal) -> Agreement:
    """Record an agreement and its lines (the firm's warehouse must be a vendor location in the user's scope)."""
    if data.valid_until < data.valid_from:
        raise InvalidInput(f"有效期止 {data.valid_until} 早于有效期起 {data.valid_from}", field="valid_until")
    vendor = await _vendor(session, data.vendor_location_id, "vendor_location_id")
    await require_scope(session, principal, vendor.id)
    number = data.number.strip()
    if await session.scalar(select(Agreement.id).where(Agreement.number == number)):
        raise Conflict(f"协议编号 {number} 已登记", field="number")
    seen: set[int] = set()
    for i, line in enumerate(data.lines):
        try:
            item = await load_item(session, line.item_type_id, field=f"lines.{i}.item_type_id")
        except InvalidInput as exc:
            raise InvalidInput(f"第 {i + 1} 行：{exc.detail}", field=exc.field) from None
        if item.id in seen:
            raise InvalidInput(f"第 {i + 1} 行：{item.name} 已在前面的行中列出，每个品目一行",
                               field=f"lines.{i}.item_type_id")
        seen.add(item.id)
    a = Agreement(
        number=number, name=data.name.strip(), vendor_location_id=vendor.id, kind=data.kind,
        valid_from=data.valid_from, valid_until=data.valid_until, response_hours=data.response_hours,
        delivery_point=data.delivery_point, price_mechanism=data.price_mechanism, rotation_by=data.rotation_by,
        check_interval_days=data.check_interval_days, contact_name=data.contact_name,
        contact_phone=data.contact_phone, notes=data.notes, created_by=principal.username, created_at=utcnow())
    session.add(a)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same number recorded a moment ago
        raise Conflict(f"协议编号 {number} 已登记", field="number") from exc
    session.add_all(AgreementLine(agreement_id=a.id, item_type_id=line.item_type_id, quantity=line.quantity,
                                  outstanding=0) for line in data.lines)
    await session.flush()
    return a


async def record_check(session: AsyncSession, agreement_id: int, data: CheckCreate, principal: Principal,
                       today: dt.date | None = None) -> AgreementCheck:
    """A check (counts per line) or a drill (requested and arrived times give the measured response).

    Entered later from paper, a check carries its real date and times: a time without an offset is 北京时间,
    and none may lie in the future."""
    a = await get_agreement(session, agreement_id)
    await require_scope(session, principal, a.vendor_location_id)
    today = today or beijing_today()
    if data.checked_on > today:
        raise InvalidInput(f"检查日期 {data.checked_on} 晚于今天", field="checked_on")
    requested_at, arrived_at = _in_beijing(data.requested_at), _in_beijing(data.arrived_at)
    if data.method == "drill":
        if requested_at is None:
            raise InvalidInput("拉动演练须填写下达调用的时间 requested_at", field="requested_at")
        if arrived_at is None:
            raise InvalidInput("拉动演练须填写物资到位的时间 arrived_at", field="arrived_at")
    if arrived_at is not None and (requested_at is None or arrived_at < requested_at):
        raise InvalidInput("到位时间 arrived_at 须晚于下达调用时间 requested_at", field="arrived_at")
    if data.result != "pass" and not data.deficiency.strip():
        raise InvalidInput("检查结果不合格或有缺项时，须写明问题 deficiency", field="deficiency")
    _not_future(requested_at, "requested_at", "下达调用时间")
    _not_future(arrived_at, "arrived_at", "到位时间")
    lines = {ln.id: ln for ln in await session.scalars(
        select(AgreementLine).where(AgreementLine.agreement_id == a.id))}
    seen: set[int] = set()
    for i, count in enumerate(data.counts):
        if count.line_id not in lines:
            raise InvalidInput(f"第 {i + 1} 项：协议 {a.number} 没有 id={count.line_id} 的品目行",
                               field=f"counts.{i}.line_id")
        if count.line_id in seen:
            raise InvalidInput(f"第 {i + 1} 项：品目行 id={count.line_id} 重复清点", field=f"counts.{i}.line_id")
        seen.add(count.line_id)
    check = AgreementCheck(agreement_id=a.id, checked_on=data.checked_on, method=data.method, result=data.result,
                           deficiency=data.deficiency.strip(), requested_at=requested_at,
                           arrived_at=arrived_at, recorded_by=principal.username, created_at=utcnow())
    session.add(check)
    await session.flush()
    session.add_all(AgreementCheckCount(check_id=check.id, line_id=c.line_id, counted=c.counted)
                    for c in data.counts)
    await session.flush()
    return check


def _in_beijing(value: dt.datetime | None) -> dt.datetime | None:
    """A check's time as sent: without an offset it is 北京时间 (as the ledger reads ``occurred_at``)."""
    return value.replace(tzinfo=BEIJING) if value is not None and value.tzinfo is None else value


def _not_future(value: dt.datetime | None, field: str, label: str) -> None:
    """A check is recorded after it happened (perhaps days later, from paper): none of its times is ahead."""
    if value is not None and value > utcnow() + MAX_FUTURE:
        shown = value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        raise InvalidInput(f"{label} {field} {shown}（北京时间）晚于当前时间", field=field)


async def settle_calloff(session: AsyncSession, agreement_id: int, calloff_id: int, data: SettleRequest,
                         principal: Principal) -> AgreementCallOff:
    """Record that a call-off has been paid (结算)."""
    a = await get_agreement(session, agreement_id)
    await require_scope(session, principal, a.vendor_location_id)
    c = await session.get(AgreementCallOff, calloff_id)
    if c is None or c.agreement_id != a.id:
        raise InvalidInput(f"协议 {a.number} 没有 id={calloff_id} 的调用记录", field="calloff_id")
    if c.state not in ("called_off", "delivered"):
        raise Conflict(f"调用记录 #{c.id} 尚未调用或已取消（{c.state}），无需结算")
    if c.settled_at is not None:
        raise Conflict(f"调用记录 #{c.id} 已于 {c.settled_at:%Y-%m-%d} 结算")
    c.settled_at, c.settled_by, c.settlement_note = utcnow(), principal.username, data.note.strip()
    await session.flush()
    return c


async def usable_agreement(session: AsyncSession, agreement_id: int, item_type_id: int, today: dt.date,
                           field: str) -> tuple[Agreement, AgreementLine]:
    """The agreement and its line for this item type, if it binds the firm today (else a specific 422 or 409)."""
    a = await session.get(Agreement, agreement_id)
    if a is None:
        raise InvalidInput(f"协议储备 id={agreement_id} 不存在", field=field)
    if not is_valid_on(a, today):
        when = "尚未生效" if today < a.valid_from else "已过期"
        raise Conflict(f"协议 {a.number}（{a.name}）{when}（有效期 {a.valid_from} 至 {a.valid_until}），不能调用",
                       field=field)
    line = await session.scalar(select(AgreementLine).where(AgreementLine.agreement_id == a.id,
                                                            AgreementLine.item_type_id == item_type_id))
    if line is None:
        item = await load_item(session, item_type_id)
        raise InvalidInput(f"协议 {a.number}（{KIND_ZH.get(a.kind, a.kind)}）不含 {item.name}", field=field)
    return a, line


async def reserve_calloff(session: AsyncSession, a: Agreement, line: AgreementLine, want: int,
                          dispatch_id: int) -> int:
    """Take up to ``want`` from the line for a dispatch (a dispatch line and a call-off); how many were taken."""
    taken = 0
    for _ in range(5):  # another order may take some between the read and the update: read again
        free = await session.scalar(select(AgreementLine.quantity - AgreementLine.outstanding)
                                    .where(AgreementLine.id == line.id).execution_options(populate_existing=True))
        take = min(int(free or 0), want)
        if take <= 0:
            return 0
        result = await session.execute(
            update(AgreementLine).where(AgreementLine.id == line.id,
                                        AgreementLine.quantity - AgreementLine.outstanding >= take)
            .values(outstanding=AgreementLine.outstanding + take).execution_options(synchronize_session=False))
        if result.rowcount == 1:  # type: ignore[attr-defined]
            taken = take
            break
    if taken:
        dl = DispatchLine(dispatch_id=dispatch_id, item_type_id=line.item_type_id, location_id=a.vendor_location_id,
                          quantity=taken, state="reserved", agreement_id=a.id)
        session.add(dl)
        await session.flush()
        session.add(AgreementCallOff(agreement_id=a.id, line_id=line.id, item_type_id=line.item_type_id,
                                     quantity=taken, dispatch_id=dispatch_id, dispatch_line_id=dl.id,
                                     state="reserved", created_at=utcnow()))
        await session.flush()
    return taken


async def _calloff_of(session: AsyncSession, ln: DispatchLine) -> AgreementCallOff:
    c = await session.scalar(select(AgreementCallOff).where(AgreementCallOff.dispatch_line_id == ln.id)
                             .with_for_update())
    assert c is not None, f"dispatch line {ln.id} names an agreement but has no call-off"
    return c


async def _give_back(session: AsyncSession, c: AgreementCallOff) -> None:
    await session.execute(update(AgreementLine).where(AgreementLine.id == c.line_id)
                          .values(outstanding=AgreementLine.outstanding - c.quantity)
                          .execution_options(synchronize_session=False))


async def call_off(session: AsyncSession, ln: DispatchLine) -> None:
    """Executing the line asks the firm for the goods: the call-off is made and its settlement falls due."""
    c = await _calloff_of(session, ln)
    c.state, c.called_at = "called_off", utcnow()
    c.settlement_due = add_month(c.called_at.date())
    ln.state = "executed"


async def release_calloff(session: AsyncSession, ln: DispatchLine) -> None:
    """The order is cancelled before the firm was asked: the line offers the quantity again."""
    c = await _calloff_of(session, ln)
    c.state = "released"
    await _give_back(session, c)
    ln.state = "released"


async def deliver_calloff(session: AsyncSession, ln: DispatchLine, staging_id: int, *, actor: str,
                          reference: str) -> list[DispatchLine]:
    """The goods have arrived at the staging place: a receipt there, and the line offers the quantity again.

    Bulk goods arrive as one receipt line (no lot: agreed stock circulates in the firm's trade). Serial goods
    arrive as new units (owned: the bureau pays for them) with serial numbers made of the agreement number
    and the call-off; the keeper can correct them. The dispatch line is split into one line per unit so the
    dispatch can bring each back like any other. Returns the dispatch lines now delivered.
    """
    c = await _calloff_of(session, ln)
    a = await session.get(Agreement, c.agreement_id)
    assert a is not None
    item = await load_item(session, ln.item_type_id)
    place = await load_place(session, staging_id)
    reason = f"协议储备调用到货：{a.name}（{a.number}）"
    delivered = [ln]
    if item.tracking == "bulk":
        doc = await post_document(session, MovementCreate(
            kind="receipt", location_id=place.id, reason=reason, reference=reference,
            counterparty=a.name[:100], lines=[MovementLine(item_type_id=item.id, quantity=ln.quantity)]),
            actor=actor)
        c.receipt_id = doc.id
    else:
        for n in range(ln.quantity):
            asset = await create_asset(session, AssetCreate(
                item_type_id=item.id, serial_number=f"{a.number}-D{c.id}-{n + 1}"[:60], location_id=place.id,
                notes=reason[:200]), actor=actor)
            await refresh_due(session, Asset.id == asset.id)  # its maintenance plans set the first due date
            if n == 0:
                ln.asset_id, ln.quantity = asset.id, 1
                c.receipt_id = await session.scalar(select(Movement.document_id).where(Movement.asset_id == asset.id)
                                                    .order_by(Movement.id.desc()).limit(1))
            else:
                extra = DispatchLine(dispatch_id=ln.dispatch_id, item_type_id=item.id, location_id=ln.location_id,
                                     asset_id=asset.id, quantity=1, state="delivered", agreement_id=a.id)
                session.add(extra)
                delivered.append(extra)
    c.state, c.delivered_at = "delivered", utcnow()
    await _give_back(session, c)
    for d in delivered:
        d.state = "delivered"
    await session.flush()
    return delivered
