"""Reading and acknowledging alerts, always through what the reader may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLE_ZH
from inventory.access.scope import Principal
from inventory.alerts.kinds import KINDS, SEVERITY_ZH
from inventory.alerts.schemas import STATUS_ZH, AlertRead, AlertStatus
from inventory.alerts.visibility import Viewer, viewer_of, visible_conditions
from inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from inventory.schemas import Page
from inventory.stock.documents import CHINA
from inventory.store.keyset import Order, after_row, check_paging, order_by, page_rows
from inventory.store.models import Alert, Location, utcnow

# The order of list_alerts: open, then acknowledged, then resolved; the serious ones first; the soonest due (undated
# last); the newest.
_ALERT_ORDER: Order = (
    (case((Alert.resolved_at.is_not(None), 2), (Alert.acknowledged_at.is_not(None), 1), else_=0), False),
    (Alert.severity != "high", False), (Alert.due_on.is_(None), False), (Alert.due_on, False), (Alert.id, True),
)


def principal_viewer(principal: Principal) -> Viewer:
    """The viewer a signed-in user is."""
    return viewer_of(principal.role, principal.scope_regions, principal.scope_locations)


def status_of(a: Alert) -> AlertStatus:
    """open, acknowledged or resolved."""
    if a.resolved_at is not None:
        return "resolved"
    return "acknowledged" if a.acknowledged_at is not None else "open"


def status_condition(status: AlertStatus) -> ColumnElement[bool]:
    """SQL for one status."""
    if status == "resolved":
        return Alert.resolved_at.is_not(None)
    acked = Alert.acknowledged_at.is_not(None) if status == "acknowledged" else Alert.acknowledged_at.is_(None)
    return Alert.resolved_at.is_(None) & acked


def alert_read(a: Alert, location_name: str | None) -> AlertRead:
    """The public view of an alert."""
    status = status_of(a)
    kind = KINDS.get(a.kind)
    return AlertRead(
        id=a.id, kind=a.kind, kind_zh=kind.zh if kind else a.kind, severity=a.severity,  # type: ignore[arg-type]
        severity_zh=SEVERITY_ZH.get(a.severity, a.severity), status=status, status_zh=STATUS_ZH[status],
        title=a.title, detail=a.detail, subject_type=a.subject_type, subject_id=a.subject_id,
        region_code=a.region_code, location_id=a.location_id, location_name=location_name, due_on=a.due_on,
        first_seen=a.first_seen, last_seen=a.last_seen, opened_at=a.opened_at, times_opened=a.times_opened,
        last_sent=a.last_sent, acknowledged_by=a.acknowledged_by, acknowledged_at=a.acknowledged_at,
        resolved_at=a.resolved_at)


def check_filters(kind: str | None, region: str | None) -> None:
    """InvalidInput naming the field for an unknown kind or a region that is not a code prefix."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"未知的告警类型 {kind!r}（可选：{'、'.join(KINDS)}）", field="kind")
    if region is not None and not (region.isascii() and region.isdigit() and 2 <= len(region) <= 12):
        raise InvalidInput(f"region 应为 2–12 位行政区划代码（前缀），收到 {region!r}", field="region")


async def list_alerts(
    session: AsyncSession, viewer: Viewer, *, status: AlertStatus | None = None, kind: str | None = None,
    region: str | None = None, limit: int = 50, offset: int = 0, after_id: int | None = None,
) -> Page[AlertRead]:
    """What the viewer may see, filtered; open first, then the serious ones, the soonest due, the newest.

    ``after_id``: the alerts after that one in this order.
    """
    check_filters(kind, region)
    check_paging(offset, after_id)
    where: list[Any] = visible_conditions(viewer)
    if status is not None:
        where.append(status_condition(status))
    if kind is not None:
        where.append(Alert.kind == kind)
    if region is not None:
        where.append(Alert.region_code.startswith(region, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(Alert).where(*where)) or 0
    rows, next_id = page_rows((await session.execute(
        select(Alert, Location.name).outerjoin(Location, Location.id == Alert.location_id)
        .where(*where, await after_row(session, _ALERT_ORDER, after_id)).order_by(*order_by(_ALERT_ORDER))
        .limit(limit + 1).offset(offset))).all(), limit, lambda row: row[0].id)
    return Page([alert_read(a, name) for a, name in rows], total, limit, offset, next_id)


async def open_count(session: AsyncSession, viewer: Viewer) -> int:
    """How many alerts the viewer may see are open (one COUNT over the open-alert index)."""
    return await session.scalar(select(func.count()).select_from(Alert).where(
        Alert.resolved_at.is_(None), Alert.acknowledged_at.is_(None), *visible_conditions(viewer))) or 0


async def visible_alert(session: AsyncSession, viewer: Viewer, alert_id: int, *, lock: bool = False) -> Alert:
    """The alert with this id if the viewer may see it; NotFound, or PermissionDenied when it is not theirs."""
    stmt = select(Alert).where(Alert.id == alert_id)
    if lock:
        stmt = stmt.with_for_update()
    alert = await session.scalar(stmt)
    if alert is None:
        raise NotFound(f"告警 id={alert_id} 不存在")
    if not await session.scalar(select(Alert.id).where(Alert.id == alert_id, *visible_conditions(viewer))):
        raise PermissionDenied(
            f"{ROLE_ZH.get(viewer.role, viewer.role)}的辖区或职责不包括告警 id={alert_id}，不能确认"
            " (outside your scope)",
            extra={"alert_id": alert_id})
    return alert


async def acknowledge(session: AsyncSession, alert_id: int, principal: Principal) -> AlertRead:
    """Mark an alert seen and being handled; acknowledging it again changes nothing, a resolved one is a 409."""
    alert = await visible_alert(session, principal_viewer(principal), alert_id, lock=True)
    if alert.resolved_at is not None:
        raise Conflict(f"告警 id={alert_id} 已于 {alert.resolved_at.astimezone(CHINA):%Y-%m-%d %H:%M} 解除，无需确认")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = utcnow(), principal.username
        await session.flush()
    name = await session.scalar(select(Location.name).where(Location.id == alert.location_id)) \
        if alert.location_id else None
    return alert_read(alert, name)
