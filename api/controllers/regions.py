"""Regions (行政区划)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from api.deps import Limit, Offset
from api.openapi import problem_responses
from inventory.places import regions
from inventory.places.schemas import RegionRead
from inventory.schemas import Page
from inventory.store.db import Database


class RegionController(Controller):
    """GB/T 2260 regions of the shipped province."""

    path = "/api/v1/regions"
    tags = ["regions"]

    @get("/", opt={"action": "read"}, responses=problem_responses(404))  # the parent does not exist
    async def list_regions(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        parent: Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="上级代码")] = None,
        level: Annotated[int | None, Parameter(ge=1, le=4)] = None,
        q: Annotated[str | None, Parameter(max_length=50)] = None,
    ) -> Page[RegionRead]:
        """Children of ``parent``, or regions of a level, or by name."""
        async with db.heavy_read() as session:
            return await regions.list_regions(session, parent=parent, level=level, q=q, limit=limit, offset=offset)

    @get("/{code:str}", opt={"action": "read"})
    async def get_region(self, db: Database, code: str) -> RegionRead:
        """One region."""
        async with db.read() as session:
            r = await regions.get_region(session, code)
            page = await regions.list_regions(session, parent=code, level=None, q=None, limit=1, offset=0)
            return RegionRead(r.code, r.name, r.level, r.parent_code, page.total > 0)
