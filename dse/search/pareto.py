"""Pareto dominance and hypervolume on objective matrices (rows: points, columns: objectives).

Everything is converted to minimisation first (maximised columns are negated), so "dominates"
means "no worse in every column and better in at least one".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_minimization(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """A float copy of `values` with every `maximize` column negated."""
    values = np.asarray(values, dtype=float)
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return values * signs


def nondominated_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of `points` (minimised) that no other row dominates.

    Duplicated rows are all kept: neither dominates the other.
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        if not mask[i]:
            continue
        no_worse = np.all(points <= points[i], axis=1)
        better = np.any(points < points[i], axis=1)
        if np.any(no_worse & better):
            mask[i] = False
            continue
        # Point i survives; drop everything it dominates so later checks are cheaper.
        dominated = np.all(points[i] <= points, axis=1) & np.any(points[i] < points, axis=1)
        mask &= ~dominated
    return mask


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Volume dominated by `points` (minimised) and bounded by `reference`, in the product unit.

    Points not strictly better than the reference in every column add nothing. Exact, by slicing
    along the last objective (HSO); fine for the front sizes of a sweep (hundreds of points).
    """
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[nondominated_mask(pts)]
    return _hso(np.unique(pts, axis=0), ref)


def _hso(pts: np.ndarray, ref: np.ndarray) -> float:
    if pts.shape[1] == 1:
        return float(ref[0] - pts[:, 0].min())
    if pts.shape[1] == 2:
        order = np.argsort(pts[:, 0])
        volume, best_y = 0.0, ref[1]
        for x, y in pts[order]:
            if y < best_y:
                volume += (ref[0] - x) * (best_y - y)
                best_y = y
        return float(volume)
    order = np.argsort(pts[:, -1])
    pts = pts[order]
    volume = 0.0
    for i in range(len(pts)):
        upper = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        depth = upper - pts[i, -1]
        if depth <= 0:
            continue
        slab = pts[: i + 1, :-1]
        slab = slab[nondominated_mask(slab)]
        volume += depth * _hso(slab, ref[:-1])
    return float(volume)


def reference_point(points: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """A reference point just worse than the worst of `points` (minimised) in every column.

    The margin is a fraction of each column's range (or of its magnitude when the range is 0), so
    extreme points still add volume.
    """
    pts = np.asarray(points, dtype=float)
    worst, best = pts.max(axis=0), pts.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return worst + margin * span
