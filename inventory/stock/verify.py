"""``inventory ledger verify``: recompute every balance from the ledger and compare (账实相符).

It also recomputes ``site_stock`` (what ``nearest`` reads, kept by triggers) from the balances and units,
and reports each row that disagrees as figure ``site_stock:<good until>`` at the site. It checks each
agreement line's ``outstanding`` against its open call-offs (figure
``agreement_outstanding:<agreement number>`` at the firm's warehouse).
"""

from __future__ import annotations

from collections import defaultdict

import msgspec
from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.stock import site_stock
from inventory.store.models import Agreement, AgreementCallOff, AgreementLine, Asset, Balance, ItemType, Movement

HELD = ("available", "reserved", "maintenance")


class Difference(msgspec.Struct):
    """One figure that disagrees with what the ledger says."""

    location_id: int
    item_type_id: int
    lot_id: int | None
    figure: str
    stored: int
    expected: int


class VerifyReport(msgspec.Struct):
    """What was checked and every difference found."""

    movements: int
    balances: int
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        """True when the books agree with the ledger."""
        return not self.differences


async def verify_ledger(session: AsyncSession) -> VerifyReport:
    """Recompute on hand, reserved and in transit from movements, and serial counts from assets."""
    expected: dict[tuple[int, int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    movements = 0
    lot_key = func.coalesce(Movement.lot_id, literal_column("0"))
    for loc, item, lot, bucket, qty, n in await session.execute(
        select(Movement.location_id, Movement.item_type_id, lot_key, Movement.bucket,
               func.sum(Movement.quantity), func.count())
        .group_by(Movement.location_id, Movement.item_type_id, lot_key, Movement.bucket)
    ):
        expected[(loc, item, lot)][bucket] = int(qty)
        movements += int(n)
    differences: list[Difference] = []
    stored_keys = set()
    balances = 0
    for bal in await session.scalars(select(Balance)):
        balances += 1
        key = (bal.location_id, bal.item_type_id, bal.lot_key)
        stored_keys.add(key)
        want = expected.get(key, {})
        for figure in ("on_hand", "reserved", "in_transit"):
            have = getattr(bal, figure)
            if have != want.get(figure, 0) or have < 0:
                differences.append(Difference(bal.location_id, bal.item_type_id, bal.lot_id, figure, have,
                                              want.get(figure, 0)))
    for key, want in expected.items():
        if key not in stored_keys and any(want.values()):
            for figure, value in want.items():
                if value:
                    differences.append(Difference(key[0], key[1], key[2] or None, figure, 0, value))
    differences.extend(await _serial_differences(session))
    differences.extend(await _agreement_differences(session))
    differences.extend(await _site_stock_differences(session))
    return VerifyReport(movements=movements, balances=balances, differences=differences)


async def _serial_differences(session: AsyncSession) -> list[Difference]:
    """For serial items, on hand must equal the units held at the place, reserved the reserved ones."""
    serial = select(ItemType.id).where(ItemType.tracking == "serial")
    held: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for loc, item, status, n in await session.execute(
        select(Asset.location_id, Asset.item_type_id, Asset.status, func.count())
        .where(Asset.location_id.is_not(None), Asset.status.in_(HELD))
        .group_by(Asset.location_id, Asset.item_type_id, Asset.status)
    ):
        place = (int(loc or 0), item)
        held[place]["on_hand"] += int(n)
        if status == "reserved":
            held[place]["reserved"] += int(n)
    books: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bal in await session.scalars(select(Balance).where(Balance.item_type_id.in_(serial))):
        books[(bal.location_id, bal.item_type_id)]["on_hand"] += bal.on_hand
        books[(bal.location_id, bal.item_type_id)]["reserved"] += bal.reserved
    diffs = []
    for key in set(held) | set(books):
        for figure in ("on_hand", "reserved"):
            if books[key][figure] != held[key][figure]:
                diffs.append(Difference(key[0], key[1], None, f"serial_{figure}", books[key][figure],
                                        held[key][figure]))
    return diffs


async def _site_stock_differences(session: AsyncSession) -> list[Difference]:
    """Rows of ``site_stock`` that disagree with what the stock tables say is available."""
    return [Difference(site, item, None, f"site_stock:{good_until}", stored, expected)
            for site, item, good_until, stored, expected in await site_stock.differences(await session.connection())]


async def _agreement_differences(session: AsyncSession) -> list[Difference]:
    """An agreement line's ``outstanding`` must be what its call-offs asked for and have not yet received."""
    open_calls = (select(AgreementCallOff.line_id, func.sum(AgreementCallOff.quantity).label("n"))
                  .where(AgreementCallOff.state.in_(("reserved", "called_off")))
                  .group_by(AgreementCallOff.line_id).subquery())
    rows = await session.execute(
        select(Agreement.vendor_location_id, AgreementLine.item_type_id, Agreement.number, AgreementLine.outstanding,
               func.coalesce(open_calls.c.n, 0))
        .join(Agreement, Agreement.id == AgreementLine.agreement_id)
        .outerjoin(open_calls, open_calls.c.line_id == AgreementLine.id)
        .where(AgreementLine.outstanding != func.coalesce(open_calls.c.n, 0)))
    return [Difference(loc, item, None, f"agreement_outstanding:{number}", int(stored), int(expected))
            for loc, item, number, stored, expected in rows]
