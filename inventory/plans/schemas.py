"""msgspec structs for risk points, optimiser proposals, pre-positioning plans and their coverage."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from inventory.schemas import Crs, Id, Strict

RiskKind = Literal["embankment", "village", "underpass", "school", "reservoir", "landslide", "other"]
RISK_KIND_ZH: dict[str, str] = {
    "embankment": "堤段", "village": "低洼村庄", "underpass": "下穿通道", "school": "学校",
    "reservoir": "水库", "landslide": "山洪地质灾害点", "other": "其他",
}
PlanStatus = Literal["draft", "approved", "executing", "in_place", "recalled"]
PLAN_STATUS_ZH: dict[str, str] = {
    "draft": "草稿", "approved": "已审批", "executing": "执行中", "in_place": "已就位", "recalled": "已收回",
}
PlanLevel = Literal["county", "city", "province"]
ProposalObjective = Literal["coverage", "median", "stock"]
OBJECTIVE_ZH: dict[str, str] = {"coverage": "最大覆盖", "median": "加权时间最短", "stock": "按现有库存布放"}
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,12}$")]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)]


# ---- risk points ---------------------------------------------------------------------------------------------

class RiskNeedIn(Strict):
    """What a risk point would need of one item type."""

    item_type_id: Id
    quantity: Quantity


class RiskPointCreate(Strict):
    """A risk point (风险隐患点); coordinates in WGS-84, GCJ-02 or BD-09 (stored as WGS-84)."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^\S(.*\S)?$")]
    name: Name
    kind: RiskKind
    region_code: RegionCode
    lat: float
    lon: float
    weight: Annotated[float, msgspec.Meta(gt=0, le=10_000_000)]
    crs: Crs = "wgs84"
    needs: Annotated[list[RiskNeedIn], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    note: Text200 = ""


class RiskPointUpdate(Strict):
    """Change a risk point; ``needs``, when given, replaces all its needs."""

    name: Name | None = None
    kind: RiskKind | None = None
    region_code: RegionCode | None = None
    lat: float | None = None
    lon: float | None = None
    crs: Crs = "wgs84"
    weight: Annotated[float, msgspec.Meta(gt=0, le=10_000_000)] | None = None
    needs: Annotated[list[RiskNeedIn], msgspec.Meta(max_length=50)] | None = None
    note: Text200 | None = None


class RiskNeedRead(msgspec.Struct):
    """A need with its item type's code, name and unit."""

    item_type_id: int
    item_code: str
    item_name: str
    unit: str
    quantity: int


class RiskPointRead(msgspec.Struct):
    """A risk point as the API returns it (WGS-84)."""

    id: int
    code: str
    name: str
    kind: str
    kind_zh: str
    region_code: str
    lat: float
    lon: float
    weight: float
    note: str
    needs: list[RiskNeedRead]
    created_by: str
    created_at: dt.datetime


class RiskSheetNeed(msgspec.Struct, frozen=True):
    """One need on a row of the 风险隐患点 list: an item type (its code) and a quantity, and the column it was in."""

    item_code: str
    quantity: int
    column: str = "需求"


class RiskSheetRow(msgspec.Struct, frozen=True, kw_only=True):
    """One clean row of an imported 风险隐患点 list, as the Excel layer read it (codes not yet looked up)."""

    row: int
    code: str
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    crs: str = "wgs84"
    weight: float
    note: str = ""
    needs: tuple[RiskSheetNeed, ...] = ()


class RiskSheetProblem(msgspec.Struct, frozen=True):
    """What is wrong with one cell of a 风险隐患点 list (row, column, the value as written, why), in Chinese."""

    row: int
    column: str
    value: str
    message: str


class RiskPointImportResult(msgspec.Struct):
    """What an accepted list did: rows read, risk points created, changed, and left as they were, in a sentence."""

    rows: int
    created: int
    updated: int
    unchanged: int
    summary: str = ""


# ---- proposals (optimiser runs) ------------------------------------------------------------------------------

class ProposeRequest(Strict):
    """Run the optimiser over the risk points and candidate sites of a region.

    * ``coverage``: choose ``p`` sites among the candidates to maximise the weight within ``target_minutes``.
    * ``median``: choose ``p`` sites to minimise the weighted travel time.
    * ``stock``: place the movable units of ``item_type_id`` (available at sites in the region) so that as much of
      the risk points' need for it as possible is within ``target_minutes``; ``p`` (optional) caps the number of
      sites that hold them.
    Candidate sites: ``site_ids`` if given, else every active staging site, reserve point and depot in the region.
    ``target_minutes`` defaults to the level's response target (county 6 h, city 8 h, province 10 h).
    ``travel_times``: the text of a CSV ``site,point,minutes`` (site = location code, point = risk point code; for
    example exported from a routing engine) used instead of the estimate; a pair it does not list is unreachable.
    Moves between sites (``stock``) are still estimated.
    """

    region_code: RegionCode
    objective: ProposalObjective = "coverage"
    p: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    target_minutes: Minutes | None = None
    level: PlanLevel = "county"
    item_type_id: Id | None = None
    site_ids: Annotated[list[Id], msgspec.Meta(max_length=5000)] | None = None
    time_limit_seconds: Annotated[float, msgspec.Meta(ge=1, le=600)] = 30.0
    travel_times: Annotated[str, msgspec.Meta(max_length=5_000_000)] | None = None


class ProposalRead(msgspec.Struct):
    """An optimiser run: ``running`` (with ``progress``), ``done`` (with ``answer``) or ``failed`` (``error``).

    ``answer`` holds the optimiser's answer with database ids: ``objective``, ``bound``, ``gap``, ``sites``
    (location ids as strings), ``uncovered`` (risk point ids as strings), ``assignment``, ``moves``…
    """

    id: int
    status: str
    objective: str
    region_code: str
    params: dict[str, Any]
    progress: dict[str, Any]
    answer: dict[str, Any] | None
    error: str
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


# ---- plans ----------------------------------------------------------------------------------------------------

class PlanLineIn(Strict):
    """Move a quantity of an item type, or the named serial units, from a location to a staging site."""

    from_location_id: Id
    to_location_id: Id
    item_type_id: Id
    quantity: Quantity | None = None
    asset_ids: Annotated[list[Id], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)


class PlanCreate(Strict):
    """A pre-positioning plan; ``target_minutes`` defaults to the level's target; lines may come later.

    With ``proposal_id`` (a finished optimiser run) and no ``lines``, the lines are built from its answer.
    """

    name: Name
    region_code: RegionCode
    season: Annotated[str, msgspec.Meta(max_length=20)] = ""
    level: PlanLevel = "county"
    target_minutes: Minutes | None = None
    item_type_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    lines: Annotated[list[PlanLineIn], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)
    proposal_id: Id | None = None
    note: Text200 = ""


class PlanUpdate(Strict):
    """Change a draft plan; ``lines``, when given, replaces all its lines."""

    name: Name | None = None
    season: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    target_minutes: Minutes | None = None
    item_type_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] | None = None
    lines: Annotated[list[PlanLineIn], msgspec.Meta(max_length=500)] | None = None
    note: Text200 | None = None


