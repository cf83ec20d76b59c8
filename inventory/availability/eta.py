"""Estimated arrival time of stock at an incident: mobilisation + road distance ÷ speed (+ agreement lead time).

The road distance is not known: it is estimated as the great-circle distance times a road factor
(how much longer roads are than the straight line). This is an estimate for ranking sources and
planning, not a route calculation; a commander should confirm the arrival time with the source.

Configuration (read once at application start):

* mobilisation minutes per location kind — how long until a load leaves that kind of place;
* a default road factor (1.4) and average speed (40 km/h);
* ``INVENTORY_ETA_OVERRIDES`` = ``"3607:1.6:30,3601:1.3:45"``: per region-code prefix, a road factor
  and a speed in km/h for sources whose region code starts with it (the longest prefix wins).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from inventory.errors import InvalidInput

ENV_OVERRIDES: Final = "INVENTORY_ETA_OVERRIDES"
DEFAULT_ROAD_FACTOR: Final = 1.4
DEFAULT_SPEED_KMH: Final = 40.0
DEFAULT_MOBILISATION: Final[Mapping[str, float]] = MappingProxyType({
    "vehicle": 10.0, "staging": 15.0, "reserve_point": 20.0, "depot": 30.0, "vendor": 60.0, "bin": 30.0,
})
"""Minutes from the order until a load leaves a place of this kind."""
FALLBACK_MOBILISATION: Final = 30.0
"""Mobilisation minutes for a kind missing from the table."""

_PREFIX = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class RegionTravel:
    """Road factor and speed for sources in regions whose code starts with ``prefix``."""

    prefix: str
    road_factor: float
    speed_kmh: float

    @property
    def minutes_per_km(self) -> float:
        """Travel minutes per kilometre of straight-line distance."""
        return self.road_factor / self.speed_kmh * 60.0


@dataclass(frozen=True)
class EtaConfig:
    """How arrival times are estimated; build from the environment with :func:`load_eta_config`."""

    mobilisation_minutes: Mapping[str, float] = field(default_factory=lambda: DEFAULT_MOBILISATION)
    road_factor: float = DEFAULT_ROAD_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH
    overrides: tuple[RegionTravel, ...] = ()

    def __post_init__(self) -> None:
        _check_travel("默认值 default", self.road_factor, self.speed_kmh)
        for kind, minutes in self.mobilisation_minutes.items():
            if not (math.isfinite(minutes) and minutes >= 0):
                raise InvalidInput(f"{kind} 的出动准备时间 {minutes!r} 分钟不合法，应为非负数。", field="mobilisation")
        # Longest prefix first, so the first match is the most specific one.
        object.__setattr__(self, "overrides", tuple(sorted(self.overrides, key=lambda o: -len(o.prefix))))

    def travel_for(self, region_code: str) -> RegionTravel:
        """The road factor and speed that apply to a source in ``region_code`` (longest prefix wins)."""
        for override in self.overrides:
            if region_code.startswith(override.prefix):
                return override
        return RegionTravel("", self.road_factor, self.speed_kmh)

    def mobilisation(self, kind: str) -> float:
        """Minutes until a load leaves a place of this kind."""
        return self.mobilisation_minutes.get(kind, FALLBACK_MOBILISATION)

    @property
    def min_minutes_per_km(self) -> float:
        """The fewest travel minutes per straight-line kilometre anywhere (for lower bounds)."""
        return min(t.minutes_per_km for t in (self.travel_for(""), *self.overrides))

    def eta_minutes(self, kind: str, region_code: str, distance_km: float, lead_hours: float | None) -> float:
        """Minutes until stock at a source of this kind and region arrives ``distance_km`` away (straight line).

        Mobilisation for the kind, plus distance × road factor ÷ speed, plus — for a vendor's agreement
        reserve (协议储备) — the contractual lead time.
        """
        return (self.mobilisation(kind) + distance_km * self.travel_for(region_code).minutes_per_km
                + agreement_lead_minutes(kind, lead_hours))

    def lower_bound(self, min_mobilisation: float, distance_km: float) -> float:
        """No source at ``distance_km`` or farther can arrive sooner than this."""
        return min_mobilisation + distance_km * self.min_minutes_per_km


def agreement_lead_minutes(kind: str, lead_hours: float | None) -> float:
    """The contractual lead time of a vendor's agreement reserve, in minutes (0 for every other kind)."""
    return lead_hours * 60.0 if kind == "vendor" and lead_hours else 0.0


def _check_travel(where: str, road_factor: float, speed_kmh: float) -> None:
    if not (math.isfinite(road_factor) and 1.0 <= road_factor <= 5.0):
        raise InvalidInput(f"{ENV_OVERRIDES} {where}：道路系数 {road_factor!r} 应在 1 到 5 之间"
                           "（道路不会比直线更短）。Road factor must be within 1–5.", field=ENV_OVERRIDES)
    if not (math.isfinite(speed_kmh) and 0.0 < speed_kmh <= 200.0):
        raise InvalidInput(f"{ENV_OVERRIDES} {where}：车速 {speed_kmh!r} km/h 应大于 0、不超过 200。"
                           "Speed must be within (0, 200] km/h.", field=ENV_OVERRIDES)


def parse_eta_overrides(text: str) -> tuple[RegionTravel, ...]:
    """Parse ``"3607:1.6:30,3601:1.3:45"`` (region prefix : road factor : speed km/h, comma-separated)."""
    result: list[RegionTravel] = []
    seen: set[str] = set()
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) != 3:
            raise InvalidInput(f"{ENV_OVERRIDES} 的条目 {entry!r} 应写成 区划代码前缀:道路系数:车速，"
                               "如 3607:1.6:30。Expected prefix:factor:speed.", field=ENV_OVERRIDES)
        prefix, factor_text, speed_text = parts
        if not _PREFIX.fullmatch(prefix):
            raise InvalidInput(f"{ENV_OVERRIDES} 的条目 {entry!r}：区划代码前缀 {prefix!r} 应为 1–12 位数字。",
                               field=ENV_OVERRIDES)
        if prefix in seen:
            raise InvalidInput(f"{ENV_OVERRIDES}：区划代码前缀 {prefix} 出现了两次。Duplicate prefix.",
                               field=ENV_OVERRIDES)
        try:
            factor, speed = float(factor_text), float(speed_text)
        except ValueError:
            raise InvalidInput(f"{ENV_OVERRIDES} 的条目 {entry!r}：道路系数和车速必须是数字。",
                               field=ENV_OVERRIDES) from None
        _check_travel(f"条目 {entry!r}", factor, speed)
        seen.add(prefix)
        result.append(RegionTravel(prefix, factor, speed))
    return tuple(result)


def load_eta_config(environ: Mapping[str, str] | None = None) -> EtaConfig:
    """The ETA configuration: defaults, with per-region overrides from ``INVENTORY_ETA_OVERRIDES``."""
    env = os.environ if environ is None else environ
    return EtaConfig(overrides=parse_eta_overrides(env.get(ENV_OVERRIDES, "")))
