"""The demo's reserve quotas (储备定额), which took the place of the catalogue's old ``min_stock`` figures:

- every depot (the city's and each county's) a quota of each relief good it stocks, with a warning margin of a
  quarter; flood-fighting goods (编织袋, 沙袋, 吸水膨胀袋, 土工布, 救生衣, 帐篷) a higher minimum in 汛期
  (04-01 to 09-30);
- the city depot a quota of each kind of equipment it holds;
- 南昌县's depot a quota of 30 多功能帐篷 that its 5 to 20 never meet, so a depot is always under quota.

Quotas are set through :func:`inventory.quotas.service.create_quota`, as the API would; one already there is kept.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.quotas.schemas import QuotaCreate, Season
from inventory.quotas.service import create_quota
from inventory.store.models import ItemType, Location, ReserveQuota

ADMIN: Final = Principal(user_id=0, username="demo-admin", display_name="演示管理员", role="admin", scope_regions=(),
                         scope_locations=(), token_id=0)
FLOOD_SEASON: Final = ("04-01", "09-30")
# Relief goods: item code → minimum at each depot (what the catalogue's min_stock said).
DEPOT_MINIMUMS: Final = {
    "TENT-12": 100, "TENT-COT-12": 50, "TENT-36": 10, "SHEL-TARP": 100, "BED-QUILT": 200, "BED-BLANKET": 200,
    "BED-FOLD": 100, "BED-MAT": 200, "CLOTH-COTTON": 100, "RESC-LIFEJACKET": 200, "FLOOD-BAG-WOVEN": 5000,
    "FLOOD-BAG-SAND": 2000, "FLOOD-BAG-SWELL": 1000, "FLOOD-GEOTEX": 20, "WATER-550": 200, "FOOD-NOODLE": 100,
    "FOOD-BISCUIT": 50,
}
FLOOD_GOODS: Final = frozenset({"FLOOD-BAG-WOVEN", "FLOOD-BAG-SAND", "FLOOD-BAG-SWELL", "FLOOD-GEOTEX",
                                "RESC-LIFEJACKET", "TENT-12"})
# Equipment at the city depot: item code → minimum.
CITY_MINIMUMS: Final = {
    "PUMP-LXS-1500": 1, "PUMP-DRB-1000": 1, "PUMP-VPS-850": 1, "PUMP-TRL-600": 1, "PUMP-HYD-500": 1,
    "PUMP-SUB-400": 2, "PUMP-SUB-300": 2, "GEN-DSL-150": 1, "GEN-DSL-30": 1, "GEN-GAS-5": 2, "BOAT-RUB-6": 2,
    "BOAT-ASL-12": 2, "UAV-SRCH-M": 1, "COMM-SAT-PH": 2, "COMM-370-HT": 6, "LIGHT-EXP-HL": 4, "RESC-STR-FOLD": 2,
}
SHORT_DEPOT: Final = ("D-360121", "TENT-36", 30)  # 南昌县 holds 5–20 multi-purpose tents


def planned(depots: list[Location], city_depot: str) -> list[tuple[str, str, int, Season | None]]:
    """(location code, item code, minimum, season) of every demo quota."""
    plan: list[tuple[str, str, int, Season | None]] = []
    for depot in depots:
        for item, minimum in DEPOT_MINIMUMS.items():
            if (depot.code, item) == SHORT_DEPOT[:2]:
                minimum = SHORT_DEPOT[2]
            season = (Season(start=FLOOD_SEASON[0], end=FLOOD_SEASON[1], minimum=minimum * 3 // 2)
                      if item in FLOOD_GOODS else None)
            plan.append((depot.code, item, minimum, season))
    plan.extend((city_depot, item, minimum, None) for item, minimum in CITY_MINIMUMS.items())
    return plan


async def ensure_demo_quotas(session: AsyncSession, city_depot: str) -> tuple[int, int]:
    """Set the demo's quotas at its depots (those not set yet); (created, skipped)."""
    depots = list(await session.scalars(select(Location).where(Location.kind == "depot", Location.active,
                                                               Location.code.startswith("D-") |
                                                               (Location.code == city_depot))
                                        .order_by(Location.code)))
    items = {it.code: it.id for it in await session.scalars(
        select(ItemType).where(ItemType.code.in_([*DEPOT_MINIMUMS, *CITY_MINIMUMS])))}
    places = {loc.code: loc.id for loc in depots}
    pairs = await session.execute(select(ReserveQuota.location_id, ReserveQuota.item_type_id))
    existing = {(r[0], r[1]) for r in pairs}
    created = skipped = 0
    for place, item, minimum, season in planned(depots, city_depot):
        if place not in places or item not in items:
            continue
        if (places[place], items[item]) in existing:
            skipped += 1
            continue
        await create_quota(session, QuotaCreate(location_id=places[place], item_type_id=items[item], minimum=minimum,
                                                warning_margin=minimum // 4, season=season), ADMIN)
        created += 1
    return created, skipped
