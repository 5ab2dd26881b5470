"""The one roofline primitive every kernel uses, and the per-kernel result type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hw.energy import Parts, scale, total_j
from hw.fields import Num

BOUNDS = ("compute", "internal_bw", "activation", "command", "link", "memory_bw", "hidden", "none")
"""What can set a kernel's time; kernels carry the index (small ints are cheap on 10^6-point grids)."""
BOUND = {name: i for i, name in enumerate(BOUNDS)}
_BOUND_NAMES = np.asarray(BOUNDS)


@dataclass(frozen=True)
class KernelCost:
    """Cost of one kernel over a whole decode step (all layers).

    seconds: time it adds on its device (s); energy_j: dynamic energy (J); bound_code: index into
    BOUNDS of the limit that set the time (read it as `bound`); device: "gpu", "pim", "xbar" or
    "link"; energy_parts: energy_j split by component (J, keys from hw.energy.COMPONENTS), None
    when it is not split (then all of it is reported under the device's name). Arrays when the
    inputs are grids. Build split kernels with `KernelCost.of`, which keeps energy_j their sum.

    Where the kernel sits on its device's roofline (hw.roofs): flops, the floating-point operations
    behind `seconds` (a MAC is 2, an add, compare or exp 1); bytes, the bytes it moves through the
    path its bound refers to: DRAM cells for PIM kernels (reads and writes through the PEs; for the
    bank <-> buffer-die moves, the bytes on that bus), the device's own memory for GPU kernels, the
    bytes on the link for transfers. Work hidden under other kernels (prefill k-means under the GPU
    prefill, softmax under the probability broadcast) counts only for its exposed share, so flops /
    seconds is the rate the device ran at while the kernel showed.
    """

    seconds: Num
    energy_j: Num
    bound_code: int | np.ndarray
    device: str
    energy_parts: Mapping[str, Num] | None = None
    flops: Num = 0.0
    bytes: Num = 0.0

    @classmethod
    def of(
        cls,
        seconds: Num,
        parts: Parts,
        bound_code: int | np.ndarray,
        device: str,
        *,
        flops: Num = 0.0,
        bytes: Num = 0.0,
    ) -> KernelCost:
        """A kernel whose energy is given by component; energy_j is their sum."""
        return cls(seconds, total_j(parts), bound_code, device, parts, flops, bytes)

    def spread_over(self, count: Num) -> KernelCost:
        """This one-off work amortised over `count` steps: its time, energy and work per step."""
        parts = None if self.energy_parts is None else scale(self.energy_parts, 1.0 / count)
        return KernelCost(
            seconds=self.seconds / count,
            energy_j=self.energy_j / count if parts is None else total_j(parts),
            bound_code=self.bound_code,
            device=self.device,
            energy_parts=parts,
            flops=self.flops / count,
            bytes=self.bytes / count,
        )

    @property
    def energy_components(self) -> Mapping[str, Num]:
        """Energy by component (J); an unsplit kernel's energy sits under its device's name."""
        return self.energy_parts if self.energy_parts is not None else {self.device: self.energy_j}

    @property
    def bound(self) -> str | np.ndarray:
        """The limit that set the time: "compute", "internal_bw", "activation", "command", "link",
        "memory_bw", "hidden" (amortised work hidden under other work) or "none"."""
        if np.ndim(self.bound_code) == 0:
            return BOUNDS[int(self.bound_code)]
        return _BOUND_NAMES[self.bound_code]


@dataclass(frozen=True)
class DeviceRoof:
    """A device's roofline: peak_flops, its peak compute (FLOP/s); bw_bytes_per_s, the bandwidth its
    kernels' `bytes` cross (B/s; 0 for a device that reads no memory, e.g. a weight-stationary
    crossbar). A kernel on it attains at most min(peak_flops, bw_bytes_per_s x flops / bytes)."""

    peak_flops: Num
    bw_bytes_per_s: Num


def limit(**terms: Num) -> tuple[Num, int | np.ndarray]:
    """Time = the largest of the candidate limits; bound code = its BOUND index (elementwise for grids).

    Terms are seconds under each limit alone (e.g. compute=..., memory_bw=...); the first wins ties.
    """
    items = list(terms.items())
    name, seconds = items[0]
    code: int | np.ndarray = BOUND[name]
    for name, value in items[1:]:
        if np.ndim(value) or np.ndim(seconds):
            code = np.where(value > seconds, np.uint8(BOUND[name]), np.asarray(code, dtype=np.uint8))
        elif value > seconds:
            code = BOUND[name]
        seconds = np.maximum(seconds, value)
    return (float(seconds) if np.ndim(seconds) == 0 else seconds), code


def exposed_share(exposed_s: Num, busy_s: Num) -> Num:
    """Share of work taking `busy_s` that runs in its `exposed_s` shown seconds (1 when nothing is hidden)."""
    return np.minimum(1.0, exposed_s / np.maximum(busy_s, np.finfo(float).tiny))


def scalar_or_array(x: Num) -> Num:
    """Collapse 0-d arrays to float so scalar design points give scalar results."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x)


def where_bound(condition: Num | bool, if_true: str, otherwise: int | np.ndarray) -> int | np.ndarray:
    """Bound code `if_true` where `condition` holds, else `otherwise` (scalars stay ints)."""
    if np.ndim(condition) == 0 and np.ndim(otherwise) == 0:
        return BOUND[if_true] if condition else int(otherwise)
    return np.where(condition, np.uint8(BOUND[if_true]), np.asarray(otherwise, dtype=np.uint8))
