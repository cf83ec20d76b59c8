"""What an availability question can name, as lists for a form: the catalogue's categories, tags, attributes and
item types actually present, and the townships (乡镇/街道) of a prefecture with the point a question from one starts.

Township centres are not published (``inventory/places/data/SOURCE.md``): a township stands for the centre of its
county (GCJ-02 in the package data, converted to WGS-84), or of its prefecture where the county has none either;
:class:`Township` says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.rules import CATEGORY_LABELS_ZH, KNOWN_ATTRIBUTES, TAG_LABELS_ZH, TAGS, mask_to_tags
from inventory.places.centres import centres_gcj02
from inventory.places.geo import to_wgs84
from inventory.store.models import ItemType, ItemTypeAttribute, Region

MAX_ITEM_TYPES: Final = 500
"""Item types listed at most (a catalogue is a few hundred entries)."""
MAX_VALUES: Final = 30
"""Text values listed per attribute at most."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One option: the value a form sends and what a person reads."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class AttributeChoice:
    """An attribute some item type has: its name, Chinese label, unit, and whether it compares as a number."""

    name: str
    label: str
    unit: str | None
    numeric: bool
    values: tuple[str, ...]
    """The text values present (for a text attribute such as fuel), at most MAX_VALUES."""


@dataclass(frozen=True, slots=True)
class ItemTypeChoice:
    """A catalogue entry to ask for by name."""

    id: int
    code: str
    name: str
    unit: str
    category: str


@dataclass(frozen=True, slots=True)
class CatalogueChoices:
    """What the catalogue holds: the lists a question's filters are chosen from."""

    categories: tuple[Choice, ...]
    tags: tuple[Choice, ...]
    attributes: tuple[AttributeChoice, ...]
    item_types: tuple[ItemTypeChoice, ...]


def category_label(category: str) -> str:
    """``排涝泵（pump）`` for a usual category, the bare text for another."""
    zh = CATEGORY_LABELS_ZH.get(category)
    return f"{zh}（{category}）" if zh else category


async def catalogue_choices(session: AsyncSession) -> CatalogueChoices:
    """Categories, tags and attribute names present on some item type (as the filters match them: inactive
    item types count), and the item types themselves (the first MAX_ITEM_TYPES, by category and name)."""
    # Sorted here rather than in SQL: the same order on SQLite and PostgreSQL whatever the collation.
    categories = sorted(await session.scalars(select(ItemType.category).distinct()))
    masks = set(await session.scalars(select(ItemType.tags_mask).distinct()))
    present = {t for m in masks if m for t in mask_to_tags(m)}
    numeric: dict[str, bool] = {}
    for name, is_number in await session.execute(
            select(ItemTypeAttribute.name, ItemTypeAttribute.num_value.is_not(None)).distinct()):
        numeric[name] = numeric.get(name, False) or bool(is_number)
    texts: dict[str, set[str]] = {}
    for name, value in await session.execute(
            select(ItemTypeAttribute.name, ItemTypeAttribute.str_value).distinct()
            .where(ItemTypeAttribute.str_value.is_not(None))):
        if value is not None:
            texts.setdefault(name, set()).add(value)
    attributes = []
    for name in sorted(numeric):
        spec = KNOWN_ATTRIBUTES.get(name)
        attributes.append(AttributeChoice(
            name=name, label=spec.label_zh if spec else name, unit=spec.unit if spec else None,
            numeric=spec.kind == "number" if spec else numeric[name],
            values=tuple(sorted(texts.get(name, ()))[:MAX_VALUES])))
    items = sorted((ItemTypeChoice(*row) for row in await session.execute(
        select(ItemType.id, ItemType.code, ItemType.name, ItemType.unit, ItemType.category)
        .order_by(ItemType.id).limit(MAX_ITEM_TYPES))), key=lambda i: (i.category, i.name, i.id))
    return CatalogueChoices(
        categories=tuple(Choice(c, category_label(c)) for c in categories),
        tags=tuple(Choice(t, f"{TAG_LABELS_ZH[t]}（{t}）") for t in TAGS if t in present),
        attributes=tuple(attributes),
        item_types=tuple(items),
    )


# --------------------------------------------------------------------------- places


@dataclass(frozen=True, slots=True)
class Township:
    """A township (乡镇/街道) and the WGS-84 point a question from it starts at: its county's centre."""

    code: str
    name: str
    county_code: str
    county_name: str
    lat: float
    lon: float
    centre_of: str
    """Whose centre the point is: the county's name, or the prefecture's where the county has no published one."""


@cache
def region_centres() -> Mapping[str, tuple[float, float]]:
    """WGS-84 (lat, lon) of the province, prefectures and counties with a published centre, by GB/T 2260 code
    (``36``, ``3601``, ``360121``), from the package data (GCJ-02)."""
    centres: dict[str, tuple[float, float]] = {}
    for adcode, (lat, lon) in centres_gcj02().items():  # 12 digits: 360000000000, 360100000000, 360121000000
        code = adcode[:2] if adcode[2:] == "0" * 10 else adcode[:4] if adcode[4:] == "0" * 8 else adcode[:6]
        centres[code] = to_wgs84(lat, lon, "gcj02")
    return centres


async def townships(session: AsyncSession, prefecture: str) -> list[Township]:
    """The townships under a prefecture (``3601``), by county then code, each with its starting point.

    Empty when the prefecture has none, or neither it nor its counties have a published centre.
    """
    centres = region_centres()
    county_rows = (await session.execute(
        select(Region.code, Region.name).where(Region.parent_code == prefecture).order_by(Region.code))).all()
    counties: dict[str, str] = {str(code): str(name) for code, name in county_rows}
    if not counties:
        return []
    prefecture_name = await session.scalar(select(Region.name).where(Region.code == prefecture)) or prefecture
    rows = (await session.execute(
        select(Region.code, Region.name, Region.parent_code)
        .where(Region.parent_code.in_(list(counties)), Region.level == 4).order_by(Region.parent_code, Region.code)
    )).all()
    result = []
    for code, name, parent in rows:
        county = str(parent)
        point, whose = (centres[county], counties[county]) if county in centres else (
            centres.get(prefecture), prefecture_name)
        if point is None:
            continue
        result.append(Township(code=code, name=name, county_code=county, county_name=counties[county],
                               lat=round(point[0], 6), lon=round(point[1], 6), centre_of=whose))
    return result

