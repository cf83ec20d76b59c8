"""Relief handed to households at an incident (救灾物资发放): distribute, list, totals, the signed register."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.report_workbooks import XLSX, content_disposition
from api.writes import REPLAYED, run_write, write_once
from importers.relief_register import RegisterHeading, RegisterHousehold, RegisterLine, write_relief_register
from inventory.access.scope import Principal
from inventory.clock import BEIJING, beijing_today
from inventory.relief import service, views
from inventory.relief.ids import id_hash
from inventory.relief.schemas import DistributionCreate, DistributionRead, ReliefTotals
from inventory.schemas import Page
from inventory.store import idempotency
from inventory.store.db import Database

Village = Annotated[str, Parameter(min_length=1, max_length=50, description="村（社区），与登记时一致")]
OptionalVillage = Annotated[str | None, Parameter(max_length=50, description="只看此村（社区）")]
Round = Annotated[int, Parameter(ge=1, le=99, description="发放轮次")]
OptionalRound = Annotated[int | None, Parameter(ge=1, le=99, description="只看此轮次")]


async def fingerprint_salt(db: Database) -> str:
    """The ID salt, for an idempotency fingerprint (made now, in a transaction of its own, if there is none)."""
    async with db.read() as session:
        salt = await service.known_salt(session)
    if salt is None:
        async with db.write() as session:
            salt = await service.id_salt(session)
    return salt


def private_fingerprint(data: DistributionCreate, salt: str) -> bytes:
    """What an idempotency key is checked against: the request with its ID number as the salted hash.

    The key's stored fingerprint is a plain SHA-256 of the body: of the raw body, the whole number could be found
    again by trying every plausible number against it. The same request still gives the same fingerprint.
    """
    household = msgspec.structs.replace(data.household, id_number=id_hash(salt, data.household.id_number))
    return msgspec.json.encode(msgspec.structs.replace(data, household=household))


def register_workbook(register: views.Register) -> bytes:
    """The 救灾物资发放登记表 of a village and round as .xlsx (blocking: call it in a worker thread)."""
    heading = RegisterHeading(incident=register.incident_name, village=register.village, round=register.round,
                              place=register.place_name, made_on=beijing_today())
    households = [RegisterHousehold(
        head_name=e.head_name, id_last4=e.id_last4, size=e.size,
        given_at=e.occurred_at.astimezone(BEIJING).replace(tzinfo=None, second=0, microsecond=0),
        given_by=e.given_by, lines=[RegisterLine(item=name, unit=unit, quantity=qty) for name, unit, qty in e.lines],
        note=f"重复发放：{e.reason}" if e.reason else "") for e in register.entries]
    return write_relief_register(heading, households)


def register_disposition(incident_id: int, village: str, round_no: int) -> str:
    """The download's file names: ASCII, and the Chinese title for browsers that read it."""
    return content_disposition(f"relief-register-{incident_id}-round-{round_no}.xlsx",
                               f"救灾物资发放登记表-{village}-第{round_no}轮")


class ReliefController(Controller):
    """Relief distributions of an incident: each one an issue (出库) through the ledger."""

    path = "/api/v1/incidents/{incident_id:int}/distributions"
    tags = ["relief"]

    @post("/", opt={"action": "relief.distribute"})
    async def distribute(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, incident_id: IdParam,
        data: DistributionCreate, idempotency_key: IdempotencyKey = None,
    ) -> Response[DistributionRead]:
        """Hand items to a household in a round: an issue from the incident's staging place (or ``location_id``).

        The resident ID is checked (GB 11643) and kept only as its last four characters and a salted hash. The
        same household, item and round twice is a 409 unless ``reason`` says why; a closed incident is a 409;
        a place outside the keeper's scope a 403; too little stock a 409 with the shortfall.
        """

        async def work(session: AsyncSession) -> DistributionRead:
            d = await service.distribute(session, incident_id, data, principal)
            return await views.distribution_read(session, d)

        raw_key = request.headers.get("idempotency-key")
        if raw_key is None:
            return await run_write(request, db, principal, work)
        key = idempotency.check_key(raw_key)
        written = await write_once(request, db, principal, work, key=key,
                                   fingerprint_body=private_fingerprint(data, await fingerprint_salt(db)))
        headers = {REPLAYED: "true"} if written.replayed else {}
        return Response(msgspec.Raw(written.body), status_code=written.status_code,  # type: ignore[arg-type]
                        media_type="application/json", headers=headers)

    @get("/", opt={"action": "read"})
    async def list_distributions(
        self, db: Database, incident_id: IdParam, village: OptionalVillage = None, round: OptionalRound = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> Page[DistributionRead]:
        """The incident's distributions, newest first, by village and round (ID numbers by their last four only)."""
        async with db.heavy_read() as session:
            return await views.list_distributions(session, incident_id, village=village or None, round=round,
                                                  limit=limit, offset=offset)

    @get("/totals", opt={"action": "read"})
    async def totals(self, db: Database, incident_id: IdParam) -> ReliefTotals:
        """Households and people reached, and totals per item and per village (with their rounds)."""
        async with db.heavy_read() as session:
            return await views.relief_totals(session, incident_id)

    @get("/register.xlsx", opt={"action": "read"}, media_type=XLSX)
    async def register(self, db: Database, incident_id: IdParam, village: Village, round: Round) -> Response[bytes]:
        """The 救灾物资发放登记表 of a village and round (.xlsx, A4): a box per household to sign, and totals."""
        async with db.heavy_read() as session:
            register = await views.register_rows(session, incident_id, village, round)
        data = await asyncio.to_thread(register_workbook, register)
        return Response(data, media_type=XLSX,
                        headers={"Content-Disposition": register_disposition(incident_id, village, round)})