class PlanLineRead(msgspec.Struct):
    """A line with names, and the transfers that carried it out and back and where they stand."""

    id: int
    from_location_id: int
    from_name: str
    to_location_id: int
    to_name: str
    item_type_id: int
    item_name: str
    unit: str
    quantity: int
    asset_ids: list[int]
    transfer_id: int | None
    transfer_status: str | None  # in_transit | received | cancelled
    recall_transfer_id: int | None
    recall_status: str | None
    received: int | None = None  # signed for at the staging site (once executed)
    recalled: int | None = None  # sent back (once recalled): less than received when some was used or issued


class PlanRead(msgspec.Struct):
    """A plan and its lines."""

    id: int
    name: str
    season: str
    region_code: str
    target_minutes: int
    item_type_ids: list[int]
    status: str
    status_zh: str
    proposal_id: int | None
    note: str
    author: str
    approved_by: str | None
    approved_at: dt.datetime | None
    executed_by: str | None
    executed_at: dt.datetime | None
    in_place_at: dt.datetime | None
    recalled_by: str | None
    recalled_at: dt.datetime | None
    created_at: dt.datetime
    lines: list[PlanLineRead]


class PlanSummary(msgspec.Struct):
    """A plan in a list."""

    id: int
    name: str
    season: str
    region_code: str
    target_minutes: int
    status: str
    status_zh: str
    author: str
    line_count: int
    created_at: dt.datetime


class RecallRequest(Strict):
    """Recall a plan after the season: every received line goes back to where it came from."""

    reason: Text200 = ""
    occurred_at: dt.datetime | None = None


# ---- coverage -------------------------------------------------------------------------------------------------

class NeedCoverage(msgspec.Struct):
    """One item type at one risk point: needed, covered within the target, short."""

    item_type_id: int
    item_name: str
    unit: str
    needed: int
    covered: int
    shortfall: int
    sources: list[dict[str, Any]]  # [{"location_id", "name", "quantity", "eta_minutes"}]


class PointCoverage(msgspec.Struct):
    """A risk point and whether the plan's layout covers its needs within the target."""

    risk_point_id: int
    code: str
    name: str
    kind: str
    kind_zh: str
    lat: float
    lon: float
    weight: float
    covered: bool  # every need of the plan's item types fully covered within the target
    nearest_minutes: float | None  # to the nearest site holding any of the plan's item types
    needs: list[NeedCoverage]


class PlanCoverage(msgspec.Struct):
    """Coverage of a plan's layout: stock where it is now, with the plan's lines not yet in place moved.

    ``covered_weight`` / ``total_weight`` over the risk points of the plan's region that need any of its item
    types; stock is allotted to points in order of weight (heaviest first), each from its nearest sources.
    """

    plan_id: int
    target_minutes: int
    total_weight: float
    covered_weight: float
    points: list[PointCoverage]
    sites: list[dict[str, Any]]  # staging sites of the plan: {"location_id", "name", "lat", "lon", "lines"}
    need_weighted_covered: float = 0.0  # Σ weight × covered ÷ needed over every (point, item type) need
    need_weighted_total: float = 0.0  # Σ weight over the same needs: the stock optimiser's objective and its maximum
