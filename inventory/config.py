"""Configuration read from the environment, with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./inventory.db"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings; build with :func:`load_settings`."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = "http://127.0.0.1:8000"
    # None: a key made once and kept in the database (inventory.access.secret_key), shared by every process.
    secret_key: str | None = None
    bootstrap_admin_password: str | None = None
    cors_origins: tuple[str, ...] = ()

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: str) -> Settings:
    """Read ``INVENTORY_*`` environment variables; keyword overrides win."""
    env = {
        "database_url": os.environ.get("INVENTORY_DATABASE_URL", DEFAULT_DATABASE_URL),
        "public_url": os.environ.get("INVENTORY_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
    }
    secret = os.environ.get("INVENTORY_SECRET_KEY")
    if secret:
        env["secret_key"] = secret
    env.update(overrides)
    cors = tuple(o.strip() for o in os.environ.get("INVENTORY_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        bootstrap_admin_password=os.environ.get("INVENTORY_BOOTSTRAP_ADMIN_PASSWORD") or None,
        cors_origins=cors,
        **env,
    )
