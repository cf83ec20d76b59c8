"""Published test instances read into ``Instance``: OR-Library p-median graphs and AILS-MCLP covering files.

Used by ``bench/placement.py`` and the unit tests; the formats are described in
``bench/data/placement/SOURCE.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inventory.placement.problem import FloatArray, Instance

EARTH_RADIUS_M = 6378100


def read_pmed(path: Path) -> tuple[Instance, int]:
    """An OR-Library ``pmedN.txt``: the all-pairs shortest-path instance (every node a point and a site) and p.

    The graph is undirected; where an edge is listed twice the later line wins (that yields the published optima).
    """
    lines = path.read_text().split("\n")
    n, m, p = (int(v) for v in lines[0].split())
    d = np.full((n, n), np.inf)
    for line in lines[1:1 + m]:
        i, j, cost = (int(v) for v in line.split())
        d[i - 1, j - 1] = d[j - 1, i - 1] = cost
    np.fill_diagonal(d, 0.0)
    for k in range(n):  # Floyd–Warshall, one pivot a step
        np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :], out=d)
    ids = tuple(str(v) for v in range(1, n + 1))
    return Instance(point_ids=ids, weights=np.ones(n), site_ids=ids, minutes=d), p


def read_pmed_optima(path: Path) -> dict[str, float]:
    """``pmedopt.txt``: instance name → proven optimal objective."""
    optima: dict[str, float] = {}
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2:
            optima[parts[0]] = float(parts[1])
    return optima


def read_mclp(path: Path) -> tuple[str, FloatArray, FloatArray]:
    """An AILS-MCLP file: its edge-weight type, the coordinates (n × 2) and the demands (n)."""
    kind = ""
    coords: list[tuple[float, float]] = []
    demand: list[float] = []
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        key = line.split(":")[0].strip()
        if key in ("NODE_COORD_SECTION", "DEMAND_SECTION", "EOF"):
            section = key
        elif key == "EDGE_WEIGHT_TYPE":
            kind = line.split(":")[1].strip()
        elif section == "NODE_COORD_SECTION" and line:
            x, y = line.split()[:2]
            coords.append((float(x), float(y)))
        elif section == "DEMAND_SECTION" and line:
            demand.append(float(line.split()[0]))
    return kind, np.array(coords, dtype=np.float64), np.array(demand, dtype=np.float64)


def mclp_distances(kind: str, coords: FloatArray) -> FloatArray:
    """Distances as the AILS-MCLP code computes them, so that ``d ≤ radius`` decides coverage as it did.

    ``COORD``: latitude/longitude in degrees, the spherical law of cosines in double precision, cast to single
    precision, then × 6,378,100 in single precision (NaN, never covered, where rounding leaves acos's domain).
    Anything else: planar Euclidean, computed in double and cast to single. The diagonal is 0.
    """
    if kind == "COORD":
        lat = coords[:, 0] * 0.017453292519943295
        lon = coords[:, 1]
        dlon = (lon[None, :] - lon[:, None]) * 0.017453292519943295
        cos_lat = np.cos(lat)
        sin_lat = np.sin(lat)
        arg = (cos_lat[:, None] * cos_lat[None, :]) * np.cos(dlon) + sin_lat[:, None] * sin_lat[None, :]
        with np.errstate(invalid="ignore"):
            angle = np.arccos(arg).astype(np.float32)
        d32 = angle * np.float32(EARTH_RADIUS_M)
    else:
        dx = coords[:, 0][:, None] - coords[:, 0][None, :]
        dy = coords[:, 1][:, None] - coords[:, 1][None, :]
        d32 = np.sqrt(dx * dx + dy * dy).astype(np.float32)
    d = d32.astype(np.float64)
    np.fill_diagonal(d, 0.0)
    return np.where(np.isnan(d), np.inf, d)


def read_mclp_instance(path: Path) -> Instance:
    """An AILS-MCLP file as an ``Instance`` whose ``minutes`` are metres (points are also the sites)."""
    kind, coords, demand = read_mclp(path)
    ids = tuple(str(v) for v in range(len(demand)))
    return Instance(point_ids=ids, weights=demand, site_ids=ids, minutes=mclp_distances(kind, coords))


def read_mclp_best(path: Path) -> tuple[float, tuple[int, ...]]:
    """A ``<name>_<p>_<radius>.txt`` file: the best known covered demand (``f:``) and its sites (0-based)."""
    best = 0.0
    sites: tuple[int, ...] = ()
    for line in path.read_text().splitlines():
        if line.startswith("f:"):
            best = float(line.split(":")[1])
        elif ":" in line:
            sites = tuple(int(v) for v in line.split(":")[1].split())
    return best, sites
