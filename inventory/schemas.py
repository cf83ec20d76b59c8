"""msgspec structs for what services take and return (the API reuses them as its schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")

LocationKind = Literal["depot", "reserve_point", "vendor", "vehicle", "staging", "bin"]
Crs = Literal["wgs84", "gcj02", "bd09"]
Tracking = Literal["bulk", "serial"]
Tag = Literal["small", "fast", "light", "smart"]
AssetStatus = Literal[
    "available", "reserved", "deployed", "in_transit", "maintenance", "leased_out", "lost", "retired"
]
Ownership = Literal["owned", "leased_in", "consigned"]
Readiness = Literal["ok", "fault", "unknown"]

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Phone = Annotated[str, msgspec.Meta(max_length=30, pattern=r"^[0-9+\-() ]*$")]
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
PositiveDays = Annotated[int, msgspec.Meta(ge=1, le=36500)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
# Row ids are 32-bit INTEGER columns in PostgreSQL; a larger (or a 64-bit-overflowing) number is refused as
# input instead of reaching the database driver.
MAX_ID = 2_147_483_647
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
AttrValue = float | str


# Years a time in a request may name. Outside them, moving a time across zones (a naive time read as
# 北京时间, an offset converted to UTC) can leave the range of ``datetime``: year 1 or 9999 was a 500.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def time_in_range(value: dt.datetime) -> bool:
    """True when ``value`` lies within the years a request may name."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for request bodies: unknown fields are an error, not silently dropped; times are kept in range."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, dt.datetime) and not time_in_range(value):
                # msgspec reports this as a validation error (422); api/errors.py renders it in Chinese.
                raise ValueError(f"Time `{name}` out of range ({EARLIEST_YEAR}–{LATEST_YEAR})")


class Page(msgspec.Struct, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int
    # Where the next page starts: passed back as ``after_id`` (with no ``offset``); None on the last page.
    next_after_id: Annotated[int | None, msgspec.Meta(
        description="下一页：作为 after_id 传回（不带 offset）即得下一页；最后一页为 null")] = None
