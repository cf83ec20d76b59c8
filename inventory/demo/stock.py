"""Opening stock for the demo: bulk relief goods received through the ledger, in lots with expiry.

Each place's quantities are scaled by its county's :func:`~inventory.demo.catalog.stock_factor`: the flood-prone
counties (南昌县, 新建区, 进贤县) hold more than the others, the urban districts less.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import beijing_today
from inventory.demo.catalog import FOREST_FIRE_POINT, stock_factor
from inventory.stock.ledger import post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.store.models import Document, ItemType, Location

OPENING_REFERENCE = "DEMO-OPENING"

# (item code, min, max) per kind of place; quantities in the item's own unit.
DEPOT_STOCK: tuple[tuple[str, int, int], ...] = (
    ("TENT-12", 80, 300), ("TENT-COT-12", 40, 150), ("TENT-36", 5, 20), ("SHEL-TARP", 50, 200),
    ("BED-QUILT", 300, 1200), ("BED-BLANKET", 200, 800), ("BED-FOLD", 100, 500), ("BED-MAT", 200, 800),
    ("CLOTH-COTTON", 100, 500), ("RESC-LIFEJACKET", 100, 400), ("FLOOD-BAG-WOVEN", 5000, 20000),
    ("FLOOD-BAG-SAND", 2000, 8000), ("FLOOD-BAG-SWELL", 500, 2000), ("FLOOD-GEOTEX", 500, 3000),
    ("WATER-550", 200, 800), ("FOOD-NOODLE", 100, 500), ("FOOD-BISCUIT", 50, 300),
)
POINT_STOCK: tuple[tuple[str, int, int], ...] = (
    ("TENT-12", 5, 20), ("BED-QUILT", 20, 60), ("RESC-LIFEJACKET", 10, 40), ("FLOOD-BAG-WOVEN", 500, 2000),
    ("WATER-550", 20, 60), ("FOOD-NOODLE", 10, 40),
)
FOREST_FIRE_STOCK: tuple[tuple[str, int, int], ...] = (
    ("WATER-550", 20, 60), ("FOOD-BISCUIT", 10, 30), ("BED-MAT", 10, 30),
)
# 多功能帐篷 are command and first-aid posts: a county needs a few whatever its flood risk (and 南昌县's 5–20 stay
# under the demo's quota of 30, :data:`inventory.demo.quotas.SHORT_DEPOT`).
UNSCALED: frozenset[str] = frozenset({"TENT-36"})

# 质量 on each lot's label: textiles carry their grade (FZ/T 优等品/一等品/合格品), everything else passed inspection.
QUALITY: dict[str, str] = {"BED-QUILT": "一等品", "BED-BLANKET": "一等品", "CLOTH-COTTON": "一等品"}
DEFAULT_QUALITY = "合格"


def opening_lines(rng: random.Random, plan: tuple[tuple[str, int, int], ...], types: dict[str, ItemType],
                  today: dt.date, factor: float = 1.0) -> list[MovementLine]:
    """Receipt lines of a place's opening stock: two lots per consumable (an older one, some expiring within
    weeks, and a fresh one), one lot of everything else; every lot with its quality (质量). Each quantity drawn
    from the plan is multiplied by ``factor`` (but those of :data:`UNSCALED`)."""
    lines = []
    for code, lo, hi in plan:
        it = types.get(code)
        if it is None:
            continue
        total = rng.randint(lo, hi)
        if code not in UNSCALED:
            total = max(1, int(total * factor + 0.5))
        if not it.shelf_life_days:
            lines.append(MovementLine(item_type_id=it.id, quantity=total, lot=LotSpec(
                number=f"{code}-{today.year - 1}01", origin="江西", quality=QUALITY.get(code, DEFAULT_QUALITY),
                production_date=today.replace(month=1, day=1) - dt.timedelta(days=365))))
            continue
        old = total // 3 or 1
        soon = rng.choice((12, 25, 40, 90, 200))  # days until the older lot expires
        made_old = today + dt.timedelta(days=soon) - dt.timedelta(days=it.shelf_life_days)
        made_new = today - dt.timedelta(days=rng.randint(10, 60))
        for made, qty in ((made_old, old), (made_new, total - old)):
            if qty > 0:
                lines.append(MovementLine(item_type_id=it.id, quantity=qty, lot=LotSpec(
                    number=f"{code}-{made:%Y%m%d}", origin="江西", quality=QUALITY.get(code, DEFAULT_QUALITY),
                    production_date=made,
                    expiry_date=made + dt.timedelta(days=it.shelf_life_days))))
    return lines


async def ensure_opening_stock(
    session: AsyncSession, types: dict[str, ItemType], locations: dict[str, Location],
    progress: Callable[[str], None], seed: int,
) -> tuple[int, int]:
    """Receive opening stock at every depot and reserve point that has none yet; (created, skipped)."""
    done = set(await session.scalars(
        select(Document.location_id).where(Document.reference == OPENING_REFERENCE)))
    today = beijing_today()
    created = skipped = 0
    targets = sorted((loc for loc in locations.values() if loc.kind in ("depot", "reserve_point", "bin")),
                     key=lambda loc: loc.code)
    for n, loc in enumerate(targets, 1):
        if loc.id in done:
            skipped += 1
            continue
        rng = random.Random(f"{seed}:{loc.code}")
        plan = (DEPOT_STOCK if loc.kind == "depot" else FOREST_FIRE_STOCK if loc.code == FOREST_FIRE_POINT
                else POINT_STOCK)
        lines = opening_lines(rng, plan, types, today, stock_factor(loc.region_code))
        if loc.kind == "bin":
            lines = lines[:2]
        if lines:
            await post_document(session, MovementCreate(
                kind="receipt", location_id=loc.id, lines=lines, reason="期初库存 opening stock",
                reference=OPENING_REFERENCE,
            ), actor="demo")
            created += 1
        if n % 50 == 0:
            progress(f"期初入库 {n}/{len(targets)} 个地点…")
    return created, skipped
