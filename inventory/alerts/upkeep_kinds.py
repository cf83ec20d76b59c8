"""Alerts found in upkeep: units whose check is due or overdue (``inventory.readiness``), and stock below or
near its reserve quota (``inventory.quotas``). Both read the owning package's own rule, so an alert agrees
with the readiness report and the quota status page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.alerts.config import AlertConfig
from inventory.alerts.kinds import Clock, Found, Severity, Source, clip
from inventory.quotas.rules import Level
from inventory.quotas.status import quota_status
from inventory.readiness.checks import HELD
from inventory.readiness.report import state_case
from inventory.readiness.units import units_readiness
from inventory.store.models import Asset, ItemType, Location

Site = aliased(Location)
BATCH = 500


async def checks_due(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Units held at a site whose next check is overdue (high) or due soon (normal), with the reason."""
    state = state_case(clock.today)
    site_of = func.coalesce(Location.site_id, Location.id)
    rows = list(await session.execute(
        select(Asset.id, Asset.serial_number, Asset.next_inspection_due, state, ItemType.name, Site.id, Site.name,
               Site.region_code)
        .join(Location, Location.id == Asset.location_id).join(Site, Site.id == site_of)
        .join(ItemType, ItemType.id == Asset.item_type_id)
        .where(Asset.status.in_(HELD), state.in_(("overdue", "due_soon"))).order_by(Asset.id)))
    reasons: dict[int, str] = {}
    for start in range(0, len(rows), BATCH):
        for unit in await units_readiness(session, [r[0] for r in rows[start:start + BATCH]], clock.today):
            reasons[unit.asset_id] = unit.reason
    found = []
    for asset_id, serial, due, unit_state, item, site_id, site_name, region in rows:
        overdue = unit_state == "overdue"
        kind = "check_overdue" if overdue else "check_due"
        found.append(Found(
            kind, f"{kind}:{asset_id}:{due}", "high" if overdue else "normal", "asset", asset_id, region, site_id,
            clip(f"{'检查逾期' if overdue else '检查即将到期'}：{site_name} {item} {serial}", 200),
            clip(reasons.get(asset_id, f"下次检查 {due}"), 500), due))
    return found


async def quotas_short(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Quotas whose location holds less than the minimum in force (high) or is within the warning margin."""
    found = []
    levels: tuple[tuple[Level, str, Severity], ...] = (("below", "quota_below", "high"),
                                                       ("warning", "quota_warning", "normal"))
    for level, kind, severity in levels:
        offset = 0
        while True:
            page = await quota_status(session, level=level, limit=BATCH, offset=offset, today=clock.today)
            for q in page.items:
                season = f"（{q.season.name}定额）" if q.in_season and q.season else ""
                gap = f"，缺 {q.shortfall} {q.unit}" if q.shortfall else f"，预警余量 {q.warning_margin} {q.unit}"
                found.append(Found(
                    kind, f"{kind}:{q.quota_id}", severity, "quota", q.quota_id, q.region_code, q.location_id,
                    clip(f"{'低于储备定额' if level == 'below' else '接近定额下限'}：{q.location_name} {q.item_name} "
                         f"可用 {q.available} {q.unit}，定额 {q.minimum_in_force} {q.unit}{season}", 200),
                    clip(f"最低储备 {q.minimum_in_force} {q.unit}{gap}；请补充或调拨", 500)))
            offset += BATCH
            if offset >= page.total:
                break
    return found


SOURCES = (
    Source("readiness", ("check_overdue", "check_due"), checks_due),
    Source("quotas", ("quota_below", "quota_warning"), quotas_short),
)
