"""Scope: the signed-in user (Principal) and whether a location lies in their 辖区."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLE_ZH
from inventory.errors import PermissionDenied
from inventory.store.models import Location


class Principal(msgspec.Struct, frozen=True):
    """The signed-in user as the rest of the code sees them."""

    user_id: int
    username: str
    display_name: str
    role: str
    scope_regions: tuple[str, ...]
    scope_locations: tuple[int, ...]
    token_id: int


def covers_region(principal: Principal, region_code: str) -> bool:
    """True when the region lies under one of the user's scope regions (an admin's scope is everything)."""
    return principal.role == "admin" or region_code.startswith(tuple(principal.scope_regions))


async def in_scope(session: AsyncSession, principal: Principal, location_id: int) -> bool:
    """True when the location (or the location whose bin it is) lies in the user's scope."""
    if principal.role == "admin":
        return True
    row = (await (await session.connection()).execute(
        select(Location.region_code, Location.path).where(Location.id == location_id))).first()
    if row is None:
        return True  # unknown targets are refused later with a clearer 422/404
    region_code, path = row
    if covers_region(principal, region_code):
        return True
    ancestors = {int(p) for p in path.strip("/").split("/") if p}
    return bool(ancestors & set(principal.scope_locations))


async def require_scope(session: AsyncSession, principal: Principal, *location_ids: int | None) -> None:
    """PermissionDenied unless every given location is in the user's scope."""
    for location_id in location_ids:
        if location_id is None:
            continue
        if not await in_scope(session, principal, location_id):
            scope = "、".join([*principal.scope_regions, *(f"地点{i}" for i in principal.scope_locations)]) or "无"
            raise PermissionDenied(
                f"{ROLE_ZH.get(principal.role, principal.role)} {principal.username} 的辖区（{scope}）不包括地点 "
                f"id={location_id}，不能在此办理 (outside your scope)",
                extra={"location_id": location_id},
            )


def principal_error(role: str, action: str) -> PermissionDenied:
    """The 403 for a role that may not take an action."""
    return PermissionDenied(f"{ROLE_ZH.get(role, role)} 无权执行此操作（{action}）(role not permitted)",
                            extra={"action": action, "role": role})
