"""Availability (可用库存): the nearest sources of what an incident needs, and totals per region."""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar import Controller, get
from litestar.params import Parameter

from inventory.access.scope import Principal
from inventory.availability import service as availability
from inventory.availability.eta import EtaConfig
from inventory.availability.schemas import AvailabilitySummary, NearestAvailability
from inventory.catalog.rules import TAGS
from inventory.errors import InvalidInput
from inventory.schemas import Crs
from inventory.store.db import Database

ItemTypeRef = Annotated[str | None, Parameter(max_length=40, description="物资品目 id 或物资编号 item type id or code")]
Category = Annotated[str | None, Parameter(max_length=40, description="物资类别 category, e.g. pump")]
# Text rather than the Tag literal, so that an unknown tag is answered by the service with the known ones listed;
# the description still lists them as an enum.
TagParam = Annotated[str | None, Parameter(max_length=40, description="能力标签 tag（小、快、轻、智）",
                                           schema_extra={"enum": list(TAGS)})]
Attrs = Annotated[
    list[str] | None,
    Parameter(description="属性比较，可重复，如 flow_m3h>=300、fuel=diesel (attribute comparisons)", max_length=80),
]
CrsParam = Annotated[Crs, Parameter(description="坐标系 wgs84（GPS）、gcj02（高德/腾讯/微信）、bd09（百度）")]
RegionCode = Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="行政区划代码，如 3601（必填）")]
T = TypeVar("T")


def required(value: T | None, field: str, label: str) -> T:
    """A required query parameter; its absence is answered as a 422 naming it (like any other bad input)."""
    if value is None:
        raise InvalidInput(f"缺少必填参数 {field}（{label}）。Missing required query parameter {field!r}.", field=field)
    return value


class AvailabilityController(Controller):
    """Where the nearest available stock is and how soon it can arrive; totals per region."""

    path = "/api/v1/availability"
    tags = ["availability"]

    @get("/nearest", opt={"action": "read"})
    async def nearest(
        self, db: Database, eta: EtaConfig, principal: Principal,
        lat: Annotated[float | None, Parameter(description="纬度 latitude of the incident (required 必填)")] = None,
        lon: Annotated[float | None, Parameter(description="经度 longitude of the incident (required 必填)")] = None,
        crs: CrsParam = "wgs84",
        item_type: ItemTypeRef = None,
        category: Category = None,
        tag: TagParam = None,
        attr: Attrs = None,
        quantity: Annotated[int, Parameter(ge=1, le=availability.MAX_QUANTITY, description="需求数量")] = 1,
        limit: Annotated[int, Parameter(ge=1, le=availability.MAX_LIMIT, description="最多列出的来源数")] = 10,
        max_km: Annotated[float | None, Parameter(gt=0, le=20_000, description="只看这个直线距离（公里）以内")] = None,
        include_agreement: Annotated[bool, Parameter(description="含协议储备（供应商仓库）")] = True,
        own_only: Annotated[bool, Parameter(description="只看本单位（辖区内）的物资")] = False,
    ) -> NearestAvailability:
        """Sources of what is needed, by estimated arrival, until the quantity is covered or ``limit`` are listed.

        A source is one (site, item type): available = on hand − reserved in unexpired lots, plus ready serial
        units (status available, not faulty, inspection not overdue), bins counted at their site. Order:
        ``eta_minutes``, ``distance_km``, location id, item type id. ``eta_minutes`` is an estimate from
        straight-line distance: mobilisation for the kind of site + distance × road factor ÷ speed, plus a
        vendor's agreement lead time — confirm with the source.

        Each source says whether it is the asking user's own unit's stock (``own``: in his scope, he may order
        from it) or another unit's (he requests it through ``POST /api/v1/requests``), and which region and
        level owns it (``owner``); ``own_only=true`` looks at his own sources only.
        """
        async with db.reader() as reader:
            return await availability.nearest_available(
                reader, lat=required(lat, "lat", "纬度"), lon=required(lon, "lon", "经度"), crs=crs,
                item_type=item_type, category=category, tag=tag, attrs=attr or [], quantity=quantity, limit=limit,
                max_km=max_km, include_agreement=include_agreement, eta=eta, principal=principal,
                own_only=own_only,
            )

    @get("/summary", opt={"action": "read"})
    async def summary(
        self, db: Database,
        region: RegionCode = None,
        item_type: ItemTypeRef = None,
        category: Category = None,
        tag: TagParam = None,
        attr: Attrs = None,
        include_agreement: Annotated[bool, Parameter(description="含协议储备（供应商仓库）")] = True,
    ) -> AvailabilitySummary:
        """On hand, reserved, available and in transit per child region, so the whole city shows at a glance."""
        async with db.heavy_read() as session:  # grows with the region's stock: off the event loop
            return await availability.availability_summary(
                session, region=required(region, "region", "行政区划代码"), item_type=item_type, category=category,
                tag=tag, attrs=attr or [], include_agreement=include_agreement,
            )
