"""Every source of alerts, in the order they run; a new capability adds its ``SOURCES`` here."""

from __future__ import annotations

from typing import Final

from inventory.alerts import duty_kinds, stock_kinds, upkeep_kinds
from inventory.alerts.kinds import KINDS, Source

SOURCES: Final[tuple[Source, ...]] = (*stock_kinds.SOURCES, *upkeep_kinds.SOURCES, *duty_kinds.SOURCES)

_owned = [kind for source in SOURCES for kind in source.kinds]
assert sorted(_owned) == sorted(KINDS), "every kind has exactly one source"
