"""The result of costing a design point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hw.energy import COMPONENTS
from hw.fields import Num
from hw.roofline import DeviceRoof, KernelCost


@dataclass(frozen=True)
class Cost:
    """Decode-step cost of a design point (arrays when the inputs are grids).

    latency_s: one decode step (s); energy_j: per decode step (J), dynamic plus static power over the
    step; kv_bytes: KV footprint of the batch; kv_bytes_split: codes / codebooks / full_precision;
    fits: KV plus everything else resident there fits the KV's home memory; spill_bytes: KV that
    does not fit and is read from host memory instead; max_context_tokens: the largest context
    that fits; kernels: per-kernel cost with its bound and device; pim_capacity_bytes: PIM memory
    left after the PE logic's area cost (area model; 0 without PIM); pe_area_mm2: PE logic area on
    the DRAM core dies, all stacks; static_energy_j: the static-power part of energy_j (J);
    tokens_per_step: tokens one decode step produces (the batch); fits_by: each check `fits` ANDs
    ("kv", "weights", "xbar_tiles" with a crossbar); area_mm2_by_device: modelled logic area (mm2)
    of "pim_pe", "xbar", "systolic" where present; xbar_tiles_needed, xbar_tiles: crossbar tiles
    the mapped weights need and the tiles provisioned (0 without a crossbar); devices: the roofline
    roof of each device a kernel runs on (hw.roofs; kernels carry their flops and bytes).
    """

    latency_s: Num
    energy_j: Num
    kv_bytes: Num
    kv_bytes_split: dict[str, Num]
    fits: bool | np.ndarray
    spill_bytes: Num
    max_context_tokens: Num
    kernels: dict[str, KernelCost]
    pim_capacity_bytes: Num
    pe_area_mm2: Num
    static_energy_j: Num = 0.0
    tokens_per_step: Num = 1.0
    fits_by: dict[str, bool | np.ndarray] = field(default_factory=dict)
    area_mm2_by_device: dict[str, Num] = field(default_factory=dict)
    xbar_tiles_needed: Num = 0.0
    xbar_tiles: Num = 0.0
    devices: dict[str, DeviceRoof] = field(default_factory=dict)

    @property
    def power_w(self) -> Num:
        """Average power over the decode step (W)."""
        return self.energy_j / self.latency_s

    @property
    def tokens_per_s(self) -> Num:
        """Decode throughput: tokens a step produces over its latency (tokens/s)."""
        return self.tokens_per_step / self.latency_s

    @property
    def tokens_per_j(self) -> Num:
        """Decode energy efficiency: tokens a step produces per joule (tokens/J)."""
        return self.tokens_per_step / self.energy_j

    @property
    def area_mm2(self) -> Num:
        """Modelled logic area of all devices (mm2; 0 when none is modelled)."""
        return sum(self.area_mm2_by_device.values(), start=0.0)

    @property
    def fits_reason(self) -> str:
        """Why a scalar point does not fit: the failed checks of `fits_by`, "" when it fits."""
        detail = {"xbar_tiles": f" ({self.xbar_tiles_needed:.0f} needed, {self.xbar_tiles:.0f} provisioned)"}
        failed = [name for name, ok in self.fits_by.items() if not bool(ok)]
        return ", ".join(f"{name}: over capacity{detail.get(name, '')}" for name in failed)

    @property
    def energy_by_device(self) -> dict[str, Num]:
        """Dynamic energy per device ("gpu", "pim", "xbar", "link"), J per step."""
        out: dict[str, Num] = {}
        for k in self.kernels.values():
            out[k.device] = out.get(k.device, 0.0) + k.energy_j
        return out

    @property
    def energy_by_component(self) -> dict[str, Num]:
        """energy_j split by component (J per step): every key of hw.energy.COMPONENTS, zero where
        unused, plus a device name for kernels whose energy is not split; the values sum to energy_j."""
        out: dict[str, Num] = dict.fromkeys(COMPONENTS, 0.0)
        for k in self.kernels.values():
            for name, joules in k.energy_components.items():
                out[name] = out.get(name, 0.0) + joules
        out["static"] = out["static"] + self.static_energy_j
        shape = np.shape(self.latency_s)
        return {name: np.broadcast_to(j, shape) if shape else float(j) for name, j in out.items()}

    @property
    def breakdown(self) -> dict[str, Num]:
        """Kernel name -> seconds."""
        return {name: k.seconds for name, k in self.kernels.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of a scalar design point (raises on grids: index them first)."""
        if np.ndim(self.latency_s):
            raise ValueError("to_dict needs a scalar design point; this Cost holds a grid")
        return {
            "latency_s": float(self.latency_s),
            "energy_j": float(self.energy_j),
            "kv_bytes": float(self.kv_bytes),
            "kv_bytes_split": {k: float(v) for k, v in self.kv_bytes_split.items()},
            "fits": bool(self.fits),
            "fits_by": {k: bool(v) for k, v in self.fits_by.items()},
            "fits_reason": self.fits_reason,
            "spill_bytes": float(self.spill_bytes),
            "max_context_tokens": int(self.max_context_tokens),
            "power_w": float(self.power_w),
            "pim_capacity_bytes": float(self.pim_capacity_bytes),
            "pe_area_mm2": float(self.pe_area_mm2),
            "area_mm2": float(self.area_mm2),
            "area_mm2_by_device": {k: float(v) for k, v in self.area_mm2_by_device.items()},
            "tokens_per_s": float(self.tokens_per_s),
            "tokens_per_j": float(self.tokens_per_j),
            "xbar_tiles_needed": float(self.xbar_tiles_needed),
            "xbar_tiles": float(self.xbar_tiles),
            "energy_by_device": {k: float(v) for k, v in self.energy_by_device.items()},
            "energy_by_component": self.energy_by_component,
            "breakdown": {k: float(v.seconds) for k, v in self.kernels.items()},
            "kernels": {
                k: {
                    "seconds": float(v.seconds),
                    "energy_j": float(v.energy_j),
                    "bound": str(v.bound),
                    "device": v.device,
                    "flops": float(v.flops),
                    "bytes": float(v.bytes),
                }
                for k, v in self.kernels.items()
            },
            "devices": {
                k: {"peak_flops": float(v.peak_flops), "bw_bytes_per_s": float(v.bw_bytes_per_s)}
                for k, v in self.devices.items()
            },
        }
