"""A phone form's ``occurred_at``: when the action really happened (a paper note from a day without a phone).

The field is the ``occurred_at_field`` macro of ``api/templates/_occurred_at.html`` (a ``datetime-local`` input,
北京时间). Empty means now; a time without an offset is Beijing time; the service refuses a time in the future
(:func:`inventory.stock.documents.occurred_at_or_now`, 422 on ``occurred_at``).
"""

from __future__ import annotations

import datetime as dt

from inventory.clock import BEIJING
from inventory.errors import InvalidInput
from inventory.schemas import EARLIEST_YEAR, LATEST_YEAR, time_in_range

FIELD = "occurred_at"


def form_occurred_at(form: dict[str, list[str]]) -> dt.datetime | None:
    """The form's ``occurred_at`` as an aware time (None when empty); InvalidInput naming the field otherwise."""
    raw = (form.get(FIELD) or [""])[0].strip()
    if not raw:
        return None
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"实际发生时间须为日期和时间（如 2026-06-30T14:30），收到“{raw[:30]}”",
                           field=FIELD) from None
    if not time_in_range(when):
        raise InvalidInput(f"实际发生时间须在 {EARLIEST_YEAR} 年至 {LATEST_YEAR} 年之间，收到“{raw[:30]}”",
                           field=FIELD)
    return when if when.tzinfo else when.replace(tzinfo=BEIJING)
