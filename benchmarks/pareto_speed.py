"""Seconds to filter and to take the exact hypervolume of large Pareto fronts (run alone: timings are
shared-CPU sensitive).

    .venv/bin/python benchmarks/pareto_speed.py                       # 5,000 points, 3 and 4 objectives
    .venv/bin/python benchmarks/pareto_speed.py --points 5000 --budget 20

The front: `--points` points on the positive unit sphere (every one non-dominated), reference point
1.1 in every objective. Methods:

- `dse.search.pareto`: the project's functions (moocore since this benchmark was written);
- `optuna`: Optuna's own routines (private API: optuna._hypervolume, optuna.study._multi_objective);
- `handwritten`: the numpy filter and pure-Python slicing (HSO) hypervolume dse/search/pareto.py had
  before, kept here as the baseline.

Each hypervolume runs on a doubling ladder of fronts (`--start`, 2 x start, ...) up to `--points`; a
method whose run exceeds `--budget` seconds stops there, and its `--points` row is extrapolated
(marked `~`, seconds) by the power law through its last two runs.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
from optuna._hypervolume import compute_hypervolume
from optuna.study._multi_objective import _is_pareto_front

from dse.search.pareto import hypervolume, nondominated_mask

REFERENCE = 1.1


def sphere_front(n: int, d: int, seed: int = 0) -> np.ndarray:
    """`n` points with ||x|| = 1, x >= 0: none dominates another (a smaller point has a smaller norm)."""
    x = np.abs(np.random.default_rng(seed).normal(size=(n, d)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def handwritten_mask(points: np.ndarray) -> np.ndarray:
    """The former dse.search.pareto.nondominated_mask (numpy, O(n^2) row comparisons)."""
    mask = np.ones(len(points), dtype=bool)
    for i in range(len(points)):
        if not mask[i]:
            continue
        if np.any(np.all(points <= points[i], axis=1) & np.any(points < points[i], axis=1)):
            mask[i] = False
            continue
        mask &= ~(np.all(points[i] <= points, axis=1) & np.any(points[i] < points, axis=1))
    return mask


def handwritten_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """The former exact hypervolume: slicing along the last objective (HSO), pure Python."""
    pts = points[np.all(points < ref, axis=1)]
    return _hso(np.unique(pts[handwritten_mask(pts)], axis=0), ref) if len(pts) else 0.0


def _hso(pts: np.ndarray, ref: np.ndarray) -> float:
    if pts.shape[1] == 2:
        volume, best_y = 0.0, ref[1]
        for x, y in pts[np.argsort(pts[:, 0])]:
            if y < best_y:
                volume, best_y = volume + (ref[0] - x) * (best_y - y), y
        return volume
    pts = pts[np.argsort(pts[:, -1])]
    volume = 0.0
    for i in range(len(pts)):
        upper = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        if upper > pts[i, -1]:
            slab = pts[: i + 1, :-1]
            volume += (upper - pts[i, -1]) * _hso(slab[handwritten_mask(slab)], ref[:-1])
    return volume


METHODS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], float]]] = {
    "dse.search.pareto": (nondominated_mask, hypervolume),
    "optuna": (lambda p: _is_pareto_front(p, assume_unique_lexsorted=False), compute_hypervolume),
    "handwritten": (handwritten_mask, handwritten_hypervolume),
}


def seconds(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


Row = tuple[str, str, int, int, str, str]


def filter_row(method: str, n: int, d: int) -> Row:
    pts = sphere_front(n, d)
    t, mask = seconds(lambda: METHODS[method][0](pts))
    assert np.all(mask), f"{method}: a point of the sphere front was filtered out"
    return (method, "filter", n, d, f"{t:.4f}", "")


def hypervolume_rows(method: str, n: int, d: int, start: int, budget: float) -> list[Row]:
    """The hypervolume at `n` points, or, when a run on the ladder `start`, 2 x start, ... points
    (its second or later) exceeds `budget` seconds first, that run and `n` extrapolated (`~`)."""
    sizes = [start * 2**k for k in range(max(1, math.ceil(math.log2(n / start))))] + [n]
    measured: list[tuple[int, float]] = []
    out: list[Row] = []
    for size in sorted(set(sizes)):
        pts, ref = sphere_front(size, d), np.full(d, REFERENCE)
        t, hv = seconds(lambda pts=pts, ref=ref: METHODS[method][1](pts, ref))
        measured.append((size, t))
        stop = t > budget and len(measured) >= 2
        if size == n or stop:
            out.append((method, "hypervolume", size, d, f"{t:.4f}", f"{hv:.6f}"))
        if stop and size < n:
            return [*out, (method, "hypervolume", n, d, f"~{extrapolated(measured, n):.0f}", "")]
    return out


def extrapolated(measured: Sequence[tuple[int, float]], n: int) -> float:
    """Seconds at `n` from the power law through the last two measured (points, seconds)."""
    (n1, t1), (n2, t2) = measured[-2:]
    return t2 * (n / n2) ** (math.log(t2 / t1) / math.log(n2 / n1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--objectives", type=int, nargs="+", default=[3, 4])
    ap.add_argument("--start", type=int, default=100, help="smallest front of the doubling ladder")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds after which a method's ladder stops")
    args = ap.parse_args()
    hypervolume(sphere_front(10, 3), [REFERENCE] * 3)  # load moocore's compiled library once
    print("| method | task | points | objectives | seconds | hypervolume |\n|---|---|---|---|---|---|")
    for d in args.objectives:
        for method in METHODS:
            table = [filter_row(method, args.points, d)]
            table += hypervolume_rows(method, args.points, d, args.start, args.budget)
            for row in table:
                print("| " + " | ".join(str(c) for c in row) + " |", flush=True)


if __name__ == "__main__":
    main()
