"""Paging by key (``after_id``): the page after a row, in the list's own order, without an OFFSET scan.

``offset`` makes the database read and drop every row before the page, so page 2,000 of a list costs two
thousand pages. ``after_id`` names the last row of the page before (a list answers it as ``next_after_id``),
and the list asks for the rows after it in its own order: a list ordered by id reads an index range from
that id on; a list ordered by other columns first (lots by expiry, alerts by status and severity) reads the
row's sort values and asks for the rows after them, the id breaking ties. Each list fetches one row more than
its page, so it knows whether another page follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, false, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from inventory.errors import InvalidInput

R = TypeVar("R")

Order = Sequence[tuple[ColumnElement[Any] | QueryableAttribute[Any], bool]]
"""A list's order: (expression, descending) pairs, the last one the row's unique id."""


def check_paging(offset: int, after_id: int | None) -> None:
    """``after_id`` and a non-zero ``offset`` together are refused (InvalidInput naming both fields)."""
    if after_id is not None and offset:
        message = ("after_id 与 offset 不能同时使用：按 after_id 翻页时请去掉 offset。"
                   "after_id and offset cannot be combined.")
        raise InvalidInput(message, field="after_id", extra={"errors": [
            {"field": "after_id", "message": message}, {"field": "offset", "message": message}]})


def after_values(order: Order, anchor: Sequence[Any]) -> ColumnElement[bool]:
    """Rows that come after a row whose sort values are ``anchor``, in ``order``.

    The usual lexicographic comparison: equal on the first ``i`` expressions and after on the next. A NULL in
    the anchor compares equal to NULL (``IS NULL``), and nothing comes strictly after it in that expression:
    a list puts NULLs where it wants them by an ``IS NULL`` expression before the column.
    """
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for (expression, descending), value in zip(order, anchor, strict=True):
        if value is not None:
            bound = literal(value)  # a bound value, also for True/False (which SQLAlchemy compares with IS only)
            alternatives.append(and_(*equal, expression < bound if descending else expression > bound))
            equal.append(expression == bound)
        else:
            equal.append(expression.is_(None))
    return or_(*alternatives) if alternatives else false()


async def after_row(session: AsyncSession, order: Order, after_id: int | None) -> ColumnElement[bool]:
    """The condition for the rows after row ``after_id`` in ``order`` (no condition when it is None).

    Ordered by the id alone, that is ``id > after_id`` (``<`` descending), which needs no read. Otherwise the
    row's sort values are read first (one lookup by primary key); an ``after_id`` that names no row at all is
    an InvalidInput naming it.
    """
    if after_id is None:
        return true()
    id_column, descending = order[-1]
    if len(order) == 1:
        return id_column < after_id if descending else id_column > after_id
    anchor = (await session.execute(select(*(e for e, _ in order)).where(id_column == after_id))).first()
    if anchor is None:
        raise InvalidInput(f"after_id {after_id} 不存在（应为上一页的 next_after_id）", field="after_id")
    return after_values(order, tuple(anchor))


def order_by(order: Order) -> list[ColumnElement[Any]]:
    """The ORDER BY clauses of ``order``."""
    return [e.desc() if descending else e.asc() for e, descending in order]


def page_rows(rows: Sequence[R], limit: int, key: Callable[[R], int]) -> tuple[list[R], int | None]:
    """Of up to ``limit + 1`` rows fetched, the page's ``limit`` and the key of its last row when more follow."""
    if len(rows) > limit:
        return list(rows[:limit]), key(rows[limit - 1])
    return list(rows), None
