"""Whose stock a source is: the asking user's own unit's (in his scope: he may order from it) or another unit's
(he requests it, 逐级申请), and which region — and so which level — owns it.

A site is a user's own when its region code lies under one of his scope regions, or when it is (or lies under)
one of his scope locations; an admin owns everything. The owning unit of a site is the region its location is
registered in: a township reserve point belongs to its township (乡镇级), a county depot to its county.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import or_, select

from inventory.access.scope import Principal
from inventory.availability.filters import fetch_rows
from inventory.availability.schemas import OwnerUnit
from inventory.store.db import Reader
from inventory.store.models import Location, Region

LEVEL_ZH: Final = {1: "省级", 2: "市级", 3: "县级", 4: "乡镇级"}


@dataclass(frozen=True, slots=True)
class OwnScope:
    """The sites a user may order from: everything (admin), under his regions, or at or under his locations."""

    everything: bool
    regions: tuple[str, ...]
    site_ids: frozenset[int]
    excluded: str | None = None
    """A region whose sites never count (a request's sender: he asked because his own are not enough)."""

    def owns(self, site_id: int, region_code: str) -> bool:
        """True when the site is the user's own unit's (and not in the excluded region)."""
        if self.excluded is not None and region_code.startswith(self.excluded):
            return False
        return self.everything or region_code.startswith(self.regions) or site_id in self.site_ids


async def own_scope(reader: Reader, principal: Principal, excluding: str | None = None) -> OwnScope:
    """The user's own sites, none under ``excluding`` (one statement when his scope names locations)."""
    if principal.role == "admin":
        return OwnScope(True, (), frozenset(), excluding)
    sites: frozenset[int] = frozenset()
    if principal.scope_locations:
        under = or_(*(Location.path.like(f"%/{i}/%") for i in principal.scope_locations))
        rows = await fetch_rows(reader, select(Location.site_id).where(under, Location.site_id.is_not(None)))
        sites = frozenset(r[0] for r in rows)
    return OwnScope(False, tuple(principal.scope_regions), sites, excluding)


def level_of(code: str) -> int:
    """The level of a region code: 1 province (2 digits), 2 city (4), 3 county (6), 4 township (9 or 12)."""
    return {2: 1, 4: 2, 6: 3}.get(len(code), 4)


_UNITS: dict[str, OwnerUnit] = {}
"""Owning units already looked up: regions are reference data the migrations load and nothing edits."""


async def owner_units(reader: Reader, codes: Iterable[str]) -> dict[str, OwnerUnit]:
    """The owning unit of each region code (its name from the region table, looked up once per process)."""
    wanted = set(codes)
    missing = sorted(wanted - _UNITS.keys())
    if missing:
        rows = await fetch_rows(reader, select(Region.code, Region.name, Region.level).where(Region.code.in_(missing)))
        for code, name, level in rows:
            _UNITS[code] = OwnerUnit(region_code=code, region_name=name, level=level,
                                     level_name=LEVEL_ZH.get(level, ""))
    return {code: _UNITS.get(code) or OwnerUnit(region_code=code, region_name=code, level=level_of(code),
                                                 level_name=LEVEL_ZH.get(level_of(code), "")) for code in wanted}
