"""msgspec structs for what services take and return (the API reuses them as its schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

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


class RegionRead(msgspec.Struct):
    """A GB/T 2260 region."""

    code: str
    name: str
    level: int
    parent_code: str | None
    has_children: bool


class LocationCreate(Strict):
    """A new location; coordinates may be given in WGS-84, GCJ-02 or BD-09."""

    code: Code
    name: Name
    kind: LocationKind
    region_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,12}$")]
    parent_id: Id | None = None
    address: Short = ""
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] = ""
    contact_phone: Phone = ""
    lat: float | None = None
    lon: float | None = None
    crs: Crs = "wgs84"
    coord_approximate: bool = False
    agreement_lead_hours: Annotated[float, msgspec.Meta(ge=0, le=720)] | None = None


class LocationUpdate(Strict):
    """A partial change of a location; only the fields given are changed."""

    name: Name | UnsetType = UNSET
    kind: LocationKind | UnsetType = UNSET
    region_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,12}$")] | UnsetType = UNSET
    parent_id: Id | UnsetType | None = UNSET
    address: Short | UnsetType = UNSET
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] | UnsetType = UNSET
    contact_phone: Phone | UnsetType = UNSET
    lat: float | UnsetType | None = UNSET
    lon: float | UnsetType | None = UNSET
    crs: Crs | UnsetType = UNSET
    coord_approximate: bool | UnsetType = UNSET
    agreement_lead_hours: Annotated[float, msgspec.Meta(ge=0, le=720)] | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class LocationRead(msgspec.Struct):
    """A location as shown to clients; lat/lon are WGS-84, the source CRS and values are kept."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    region_code: str
    address: str
    contact_name: str
    contact_phone: str
    lat: float | None
    lon: float | None
    source_crs: str | None
    source_lat: float | None
    source_lon: float | None
    coord_approximate: bool
    agreement_lead_hours: float | None
    label_code: str | None
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ItemTypeCreate(Strict):
    """A new catalogue entry."""

    code: Code
    name: Name
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    tracking: Tracking
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    gbt_code: str | None = None
    spec: Short = ""
    tags: list[Tag] = msgspec.field(default_factory=list)
    attributes: dict[str, AttrValue] = msgspec.field(default_factory=dict)
    shelf_life_days: PositiveDays | None = None
    inspection_interval_days: PositiveDays | None = None
    min_stock: NonNegative = 0


class ItemTypeUpdate(Strict):
    """A partial change of a catalogue entry (tracking cannot change once stock may exist)."""

    name: Name | UnsetType = UNSET
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] | UnsetType = UNSET
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | UnsetType = UNSET
    gbt_code: str | UnsetType | None = UNSET
    spec: Short | UnsetType = UNSET
    tags: list[Tag] | UnsetType = UNSET
    attributes: dict[str, AttrValue] | UnsetType = UNSET
    shelf_life_days: PositiveDays | UnsetType | None = UNSET
    inspection_interval_days: PositiveDays | UnsetType | None = UNSET
    min_stock: NonNegative | UnsetType = UNSET
    tracking: Tracking | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class ItemTypeRead(msgspec.Struct):
    """A catalogue entry."""

    id: int
    code: str
    gbt_code: str | None
    name: str
    spec: str
    unit: str
    tracking: str
    category: str
    tags: list[str]
    attributes: dict[str, AttrValue]
    shelf_life_days: int | None
    inspection_interval_days: int | None
    min_stock: int
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class LotRead(msgspec.Struct):
    """A batch of a bulk item type, with the code on its label."""

    id: int
    item_type_id: int
    number: str
    origin: str
    quality: str
    production_date: dt.date | None
    expiry_date: dt.date | None
    label_code: str | None
    created_at: dt.datetime


class AssetCreate(Strict):
    """A new serial unit."""

    item_type_id: Id
    serial_number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    location_id: Id | None = None
    status: AssetStatus = "available"
    ownership: Ownership = "owned"
    readiness: Readiness = "unknown"
    battery_pct: Percent | None = None
    fuel_pct: Percent | None = None
    last_inspected_at: dt.datetime | None = None
    notes: Short = ""


class AssetUpdate(Strict):
    """A partial change of an asset's descriptive and readiness fields (moves go through the ledger)."""

    serial_number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)] | UnsetType = UNSET
    ownership: Ownership | UnsetType = UNSET
    readiness: Readiness | UnsetType = UNSET
    battery_pct: Percent | UnsetType | None = UNSET
    fuel_pct: Percent | UnsetType | None = UNSET
    fault_note: Short | UnsetType = UNSET
    last_inspected_at: dt.datetime | UnsetType | None = UNSET
    status: AssetStatus | UnsetType = UNSET
    notes: Short | UnsetType = UNSET


class AssetRead(msgspec.Struct):
    """A serial unit with its status, place and readiness."""

    id: int
    item_type_id: int
    serial_number: str
    label_code: str | None
    status: str
    location_id: int | None
    ownership: str
    readiness: str
    battery_pct: int | None
    fuel_pct: int | None
    fault_note: str
    last_inspected_at: dt.datetime | None
    next_inspection_due: dt.date | None
    inspection_overdue: bool
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
