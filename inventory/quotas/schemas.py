"""msgspec structs for reserve quotas (储备定额): a quota, its season, its status, and an imported sheet."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from inventory.quotas.rules import Level
from inventory.schemas import Id, NonNegative, Strict

MonthDay = Annotated[str, msgspec.Meta(min_length=5, max_length=5, pattern=r"^[0-9]{2}-[0-9]{2}$",
                                       description="月-日 MM-DD，如 04-01", examples=["04-01"])]
Note = Annotated[str, msgspec.Meta(max_length=200)]
SeasonName = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class Season(Strict):
    """A season with a higher minimum, such as 汛期 from 04-01 to 09-30 (both days included)."""

    start: MonthDay
    end: MonthDay
    minimum: NonNegative
    name: SeasonName = "汛期"


class QuotaCreate(Strict):
    """A new quota of one item type at one location (a site, not a bin)."""

    location_id: Id
    item_type_id: Id
    minimum: NonNegative
    warning_margin: NonNegative = 0
    season: Season | None = None
    note: Note = ""


class QuotaUpdate(Strict):
    """A partial change of a quota (``season: null`` removes the season)."""

    minimum: NonNegative | UnsetType = UNSET
    warning_margin: NonNegative | UnsetType = UNSET
    season: Season | UnsetType | None = UNSET
    note: Note | UnsetType = UNSET


class QuotaRead(msgspec.Struct):
    """A quota, with the location and item type it is for."""

    id: int
    location_id: int
    location_code: str
    location_name: str
    region_code: str
    item_type_id: int
    item_code: str
    item_name: str
    item_spec: str
    unit: str
    minimum: int
    warning_margin: int
    season: Season | None
    note: str
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime


class QuotaStatus(msgspec.Struct):
    """A quota beside what is available at its location today: the minimum in force, the shortfall, the level."""

    quota_id: int
    location_id: int
    location_code: str
    location_name: str
    location_kind: str
    region_code: str
    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    category: str
    minimum: int
    warning_margin: int
    season: Season | None
    in_season: bool
    minimum_in_force: int
    available: int
    shortfall: int
    level: Level


class LevelCounts(msgspec.Struct):
    """How many quotas are at each level (before the ``level`` filter)."""

    below: int = 0
    warning: int = 0
    ok: int = 0


class QuotaStatusPage(msgspec.Struct):
    """One page of quota statuses, worst first, with the counts per level and the day they were reckoned for."""

    items: list[QuotaStatus]
    total: int
    limit: int
    offset: int
    on: dt.date
    counts: LevelCounts


class QuotaSheetRow(msgspec.Struct, frozen=True, kw_only=True):
    """One clean row of an imported quota sheet, as the Excel layer read it (codes not yet looked up)."""

    row: int
    location_code: str
    item_code: str
    minimum: int
    warning_margin: int = 0
    season_minimum: int | None = None
    season_start: str | None = None
    season_end: str | None = None
    note: str = ""


class QuotaSheetProblem(msgspec.Struct, frozen=True):
    """What is wrong with one cell of a quota sheet (row, column, the value as written, why), in Chinese."""

    row: int
    column: str
    value: str
    message: str


class QuotaImportResult(msgspec.Struct):
    """What an accepted sheet did: rows read, quotas created, changed, and left as they were."""

    rows: int
    created: int
    updated: int
    unchanged: int
