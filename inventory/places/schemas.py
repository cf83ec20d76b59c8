"""Regions and locations as services take and return them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from inventory.schemas import Code, Crs, Id, LocationKind, Name, Phone, Short, Strict

SITE_KINDS = ("depot", "reserve_point", "vendor", "vehicle", "staging")
"""Kinds of location that hold stock for dispatch (a bin's stock counts at its site)."""


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
