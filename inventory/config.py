"""Configuration read from the environment, with safe defaults."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./inventory.db"
ENV_RESPONSE_TARGETS: Final = "INVENTORY_RESPONSE_TARGET_HOURS"
DEFAULT_RESPONSE_TARGET_HOURS: Final[Mapping[str, float]] = MappingProxyType(
    {"county": 6.0, "city": 8.0, "province": 10.0})
"""Hours within which dispatched stock should reach an incident, per response level (county, city, province)."""


@dataclass(frozen=True)
class Settings:
    """Process-wide settings; build with :func:`load_settings`."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = "http://127.0.0.1:8000"
    # None: a key made once and kept in the database (inventory.access.secret_key), shared by every process.
    secret_key: str | None = None
    bootstrap_admin_password: str | None = None
    cors_origins: tuple[str, ...] = ()
    response_target_hours: Mapping[str, float] = field(default_factory=lambda: DEFAULT_RESPONSE_TARGET_HOURS,
                                                       hash=False)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def parse_response_target_hours(text: str) -> Mapping[str, float]:
    """``"county=6,city=8,province=10"`` → hours per response level; a level left out keeps its default.

    Raises ValueError naming the variable and the entry when an entry is not ``level=hours`` with a known
    level and hours in (0, 240].
    """
    hours = dict(DEFAULT_RESPONSE_TARGET_HOURS)
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        level, sep, value = (part.strip() for part in entry.partition("="))
        try:
            number = float(value) if sep else math.nan
        except ValueError:
            number = math.nan
        if level not in hours or not (math.isfinite(number) and 0 < number <= 240):
            raise ValueError(f"{ENV_RESPONSE_TARGETS}：“{entry}”应为 级别=小时数（级别 county、city 或 province，"
                             f"小时数大于 0、不超过 240），如 county=6,city=8,province=10")
        hours[level] = number
    return MappingProxyType(hours)


def load_settings(**overrides: str) -> Settings:
    """Read ``INVENTORY_*`` environment variables; keyword overrides win."""
    env = {
        "database_url": os.environ.get("INVENTORY_DATABASE_URL", DEFAULT_DATABASE_URL),
        "public_url": os.environ.get("INVENTORY_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
    }
    secret = os.environ.get("INVENTORY_SECRET_KEY")
    if secret:
        env["secret_key"] = secret
    targets = parse_response_target_hours(overrides.pop("response_target_hours",
                                                        os.environ.get(ENV_RESPONSE_TARGETS, "")))
    env.update(overrides)
    cors = tuple(o.strip() for o in os.environ.get("INVENTORY_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        bootstrap_admin_password=os.environ.get("INVENTORY_BOOTSTRAP_ADMIN_PASSWORD") or None,
        cors_origins=cors,
        response_target_hours=targets,
        **env,
    )
