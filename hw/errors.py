"""The one error type (spec.SpecError, re-exported) and the last guard on a result's numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spec.errors import SpecError

if TYPE_CHECKING:
    from hw.cost import Cost

__all__ = ["SpecError", "check_result"]


def check_result(cost: Cost) -> Cost:
    """`cost` unchanged if latency, energy, KV bytes and every kernel's seconds and energy are
    finite and >= 0; else SpecError naming the first result that is not. The input bounds keep
    this from happening; it stops a number outside the model's range from reaching a result file."""
    results = {"latency_s": cost.latency_s, "energy_j": cost.energy_j, "kv_bytes": cost.kv_bytes}
    for name, kernel in cost.kernels.items():
        results |= {f"kernels.{name}.seconds": kernel.seconds, f"kernels.{name}.energy_j": kernel.energy_j}
    for name, value in results.items():
        x = _distinct(np.asarray(value, dtype=np.float64))
        # Two reductions, no temporaries (grids of 10^6 points); NaN fails both comparisons.
        if x.size and not (x.min() >= 0 and x.max() < np.inf):
            bad = ~(np.isfinite(x) & (x >= 0))
            first = x.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])].item()
            raise SpecError(
                f"result.{name}",
                first,
                "not a finite non-negative number: the inputs are outside the modelled range",
            )
    return cost


def _distinct(x: np.ndarray) -> np.ndarray:
    """`x` without its broadcast (zero-stride) axes: the same values, each read once."""
    return x[tuple(0 if stride == 0 else slice(None) for stride in x.strides)]
