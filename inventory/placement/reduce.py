"""Shrink a covering instance without changing its optimum: drop, merge and dominate.

* Points that no site covers are dropped (no choice covers them).
* Points whose sets of covering sites are identical become one point with the summed weight.
* A site whose set of covered points is contained in another's is dominated. When p is below the number of
  undominated sites, some optimal choice uses undominated sites only (swap a dominated site for its dominator,
  or, if that is already chosen, for any unchosen undominated site), so the others are dropped. When p is at
  least that number, choosing all of them covers every coverable point: the instance is solved outright.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inventory.placement.problem import FloatArray

BoolMatrix = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ReducedCover:
    """``cover`` (kept sites × merged points) with merged ``weights``; ``sites`` and ``groups`` map back."""

    cover: BoolMatrix
    weights: FloatArray
    sites: IndexArray  # original index of each kept site
    groups: IndexArray  # for each original point: its merged point, or −1 if no site covers it
    undominated: IndexArray  # original indices of the undominated sites (all sites if dominance was not applied)
    solved: bool  # p ≥ number of undominated sites: choosing those covers everything coverable


def merge_points(cover: BoolMatrix, weights: FloatArray) -> tuple[BoolMatrix, FloatArray, IndexArray]:
    """One column per distinct set of covering sites, weights summed; the column of each original point."""
    packed = np.packbits(cover, axis=0).T  # one row of bytes per point
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    merged = np.bincount(inverse, weights=weights, minlength=len(first)).astype(np.float64)
    return cover[:, first], merged, inverse.astype(np.int64)


def undominated_sites(cover: BoolMatrix) -> IndexArray:
    """Sites whose covered set is contained in no other site's (of equal sets, the first is kept)."""
    m = cover.shape[0]
    size = cover.sum(axis=1)
    by_point = cover.sum(axis=0)
    keep = np.ones(m, dtype=bool)
    for j in range(m):
        points = np.flatnonzero(cover[j])
        if len(points) == 0:  # covers nothing: any other site dominates it
            keep[j] = False
            continue
        rare = points[np.argmin(by_point[points])]
        candidates = np.flatnonzero(cover[:, rare])
        candidates = candidates[candidates != j]
        if len(candidates) == 0:
            continue
        contains = cover[np.ix_(candidates, points)].all(axis=1)
        bigger = (size[candidates] > size[j]) | ((size[candidates] == size[j]) & (candidates < j))
        if np.any(contains & bigger):
            keep[j] = False
    if not keep.any():
        keep[0] = True
    return np.flatnonzero(keep).astype(np.int64)


def reduce_cover(cover: BoolMatrix, weights: FloatArray, p: int) -> ReducedCover:
    """Drop uncoverable points, merge identical points, drop dominated sites when that is safe, merge again."""
    coverable = cover.any(axis=0)
    base = np.flatnonzero(coverable)
    sub, merged_w, inverse = merge_points(cover[:, base], weights[base])
    undominated = undominated_sites(sub)
    groups = np.full(cover.shape[1], -1, dtype=np.int64)
    if p >= len(undominated):
        groups[base] = inverse
        return ReducedCover(sub, merged_w, np.arange(cover.shape[0], dtype=np.int64), groups, undominated, True)
    sub2, merged_w2, inverse2 = merge_points(sub[undominated], merged_w)
    groups[base] = inverse2[inverse]
    return ReducedCover(sub2, merged_w2, undominated, groups, undominated, False)
