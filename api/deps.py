"""Dependency providers and shared query parameters."""

from __future__ import annotations

from typing import Annotated

from litestar.datastructures import State
from litestar.params import HeaderParameter, Parameter

from inventory.config import Settings
from inventory.db import Database

Limit = Annotated[int, Parameter(ge=1, le=500, description="每页条数 page size (1–500)")]
Offset = Annotated[int, Parameter(ge=0, le=10_000_000, description="跳过条数 offset")]


def provide_db(state: State) -> Database:
    """The process's database."""
    db: Database = state.db
    return db


def provide_settings(state: State) -> Settings:
    """The process's settings."""
    settings: Settings = state.settings
    return settings

IdempotencyKey = Annotated[
    str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=100,
                                description="重试同一请求时带上同一个键，只会生效一次 (retry-safe writes)")
]
