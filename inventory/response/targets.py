"""Response-time targets (到达时限): how soon a dispatch order's stock should reach the incident.

The target comes from the incident's response level (响应级别): county 6 h, city 8 h, province 10 h unless
``INVENTORY_RESPONSE_TARGET_HOURS`` says otherwise (:mod:`inventory.config`). It is fixed on the order when the
order is placed, with the estimate it is compared to: the slowest line's estimated arrival — for a line
reserved from the nearest sources the ETA ``nearest_available`` gave for that source, for a line with a named
source (or agreement) the same ETA reckoned from that site (:class:`inventory.availability.eta.EtaConfig`).

An order's due time is ``created_at + target_hours`` (kept as ``target_due_at`` so that lists filter in SQL).
It is *late* when delivered after that, or not yet delivered (and not cancelled) and past it now; it was
delivered within the target when ``delivered_at - created_at <= target_hours``. Orders placed before targets
existed have none and are never late.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence

import msgspec
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.availability.eta import EtaConfig
from inventory.config import DEFAULT_RESPONSE_TARGET_HOURS, ENV_RESPONSE_TARGETS, parse_response_target_hours
from inventory.places.geo import haversine_km
from inventory.response.schemas import DispatchRead
from inventory.store.models import Dispatch, Incident, Location

LEVEL_ZH = {"county": "县级", "city": "市级", "province": "省级"}


def configured_targets() -> Mapping[str, float]:
    """Hours per response level from the environment (for callers that have no settings at hand)."""
    return parse_response_target_hours(os.environ.get(ENV_RESPONSE_TARGETS, ""))


def target_hours_for(level: str, targets: Mapping[str, float] | None = None) -> float:
    """The hours within which stock should arrive at an incident of this level (unknown levels: county)."""
    hours = targets if targets is not None else configured_targets()
    return hours.get(level, hours.get("county", DEFAULT_RESPONSE_TARGET_HOURS["county"]))


async def site_eta_minutes(session: AsyncSession, incident: Incident, location_id: int, eta: EtaConfig | None,
                           lead_hours: float | None = None) -> float | None:
    """Minutes until stock at this place's site reaches the incident, as ``nearest_available`` reckons them.

    ``lead_hours`` is an agreement's response hours (else the site's own ``agreement_lead_hours``). None when
    the site has no coordinates (no distance, so no estimate).
    """
    place = await session.get(Location, location_id)
    site = await session.get(Location, place.site_id) if place is not None and place.site_id else place
    if site is None or site.lat is None or site.lon is None:
        return None
    distance = haversine_km(incident.lat, incident.lon, site.lat, site.lon)
    lead = lead_hours if lead_hours is not None else site.agreement_lead_hours
    return round((eta or EtaConfig()).eta_minutes(site.kind, site.region_code, distance, lead), 1)


def fix_target(d: Dispatch, level: str, etas: Sequence[float | None],
               targets: Mapping[str, float] | None = None) -> None:
    """Fix the order's target (hours for the incident's level, due time) and its estimate (the slowest line)."""
    d.target_hours = target_hours_for(level, targets)
    d.target_due_at = d.created_at + dt.timedelta(hours=d.target_hours)
    known = [m for m in etas if m is not None]
    d.estimated_minutes = max(known) if known and len(known) == len(etas) else None


def is_late(d: Dispatch, now: dt.datetime) -> bool:
    """Delivered after the due time, or not delivered, not cancelled and past it now."""
    if d.target_due_at is None:
        return False
    if d.delivered_at is not None:
        return d.delivered_at > d.target_due_at
    return d.status != "cancelled" and now > d.target_due_at


def late_condition(now: dt.datetime) -> ColumnElement[bool]:
    """:func:`is_late` as SQL (never NULL, so ``not_`` of it lists exactly the orders that are not late)."""
    return and_(Dispatch.target_due_at.is_not(None), or_(
        and_(Dispatch.delivered_at.is_not(None), Dispatch.delivered_at > Dispatch.target_due_at),
        and_(Dispatch.delivered_at.is_(None), Dispatch.status != "cancelled", Dispatch.target_due_at < now)))


def with_timing(read: DispatchRead, d: Dispatch, now: dt.datetime) -> DispatchRead:
    """The order's read model with its times, target, estimate and whether it is (or was) late."""
    target, estimate = d.target_hours, d.estimated_minutes
    meets = None if target is None or estimate is None else estimate <= target * 60
    within = (None if target is None or d.delivered_at is None
              else d.delivered_at - d.created_at <= dt.timedelta(hours=target))
    return msgspec.structs.replace(
        read, executed_at=d.executed_at, delivered_at=d.delivered_at, target_hours=target,
        target_due_at=d.target_due_at, estimated_minutes=estimate, estimate_meets_target=meets,
        delivered_within_target=within, late=is_late(d, now))
