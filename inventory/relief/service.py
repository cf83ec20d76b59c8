"""Handing relief to households (救灾物资发放): one distribution is one issue (出库) through the ledger.

Rules, in the order they are checked:

- the keeper may distribute (``relief.distribute``) at the place the goods leave from (the request's
  ``location_id``, else the incident's staging place) — else 403;
- the incident is open — else 409;
- the resident ID passes the GB 11643 check (:mod:`inventory.relief.ids`) — else 422 on ``household.id_number``;
  it is kept only as its last four characters and a salted hash, which finds the same household again;
- the household's row is locked before the duplicate check, so two tables handing out to one household at the
  same moment queue: the second sees the first's distribution. The same household, item and round of one
  incident twice is a 409 naming the household and the item, unless ``reason`` says why;
- the issue is posted by :func:`inventory.stock.ledger.post_document`, which never takes stock below zero
  (409 with the shortfall): then nothing of the distribution is written either.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import allowed
from inventory.access.scope import Principal, principal_error, require_scope
from inventory.catalog.service import find_item_type
from inventory.errors import Conflict, InvalidInput
from inventory.places.refs import load_place
from inventory.places.regions import require_region
from inventory.relief.ids import id_hash, last_four, normalise_id_number
from inventory.relief.schemas import DistributionCreate, HouseholdIn
from inventory.response.incidents import get_incident
from inventory.stock.documents import occurred_at_or_now
from inventory.stock.ledger import post_document
from inventory.stock.schemas import MovementCreate, MovementLine
from inventory.store.db import dialect_name
from inventory.store.models import Distribution, DistributionLine, Household, Incident, ItemType, Setting, utcnow

ACTION = "relief.distribute"
SALT_SETTING = "relief_id_salt"
REFERENCE = "RELIEF-{}"


async def known_salt(session: AsyncSession) -> str | None:
    """The salt of the ID hashes if it was made already (a read; see :func:`id_salt`)."""
    return await session.scalar(select(Setting.value).where(Setting.key == SALT_SETTING)) or None


async def id_salt(session: AsyncSession) -> str:
    """The salt of the ID hashes, made once (insert-if-absent, race-safe) and kept in ``settings``."""
    value = await known_salt(session)
    if value:
        return value
    find = select(Setting.value).where(Setting.key == SALT_SETTING)
    builder = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    await session.execute(builder(Setting).values(key=SALT_SETTING, value=secrets.token_hex(32))
                          .on_conflict_do_nothing(index_elements=[Setting.key]))
    value = await session.scalar(find)
    if not value:
        raise RuntimeError("the relief ID salt could not be stored in the settings table")
    return value


def household_label(head_name: str, id_last4: str) -> str:
    """How a household is named in messages: ``张三（身份证后四位 123X）``."""
    return f"{head_name}（身份证后四位 {id_last4}）"


def _text(value: str, field: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"请填写{what}", field=field)
    return text


async def _township(session: AsyncSession, code: str | None) -> str | None:
    """The 12-digit region code of a 9-digit township code (乡镇（街道）), which must exist."""
    if code is None:
        return None
    region = await require_region(session, code.ljust(12, "0"), field="household.township_code")
    return region.code


async def find_household(session: AsyncSession, data: HouseholdIn, *, actor: str) -> Household:
    """The household this ID number names — made on first sight, else brought up to date — locked for update."""
    number = normalise_id_number(data.id_number)
    head_name = _text(data.head_name, "household.head_name", "户主姓名")
    village = _text(data.village, "household.village", "村（社区）")
    township = await _township(session, data.township_code)
    digest = id_hash(await id_salt(session), number)
    builder = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    await session.execute(builder(Household).values(
        head_name=head_name, id_last4=last_four(number), id_hash=digest, village=village, township_code=township,
        size=data.size, phone=data.phone.strip(), created_by=actor, created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=[Household.id_hash]))
    household = await session.scalar(
        select(Household).where(Household.id_hash == digest).with_for_update()
        .execution_options(populate_existing=True))
    if household is None:  # pragma: no cover - the row was just inserted or already there
        raise RuntimeError("the household row could not be read back")
    household.head_name, household.village, household.size = head_name, village, data.size
    household.phone = data.phone.strip() or household.phone
    household.township_code = township or household.township_code
    return household


async def _items(session: AsyncSession, data: DistributionCreate) -> dict[int, tuple[ItemType, int]]:
    """Each item type asked for (by id or code) with its quantity; the same item on two lines is added up."""
    wanted: dict[int, tuple[ItemType, int]] = {}
    for i, line in enumerate(data.lines):
        it = await find_item_type(session, line.item_type.strip(), field=f"lines.{i}.item_type")
        if it.tracking != "bulk":
            raise InvalidInput(f"第 {i + 1} 行：{it.name} 按单件管理，不能作为救灾物资按数量发放",
                               field=f"lines.{i}.item_type")
        before = wanted.get(it.id, (it, 0))[1]
        wanted[it.id] = (it, before + line.quantity)
    return wanted


async def _already_given(session: AsyncSession, incident: Incident, household: Household, round_no: int,
                         item_ids: list[int]) -> list[tuple[int, int]]:
    """(item type id, distribution id) of what this household already received in this round of the incident."""
    rows = await session.execute(
        select(DistributionLine.item_type_id, Distribution.id)
        .join(Distribution, Distribution.id == DistributionLine.distribution_id)
        .where(Distribution.incident_id == incident.id, Distribution.household_id == household.id,
               Distribution.round == round_no, DistributionLine.item_type_id.in_(item_ids))
        .order_by(Distribution.id))
    return [(int(item_id), int(dist_id)) for item_id, dist_id in rows.all()]


async def distribute(session: AsyncSession, incident_id: int, data: DistributionCreate,
                     principal: Principal) -> Distribution:
    """Hand items to a household in a round of an incident's relief: an issue through the ledger (see the module)."""
    if not allowed(ACTION, principal.role):
        raise principal_error(principal.role, ACTION)
    incident = await get_incident(session, incident_id)
    if data.location_id is not None:
        place = await load_place(session, data.location_id, field="location_id")
    else:
        place = await load_place(session, incident.location_id)
    await require_scope(session, principal, place.id)
    if incident.status != "open":
        raise Conflict(f"事件 {incident.name} 已关闭，不能再发放救灾物资")
    occurred = occurred_at_or_now(data.occurred_at)
    reason = data.reason.strip()
    wanted = await _items(session, data)
    household = await find_household(session, data.household, actor=principal.username)
    given = await _already_given(session, incident, household, data.round, list(wanted))
    if given and not reason:
        names = "、".join(dict.fromkeys(wanted[item_id][0].name for item_id, _ in given))
        raise Conflict(
            f"{household_label(household.head_name, household.id_last4)} 在本事件第 {data.round} 轮已领取过"
            f"{names}，不能重复发放；确需再次发放，请填写重复发放原因",
            field="household", extra={"household_id": household.id,
                                      "item_type_ids": sorted({item_id for item_id, _ in given}),
                                      "distribution_ids": sorted({dist_id for _, dist_id in given})})
    doc = await post_document(session, MovementCreate(
        kind="issue", location_id=place.id, occurred_at=occurred,
        counterparty=f"{household.head_name}（{household.village}）"[:100],
        reason=f"救灾物资发放 第{data.round}轮（{incident.name}）"[:200], reference=REFERENCE.format(incident.id),
        lines=[MovementLine(item_type_id=item_id, quantity=qty) for item_id, (_, qty) in wanted.items()],
    ), actor=principal.username)
    distribution = Distribution(
        incident_id=incident.id, household_id=household.id, round=data.round, village=household.village,
        location_id=place.id, document_id=doc.id, reason=reason, created_by=principal.username,
        created_at=utcnow(), occurred_at=occurred)
    session.add(distribution)
    await session.flush()
    session.add_all(DistributionLine(distribution_id=distribution.id, item_type_id=item_id, quantity=qty)
                    for item_id, (_, qty) in wanted.items())
    await session.flush()
    return distribution
