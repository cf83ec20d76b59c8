"""The demo's readiness: generators run monthly at load (月度带载试运行), one overdue for its run, one run lately.

Plans and checks go through :mod:`inventory.readiness`, as the API would. The two units are dated as if held
for four months (the demo is loaded today), so the plan's month has passed for one of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.readiness.checks import record_check
from inventory.readiness.plans import create_plan
from inventory.readiness.schemas import CheckCreate, PlanCreate
from inventory.store.models import Asset, ItemType, Location, MaintenancePlan, utcnow

ADMIN: Final = Principal(user_id=0, username="demo-keeper", display_name="演示保管员", role="admin",
                         scope_regions=(), scope_locations=(), token_id=0)
GENERATORS: Final = ("GEN-DSL-150", "GEN-DSL-30")
HELD_DAYS: Final = 120
RUN: Final = "带载不低于额定功率 30%，连续运行 30 分钟；记录电压、频率、油压、水温，检查有无渗漏"


async def ensure_demo_readiness(session: AsyncSession) -> tuple[int, int]:
    """Monthly run-test plans for the diesel generators and two units' run logs; (plans created, skipped)."""
    types = {it.code: it for it in await session.scalars(select(ItemType).where(ItemType.code.in_(GENERATORS)))}
    if not types:
        return 0, 0
    if await session.scalar(select(MaintenancePlan.id).where(MaintenancePlan.item_type_id.in_(
            [it.id for it in types.values()]))):
        return 0, len(types)
    now = utcnow()
    units = list(await session.scalars(
        select(Asset).join(Location, Location.id == Asset.location_id)
        .where(Asset.item_type_id == types["GEN-DSL-30"].id, Asset.status == "available", Location.kind == "depot",
               Location.code.startswith("D-")).order_by(Asset.id).limit(2))) if "GEN-DSL-30" in types else []
    for unit in units:
        unit.created_at = now - dt.timedelta(days=HELD_DAYS)
    await session.flush()
    for it in types.values():
        await create_plan(session, PlanCreate(
            item_type_id=it.id, task="run_test", interval_months=1, run_minutes=30, load_pct=30,
            starts_on=(now - dt.timedelta(days=HELD_DAYS)).date(), title="月度带载试运行", instructions=RUN), ADMIN)
    for unit, days_ago, load in zip(units, (70, 10), (40, 35), strict=False):
        await record_check(session, unit.id, CheckCreate(
            task="run_test", result="ok", run_minutes=30, load_pct=load, fuel_pct=80,
            performed_at=now - dt.timedelta(days=days_ago), performed_by="演示保管员"), ADMIN)
    return len(types), 0
