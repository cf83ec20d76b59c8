"""msgspec structs of the availability answers: nearest sources and the regional summary."""

from __future__ import annotations

import msgspec


class Origin(msgspec.Struct, kw_only=True):
    """The point asked about, in WGS-84, with what was given."""

    lat: float
    lon: float
    crs: str
    input_lat: float
    input_lon: float


class SourceLocation(msgspec.Struct, kw_only=True):
    """The site holding the stock, with whom to call."""

    id: int
    code: str
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    contact_name: str
    contact_phone: str
    agreement_lead_hours: float | None


class AgreementSource(msgspec.Struct, kw_only=True):
    """The agreement (协议储备) a source comes from: the firm delivers within its response hours."""

    id: int
    number: str
    name: str
    kind: str
    response_hours: float


class ItemTypeBrief(msgspec.Struct, kw_only=True):
    """The catalogue entry a source offers."""

    id: int
    code: str
    name: str
    unit: str
    tracking: str
    category: str


class OwnerUnit(msgspec.Struct, kw_only=True):
    """The unit whose stock a source is: the region its site is registered in, and that region's level."""

    region_code: str
    region_name: str
    level: int
    """1 province, 2 city, 3 county, 4 township."""
    level_name: str


class Source(msgspec.Struct, kw_only=True):
    """One (site, item type) pair: what is available there, how far, how soon, and the running total."""

    location: SourceLocation
    item_type: ItemTypeBrief
    available: int
    distance_km: float
    eta_minutes: float
    mobilisation_minutes: float
    travel_minutes: float
    agreement_lead_minutes: float
    cumulative: int
    agreement: AgreementSource | None = None
    """Set when the source is an agreement's line rather than stock held at the site."""
    own: bool | None = None
    """True: the asking user's own unit's stock (in his scope; he may order from it). False: another unit's — he
    requests it (``POST /api/v1/requests``). None when asked without a user."""
    owner: OwnerUnit | None = None


class NearestAvailability(msgspec.Struct, kw_only=True):
    """Sources by estimated arrival until the quantity is covered or the limit is reached."""

    origin: Origin
    quantity: int
    limit: int
    max_km: float | None
    include_agreement: bool
    item_types: list[ItemTypeBrief]
    sources: list[Source]
    own_only: bool = False
    """Only the asking user's own sources were looked at."""
    fulfilled: bool
    shortfall: int
    eta_basis: str


class RegionFigures(msgspec.Struct, kw_only=True):
    """Stock figures of one region (or of the asked region's own locations)."""

    region_code: str
    region_name: str
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    in_transit: int = 0
    sites: int = 0


class AvailabilitySummary(msgspec.Struct, kw_only=True):
    """Totals per child region, the asked region's own locations, and the grand total."""

    region_code: str
    region_name: str
    include_agreement: bool
    item_types: list[ItemTypeBrief]
    regions: list[RegionFigures]
    own: RegionFigures
    total: RegionFigures
