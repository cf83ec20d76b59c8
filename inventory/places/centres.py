"""Published region centres of 江西省 (GCJ-02, as the source gives them), read once from the package data.

``data/jiangxi-centres-gcj02.csv`` (see ``data/SOURCE.md``) holds the province, prefectures and counties by
12-digit adcode. Township centres are not published: callers fall back to the county's.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType


@cache
def centres_gcj02() -> Mapping[str, tuple[float, float]]:
    """GCJ-02 (lat, lon) by 12-digit adcode (``360000000000``, ``360100000000``, ``360121000000``); read once."""
    path = resources.files("inventory.places") / "data" / "jiangxi-centres-gcj02.csv"
    with path.open(encoding="utf-8") as fh:
        return MappingProxyType({r["adcode"]: (float(r["latitude"]), float(r["longitude"]))
                                 for r in csv.DictReader(fh)})
