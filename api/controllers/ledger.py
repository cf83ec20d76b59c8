"""The stock ledger: movements, documents, transfers, stock and the stock card."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId, StockAfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId, QueryTime, parse_time
from api.openapi import problem_responses
from api.writes import run_write
from inventory.access.scope import Principal, require_scope
from inventory.schemas import Page
from inventory.stock import custody, documents, ledger, reversal, transfers
from inventory.stock import queries as stock
from inventory.stock.schemas import (
    DocumentRead,
    MovementCreate,
    MovementRead,
    ReverseRequest,
    StockCard,
    StockRow,
    TransferRead,
    TransferReceive,
)
from inventory.store.db import Database

# Every kind a movement's document can have, receipts of transfers included (they are not posted directly).
MovementKind = Literal["receipt", "issue", "transfer", "transfer_receipt", "adjustment", "write_off", "return"]


class LedgerController(Controller):
    """Documents and movements (出入库流水)."""

    path = "/api/v1"
    tags = ["ledger"]

    @post("/movements", opt={"action": "movements.post"})
    async def post_movements(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: MovementCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DocumentRead]:
        """Post a document (receipt, issue, transfer, adjustment, write-off, return) with its movements."""

        async def work(session: AsyncSession) -> DocumentRead:
            await custody.require_movement_scope(session, principal, data)
            doc = await ledger.post_document(session, data, actor=principal.username)
            return await stock.document_read(session, doc)

        return await run_write(request, db, principal, work)

    @get("/movements", opt={"action": "read"})
    async def list_movements(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, location_id: OptionalId = None,
        item_type_id: OptionalId = None, kind: MovementKind | None = None, document_id: OptionalId = None,
        since: QueryTime = None, until: QueryTime = None, after_id: AfterId = None,
    ) -> Page[MovementRead]:
        """Movements, newest first."""
        async with db.heavy_read() as session:
            return await stock.list_movements(
                session, location_id=location_id, item_type_id=item_type_id, kind=kind, document_id=document_id,
                since=parse_time(since, "since"), until=parse_time(until, "until"), limit=limit, offset=offset,
                after_id=after_id,
            )

    @get("/documents/{document_id:int}", opt={"action": "read"})
    async def get_document(self, db: Database, document_id: IdParam) -> DocumentRead:
        """One document with its movements."""
        async with db.read() as session:
            return await stock.read_document(session, document_id)

    @post("/documents/{document_id:int}/reverse", opt={"action": "documents.reverse"})
    async def reverse_document(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        document_id: IdParam, data: ReverseRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DocumentRead]:
        """Post a reversing document (冲销) that undoes this one; the original stays as it was."""

        async def work(session: AsyncSession) -> DocumentRead:
            await require_scope(session, principal, (await documents.get_document(session, document_id)).location_id)
            doc = await reversal.reverse_document(session, document_id, data.reason, actor=principal.username)
            return await stock.document_read(session, doc)

        return await run_write(request, db, principal, work)


class TransferController(Controller):
    """Transfers between locations (调拨)."""

    path = "/api/v1/transfers"
    tags = ["transfers"]

    @get("/", opt={"action": "read"})
    async def list_transfers(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        status: Annotated[str | None, Parameter(pattern="^(in_transit|received|cancelled)$")] = None,
        location_id: OptionalId = None, after_id: AfterId = None,
    ) -> Page[TransferRead]:
        """Transfers with what is still in transit, newest first."""
        async with db.heavy_read() as session:
            return await transfers.list_transfers(session, status=status, location_id=location_id, limit=limit,
                                                  offset=offset, after_id=after_id)

    @get("/{transfer_id:int}", opt={"action": "read"})
    async def get_transfer(self, db: Database, transfer_id: IdParam) -> TransferRead:
        """One transfer."""
        async with db.read() as session:
            return await transfers.transfer_read(session, await transfers.get_transfer(session, transfer_id))

    @post("/{transfer_id:int}/receive", opt={"action": "transfers.receive"})
    async def receive(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        transfer_id: IdParam, data: TransferReceive,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DocumentRead]:
        """Receive a transfer in full or in part; ``close_short`` records the rest as lost."""

        async def work(session: AsyncSession) -> DocumentRead:
            transfer = await transfers.get_transfer(session, transfer_id)
            await require_scope(session, principal, transfer.to_location_id)
            doc = await transfers.receive_transfer(session, transfer_id, data, actor=principal.username)
            return await stock.document_read(session, doc)

        return await run_write(request, db, principal, work)


class StockController(Controller):
    """Balances (库存) and the stock card (台账)."""

    path = "/api/v1/stock"
    tags = ["stock"]

    @get("/", opt={"action": "read"}, responses=problem_responses(404))  # the location named does not exist
    async def list_stock(
        self, db: Database, limit: Limit = 50, offset: Offset = 0, location_id: OptionalId = None,
        item_type_id: OptionalId = None,
        region: Annotated[str | None, Parameter(pattern=r"^[0-9]{1,12}$")] = None,
        include_children: bool = False, after_id: StockAfterId = None,
    ) -> Page[StockRow]:
        """On hand, reserved, available and in transit per location and item type, with lots and expiry.

        Rows in (location, item type) order; a row's key for ``after_id`` is location id × 2³¹ + item type id.
        """
        async with db.heavy_read() as session:
            return await stock.list_stock(
                session, location_id=location_id, item_type_id=item_type_id, region=region,
                include_children=include_children, limit=limit, offset=offset, after_id=after_id,
            )

    @get("/card", opt={"action": "read"}, responses=problem_responses(404))
    async def stock_card(
        self, db: Database, location_id: IdParam, item_type_id: IdParam, include_children: bool = False,
        since: QueryTime = None, until: QueryTime = None,
    ) -> StockCard:
        """Each movement with its running balance."""
        async with db.heavy_read() as session:
            return await stock.stock_card(session, location_id=location_id, item_type_id=item_type_id,
                                          include_children=include_children, since=parse_time(since, "since"),
                                          until=parse_time(until, "until"))
