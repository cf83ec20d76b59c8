"""Dependency providers and shared query parameters."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import HeaderParameter, Parameter

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.config import Settings
from inventory.errors import InvalidInput
from inventory.schemas import EARLIEST_YEAR, LATEST_YEAR, MAX_ID, time_in_range
from inventory.store.db import Database

Limit = Annotated[int, Parameter(ge=1, le=500, description="每页条数 page size (1–500)")]
Offset = Annotated[int, Parameter(ge=0, le=10_000_000, description="跳过条数 offset")]
# A row id in a path or a filter: 1 … 2³¹−1 (a larger number is a 422, not a database overflow).
IdParam = Annotated[int, Parameter(ge=1, le=MAX_ID)]
OptionalId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
# A time filter, read with parse_time: RFC 3339 text only. (A ``datetime`` parameter would also take a Unix
# timestamp such as ``0.5``, as msgspec's lax query parsing does, and a year-1 time that overflows in SQL.)
QueryTime = Annotated[
    str | None, Parameter(max_length=40, schema_extra={"format": "date-time"},
                          description="RFC 3339 时间，如 2024-07-01T08:00:00+08:00")
]


def parse_time(value: str | None, field: str) -> dt.datetime | None:
    """The time a ``QueryTime`` parameter names; 422 when it is not RFC 3339 or lies outside 1900–2999."""
    if value is None:
        return None
    try:
        when = msgspec.convert(value, dt.datetime)  # strict: text only
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{field} 须为 RFC 3339 时间，如 2024-07-01T08:00:00+08:00（收到 {value!r}）",
                           field=field) from exc
    if not time_in_range(when):
        raise InvalidInput(f"{field} 超出范围，应在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间", field=field)
    return when


# Litestar resolves the dependencies of one depth concurrently, in an anyio task group per request: a
# few tasks per request, about 7% of a small write's time. Ours are attribute lookups, so each takes the
# one before it as a parameter — db ← settings ← eta ← principal ← actor — and they resolve in turn.


def provide_db(state: State) -> Database:
    """The process's database."""
    db: Database = state.db
    return db


def provide_settings(state: State, db: Database) -> Settings:
    """The process's settings (``db``: see the chain above)."""
    settings: Settings = state.settings
    return settings


def provide_eta_config(state: State, settings: Settings) -> EtaConfig:
    """The ETA configuration read at application start (``settings``: see the chain above)."""
    eta: EtaConfig = state.eta
    return eta


def provide_principal(request: Request[Any, Any, Any], eta: EtaConfig) -> Principal:
    """The signed-in user (``eta``: see the chain above)."""
    principal: Principal = request.user
    return principal


def provide_actor(principal: Principal) -> str:
    """The signed-in user's name, recorded on documents and idempotency keys."""
    return principal.username


DEPENDENCIES = {
    "db": Provide(provide_db, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "eta": Provide(provide_eta_config, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "actor": Provide(provide_actor, sync_to_thread=False),
}


IdempotencyKey = Annotated[
    str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=100,
                                description="重试同一请求时带上同一个键，只会生效一次 (retry-safe writes)")
]
