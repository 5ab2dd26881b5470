"""The one roofline primitive every kernel uses, and the per-kernel result type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.fields import Num


@dataclass(frozen=True)
class KernelCost:
    """Cost of one kernel over a whole decode step (all layers).

    seconds: time it adds on its device (s); energy_j: dynamic energy (J); bound: which limit set
    the time ("compute", "internal_bw", "activation", "command", "link", "memory_bw", "none");
    device: "gpu", "pim", "link" or "host". Arrays when the inputs are grids.
    """

    seconds: Num
    energy_j: Num
    bound: str | np.ndarray
    device: str


def limit(**terms: Num) -> tuple[Num, str | np.ndarray]:
    """Time = the largest of the candidate limits; bound = its name (elementwise for grids).

    Terms are seconds under each limit alone (e.g. compute=..., internal_bw=...); first wins ties.
    """
    names = list(terms)
    values = list(terms.values())
    if not any(np.ndim(v) for v in values):
        best = max(range(len(values)), key=lambda i: (float(values[i]), -i))
        return float(values[best]), names[best]
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(v, dtype=np.float64) for v in values]))
    return stacked.max(axis=0), np.asarray(names)[stacked.argmax(axis=0)]


def zero_like(x: Num) -> Num:
    """A zero of the same shape as x (keeps grids grids)."""
    return 0.0 * x


def scalar_or_array(x: Num) -> Num:
    """Collapse 0-d arrays to float so scalar design points give scalar results."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x)


def empty(device: str) -> KernelCost:
    return KernelCost(seconds=0.0, energy_j=0.0, bound="none", device=device)
