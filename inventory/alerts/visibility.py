"""Who sees which alert: the kinds meant for their role, about places in their scope.

The scope rule is :func:`inventory.access.scope.in_scope` applied to the alert's place: a region-code
prefix of the user's covers the alert's region, or a location of the user's is the alert's location or
one of its ancestors. Admins and auditors see every alert (auditors read everything); a user with no
scope sees none. The same rule is written twice — in SQL for lists and counts, in Python for choosing the
recipients of a delivery — and the tests hold them to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select

from inventory.alerts.kinds import audience_kinds
from inventory.store.models import Alert, Location


@dataclass(frozen=True)
class Viewer:
    """The role and scope of someone alerts are shown or sent to (a signed-in user or a recipient)."""

    role: str
    scope_regions: tuple[str, ...]
    scope_locations: tuple[int, ...]

    @property
    def sees_all_places(self) -> bool:
        """Admins and auditors are not limited by scope."""
        return self.role in ("admin", "auditor")


def viewer_of(role: str, scope_regions: object, scope_locations: object) -> Viewer:
    """A Viewer from a principal's or a user row's role and scope (lists or tuples)."""
    regions = tuple(str(r) for r in scope_regions) if isinstance(scope_regions, list | tuple) else ()
    locations = tuple(int(i) for i in scope_locations) if isinstance(scope_locations, list | tuple) else ()
    return Viewer(role, regions, locations)


def visible_conditions(viewer: Viewer) -> list[ColumnElement[bool]]:
    """SQL conditions on ``alerts`` that keep what the viewer may see."""
    if viewer.sees_all_places:
        return []
    conditions: list[ColumnElement[bool]] = [Alert.kind.in_(sorted(audience_kinds(viewer.role)))]
    places: list[ColumnElement[bool]] = [Alert.region_code.startswith(p, autoescape=True)
                                         for p in viewer.scope_regions]
    if viewer.scope_locations:
        under = or_(*(Location.path.contains(f"/{i}/", autoescape=True) for i in viewer.scope_locations))
        places.append(Alert.location_id.in_(select(Location.id).where(under)))
    conditions.append(or_(*places) if places else false())
    return conditions


def sees(viewer: Viewer, kind: str, region_code: str, location_path: str | None) -> bool:
    """The Python form of :func:`visible_conditions` for one alert (``location_path`` of its location)."""
    if viewer.sees_all_places:
        return True
    if kind not in audience_kinds(viewer.role):
        return False
    if any(region_code.startswith(p) for p in viewer.scope_regions):
        return True
    ancestors = {int(p) for p in (location_path or "").strip("/").split("/") if p}
    return bool(ancestors & set(viewer.scope_locations))
