"""Apply Alembic migrations programmatically (no alembic.ini needed on a user's machine)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; safe to call with or without a running loop."""
    _run(command.upgrade, url, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` (tests of a migration's upgrade over existing data)."""
    _run(command.downgrade, url, revision)


def _run(step: Callable[[Config, str], None], url: str, revision: str) -> None:
    """Run an Alembic command here, or in a thread of its own when an event loop runs here (its env.py runs one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        step(alembic_config(url), revision)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(step, alembic_config(url), revision).result()
