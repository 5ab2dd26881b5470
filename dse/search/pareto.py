"""Pareto dominance and hypervolume on objective matrices (rows: points, columns: objectives).

Everything is converted to minimisation first (maximised columns are negated), so "dominates"
means "no worse in every column and better in at least one". The filter and the exact hypervolume
are moocore's (compiled, O(n log n) in 2-3 objectives, HV4D+ in 4; benchmarks/pareto_speed.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
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
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    return moocore.is_nondominated(points.reshape(len(points), -1), keep_weakly=True)


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Volume dominated by `points` (minimised) and bounded by `reference`, in the product unit.

    Points not strictly better than the reference in every column add nothing.
    """
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    return float(moocore.hypervolume(pts, ref=ref))


def reference_point(points: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """A reference point just worse than the worst of `points` (minimised) in every column.

    The margin is a fraction of each column's range (or of its magnitude when the range is 0), so
    extreme points still add volume.
    """
    pts = np.asarray(points, dtype=float)
    worst, best = pts.max(axis=0), pts.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return worst + margin * span
