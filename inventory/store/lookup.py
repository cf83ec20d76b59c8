"""Reading one row or refusing: the lookups behind every ``get_X`` that answers "… 不存在".

A missing thing is a NotFound ("用户 id=3 不存在"), or, when its id came in a request body, an InvalidInput
naming that field (a 422 on the field rather than a 404 for the whole request).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import InvalidInput, NotFound

T = TypeVar("T")


def not_found(what: str, *, field: str | None = None, input_field: str | None = None) -> NotFound | InvalidInput:
    """The error for a missing ``what`` (e.g. "地点 id=3"): "<what> 不存在".

    NotFound (with ``field``, if given), or InvalidInput naming ``input_field`` when that is given.
    """
    detail = f"{what} 不存在"
    if input_field:
        return InvalidInput(detail, field=input_field)
    return NotFound(detail, field=field)


async def get_or_not_found(session: AsyncSession, model: type[T], key: Any, what: str, *,
                           field: str | None = None, input_field: str | None = None) -> T:
    """The ``model`` row with primary key ``key`` (``session.get``), else raise :func:`not_found`."""
    row = await session.get(model, key)
    if row is None:
        raise not_found(what, field=field, input_field=input_field)
    return row


async def scalar_or_not_found(session: AsyncSession, stmt: Select[T], what: str, *,
                              field: str | None = None, input_field: str | None = None) -> T:
    """The first row of a one-entity select (``session.scalar``), else raise :func:`not_found`."""
    row = await session.scalar(stmt)
    if row is None:
        raise not_found(what, field=field, input_field=input_field)
    return row
