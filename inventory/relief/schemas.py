"""msgspec structs for relief distributions to households."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from inventory.schemas import Id, Strict


class HouseholdIn(Strict):
    """The household as the keeper reads it off the head's ID card (身份证) or the village list.

    ``id_number``: the 18-character resident ID (GB 11643, check character validated; 15-digit old numbers are
    accepted); it is never stored or shown whole — only its last four characters and a salted hash.
    """

    head_name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    id_number: Annotated[str, msgspec.Meta(min_length=15, max_length=18)]
    village: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    size: Annotated[int, msgspec.Meta(ge=1, le=30)]
    township_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{9}$")] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=20)] = ""


class DistributionLineIn(Strict):
    """An item (id or code) and how many."""

    item_type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class DistributionCreate(Strict):
    """Hand items to a household in a round of an incident's relief.

    ``location_id``: where the goods are handed out from (default: the incident's staging place). The same
    household and item twice in one round is refused (409) unless ``reason`` says why.
    """

    household: HouseholdIn
    lines: Annotated[list[DistributionLineIn], msgspec.Meta(min_length=1, max_length=20)]
    round: Annotated[int, msgspec.Meta(ge=1, le=99)] = 1
    location_id: Id | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""
    occurred_at: dt.datetime | None = None


class HouseholdRead(msgspec.Struct):
    """A household as shown: the ID number only by its last four characters."""

    id: int
    head_name: str
    id_last4: str
    village: str
    size: int
    township_code: str | None
    phone: str


class DistributionLineRead(msgspec.Struct):
    """One item handed out."""

    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    quantity: int


class DistributionRead(msgspec.Struct):
    """A distribution, its household, its lines and the issue document that posted it."""

    id: int
    incident_id: int
    round: int
    village: str
    household: HouseholdRead
    location_id: int
    document_id: int
    document_number: str
    lines: list[DistributionLineRead]
    reason: str
    created_by: str
    created_at: dt.datetime
    occurred_at: dt.datetime


class ItemTotal(msgspec.Struct):
    """How much of an item an incident's relief handed out, to how many households."""

    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    quantity: int
    households: int


class VillageTotal(msgspec.Struct):
    """A village's households and distributions in an incident's relief, with its rounds."""

    village: str
    households: int
    distributions: int
    rounds: list[int]


class ReliefTotals(msgspec.Struct):
    """Totals per incident and item (and per village), for the commander's screen."""

    incident_id: int
    households: int
    people: int
    distributions: int
    items: list[ItemTotal]
    villages: list[VillageTotal]
