"""The catalogue's item types as services take and return them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from inventory.schemas import AttrValue, Code, Name, PositiveDays, Short, Strict, Tag, Tracking


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
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
