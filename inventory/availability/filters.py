"""Filters of an availability question that name nothing in the catalogue are refused, not answered "none".

``category=pum`` or ``attr=flwo_m3h>=300`` matches no item type, and an answer with no sources reads as
"no pumps available" to a commander. Such a filter is an :class:`InvalidInput` naming the value and
listing the known ones instead:

* a **tag** is known when it is one of the fixed ``TAGS`` (:mod:`inventory.catalog.rules`);
* a **category** is known when some item type has it (categories are free text, so the catalogue is
  the only list; inactive item types count, as the matching itself reads them);
* an **attribute name** is known when some item type has that attribute (names outside
  ``KNOWN_ATTRIBUTES`` are allowed in the catalogue, and a well-known name no item type carries would
  match nothing either).

The catalogue is asked only when nothing matched: if any item type matched, every filter named something
that exists. A question that finds something pays nothing; one that finds nothing pays one small
statement of index lookups (``ix_item_types_category``, ``ix_item_type_attributes_name_num``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.rules import CATEGORY_LABELS_ZH, KNOWN_ATTRIBUTES, TAG_LABELS_ZH, TAGS, parse_attr_filter
from inventory.errors import InvalidInput
from inventory.store.db import Reader, raw_sqlite, reader_dialect, sqlite_text
from inventory.store.models import ItemType, ItemTypeAttribute
from inventory.store.sqlite_inline import InlineConnection

MAX_LISTED: Final = 30
"""Known values listed in a message at most (the rest are counted)."""
_CATEGORIES: Final = select(ItemType.category).distinct().order_by(ItemType.category)
_ATTRIBUTE_NAMES: Final = select(ItemTypeAttribute.name).distinct().order_by(ItemTypeAttribute.name)


async def fetch_rows(reader: Reader, stmt: Select[*tuple[Any, ...]]) -> Sequence[Any]:
    """The rows of a statement built once (cached by its maker); on SQLite run on its connection itself.

    A :meth:`~inventory.store.db.Database.heavy_read` session on SQLite has an aiosqlite connection (its
    statements run in a worker thread): the statement goes through the session there.
    """
    rows: Sequence[Any]
    if reader_dialect(reader) == "sqlite" and isinstance(raw := await raw_sqlite(reader), InlineConnection):
        sql, params = sqlite_text(stmt)
        rows = raw.fetchall(sql, params)
    else:
        rows = (await (await cast(AsyncSession, reader).connection()).execute(stmt)).all()
    return rows


def _choices(values: Iterable[str], labels: dict[str, str]) -> str:
    """``a（甲）、b、c…`` for a message, at most MAX_LISTED of them."""
    shown = [f"{v}（{labels[v]}）" if v in labels else v for v in values]
    if not shown:
        return "（物资目录中还没有）"
    more = f" 等共 {len(shown)} 项" if len(shown) > MAX_LISTED else ""
    return "、".join(shown[:MAX_LISTED]) + more


def check_tag(tag: str | None) -> None:
    """Raise InvalidInput(field="tag") for a tag outside TAGS, listing them."""
    if tag and tag not in TAGS:
        message = f"未知的能力标签 tag：“{tag}”，可选：{_choices(TAGS, TAG_LABELS_ZH)}。Unknown tag."
        raise InvalidInput(message, field="tag")


@lru_cache(maxsize=256)
def _present_statement(category: str | None, names: tuple[str, ...]) -> Select[*tuple[Any, ...]]:
    """One row: whether some item type has ``category`` (if given), then per name whether one has that attribute."""
    columns: list[ColumnElement[bool]] = []
    if category:
        columns.append(exists().where(ItemType.category == category))
    columns.extend(exists().where(ItemTypeAttribute.name == name) for name in names)
    return select(*columns)


async def refuse_unknown_filters(reader: Reader, *, category: str | None, attrs: Sequence[str]) -> None:
    """Raise InvalidInput when ``category`` or an attribute name of ``attrs`` is one no item type has.

    For a question that matched nothing (see the module doc); every unknown value is named in ``errors``.
    """
    texts: dict[str, str] = {}
    for text in attrs:
        texts.setdefault(parse_attr_filter(text).name, text)
    if not category and not texts:
        return
    present = list((await fetch_rows(reader, _present_statement(category or None, tuple(texts))))[0])
    errors: list[dict[str, str]] = []
    if category and not present.pop(0):
        known = [row[0] for row in await fetch_rows(reader, _CATEGORIES)]
        errors.append({"field": "category", "message": (
            f"未知的物资类别 category：“{category}”，物资目录中没有这一类别的品目。"
            f"可选：{_choices(known, CATEGORY_LABELS_ZH)}。Unknown category.")})
    unknown = [name for name, found in zip(texts, present, strict=True) if not found]
    if unknown:
        labels = {name: spec.label_zh for name, spec in KNOWN_ATTRIBUTES.items()}
        choices = _choices([row[0] for row in await fetch_rows(reader, _ATTRIBUTE_NAMES)], labels)
        errors.extend({"field": "attr", "message": (
            f"未知的属性 attr：“{name}”（{texts[name]}），物资目录中没有品目带这一属性。可选：{choices}。"
            "Unknown attribute.")} for name in unknown)
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors), field=errors[0]["field"],
                           extra={"errors": errors})
