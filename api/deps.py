"""Dependency providers and shared query parameters."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar.datastructures import State
from litestar.params import HeaderParameter, Parameter

from inventory.config import Settings
from inventory.db import Database
from inventory.errors import InvalidInput
from inventory.schemas import EARLIEST_YEAR, LATEST_YEAR, MAX_ID, time_in_range

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
