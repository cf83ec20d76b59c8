"""Importing the bureau's reserve catalogue (储备目录): quota rows from a sheet, refused whole or applied whole.

The Excel layer reads the sheet into clean rows and cell problems; here every row's 库点编码 and 物资编码 are
looked up (a site that is open, not a bin; a known item type), a (location, item type) may appear once, and every
location must lie in the user's scope (else 403). With any problem nothing is written and a 422 lists each one
(row, column, value, why). Otherwise each row creates or replaces the quota of its (location, item type): the
sheet says everything about the quotas it names (an empty 预警余量 is 0, empty season columns remove the
season); quotas the sheet does not name are left alone. Importing the same sheet again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, require_scope
from inventory.errors import InvalidInput, SheetRejected
from inventory.quotas.rules import check_month_day
from inventory.quotas.schemas import QuotaImportResult, QuotaSheetProblem, QuotaSheetRow, Season
from inventory.quotas.service import season_of, set_season
from inventory.store.models import ItemType, Location, ReserveQuota, utcnow

MAX_ERRORS: Final = 1000  # problems listed in a refusal; the rest are counted
_CHUNK: Final = 500  # codes per IN (…) lookup


class QuotaSheetRejected(SheetRejected):
    """A 储备定额表 with problems: nothing imported; each problem listed (the first MAX_ERRORS) and counted."""

    def __init__(self, problems: Sequence[QuotaSheetProblem], total: int) -> None:
        super().__init__("储备定额表", problems, total, listed=MAX_ERRORS)


async def _by_code(session: AsyncSession, columns: tuple[Any, ...], code: Any, codes: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), _CHUNK):
        for row in await session.execute(select(*columns).where(code.in_(ordered[start:start + _CHUNK]))):
            found[row.code] = row
    return found


def _row_problems(rows: Sequence[QuotaSheetRow], places: dict[str, Any],
                  items: dict[str, Any]) -> list[QuotaSheetProblem]:
    problems: list[QuotaSheetProblem] = []
    first: dict[tuple[int, int], int] = {}
    for r in rows:
        place, item = places.get(r.location_code), items.get(r.item_code)
        if place is None:
            problems.append(QuotaSheetProblem(r.row, "库点编码", r.location_code, f"库点编码 {r.location_code} 不存在"))
        elif place.kind == "bin":
            problems.append(QuotaSheetProblem(r.row, "库点编码", r.location_code,
                                              f"{place.name} 是货位，储备定额请按其所属库点填写"))
        elif not place.active:
            problems.append(QuotaSheetProblem(r.row, "库点编码", r.location_code, f"{place.name} 已停用"))
        if item is None:
            problems.append(QuotaSheetProblem(r.row, "物资编码", r.item_code, f"物资编码 {r.item_code} 不存在"))
        problems.extend(_value_problems(r))
        if place is None or item is None:
            continue
        key = (place.id, item.id)
        if key in first:
            problems.append(QuotaSheetProblem(r.row, "物资编码", r.item_code,
                                              f"{place.name} 的 {item.name} 已在第 {first[key]} 行填写，"
                                              "每个库点每种物资一行"))
        else:
            first[key] = r.row
    return problems


def _value_problems(r: QuotaSheetRow) -> list[QuotaSheetProblem]:
    """A season's days that do not exist, or a season minimum below the ordinary one."""
    problems = []
    for column, text in (("汛期起", r.season_start), ("汛期止", r.season_end)):
        try:
            if text is not None:
                check_month_day(text, field=column)
        except InvalidInput as exc:
            problems.append(QuotaSheetProblem(r.row, column, text or "", exc.detail))
    if r.season_minimum is not None and r.season_minimum < r.minimum:
        problems.append(QuotaSheetProblem(r.row, "汛期最低储备量", str(r.season_minimum),
                                          f"汛期最低储备量 {r.season_minimum} 低于最低储备量 {r.minimum}"))
    if (r.season_start is None, r.season_end is None, r.season_minimum is None).count(True) not in (0, 3):
        problems.append(QuotaSheetProblem(r.row, "汛期最低储备量", "" if r.season_minimum is None else
                                          str(r.season_minimum), "汛期最低储备量、汛期起、汛期止须同时填写或同时留空"))
    return problems


def _season(r: QuotaSheetRow) -> Season | None:
    if r.season_start is None or r.season_end is None or r.season_minimum is None:
        return None
    return Season(start=r.season_start, end=r.season_end, minimum=r.season_minimum)


async def import_quotas(
    session: AsyncSession, rows: Sequence[QuotaSheetRow], problems: Sequence[QuotaSheetProblem], principal: Principal,
    *, problems_omitted: int = 0,
) -> QuotaImportResult:
    """Apply a parsed quota sheet whole (upsert by location and item type), or raise QuotaSheetRejected.

    ``problems`` are what the Excel layer found in the cells (``problems_omitted`` more were only counted); a
    location outside the user's scope is a PermissionDenied, before any problem is answered.
    """
    places = await _by_code(session, (Location.id, Location.code, Location.name, Location.kind, Location.active),
                            Location.code, {r.location_code for r in rows})
    items = await _by_code(session, (ItemType.id, ItemType.code, ItemType.name), ItemType.code,
                           {r.item_code for r in rows})
    for site in sorted({p.id for p in places.values() if p.kind != "bin"}):
        await require_scope(session, principal, site)
    found = sorted([*problems, *_row_problems(rows, places, items)], key=lambda p: p.row)
    if found:
        raise QuotaSheetRejected(found, len(found) + problems_omitted)
    keys = [(places[r.location_code].id, items[r.item_code].id) for r in rows]
    existing: dict[tuple[int, int], ReserveQuota] = {}
    for start in range(0, len(keys), _CHUNK):
        stmt = select(ReserveQuota).where(tuple_(ReserveQuota.location_id, ReserveQuota.item_type_id)
                                          .in_(keys[start:start + _CHUNK]))
        existing.update({(q.location_id, q.item_type_id): q for q in await session.scalars(stmt)})
    result = QuotaImportResult(rows=len(rows), created=0, updated=0, unchanged=0)
    now = utcnow()
    for r, key in zip(rows, keys, strict=True):
        season = _season(r)
        q = existing.get(key)
        if q is None:
            q = ReserveQuota(location_id=key[0], item_type_id=key[1], minimum=r.minimum,
                             warning_margin=r.warning_margin, note=r.note, created_by=principal.username,
                             created_at=now, updated_by=principal.username, updated_at=now)
            set_season(q, season)
            session.add(q)
            result.created += 1
        elif (q.minimum, q.warning_margin, season_of(q), q.note) == (r.minimum, r.warning_margin, season, r.note):
            result.unchanged += 1
        else:
            q.minimum, q.warning_margin, q.note = r.minimum, r.warning_margin, r.note
            set_season(q, season)
            q.updated_by, q.updated_at = principal.username, now
            result.updated += 1
    await session.flush()
    return result
