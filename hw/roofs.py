"""Each device's roof for the roofline view of a decode step (`Cost.devices`): its peak compute and
the bandwidth its kernels' `KernelCost.bytes` cross, from the system spec (peaks: no efficiency
factor, no refresh), so every kernel's flops / seconds sits on or under its device's roof."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable

import numpy as np

from hw import dram
from hw.kernels import xbar
from hw.kernels.step import Step
from hw.roofline import DeviceRoof


def gpu_roof(step: Step) -> DeviceRoof:
    """The GPU (or the systolic array running its kernels): peak FP16 FLOP/s and its memory's bandwidth."""
    system = step.system
    arr = system.systolic
    peak = system.gpu.peak_flops if arr is None else 2.0 * arr.rows * arr.cols * arr.clock_hz
    return DeviceRoof(peak_flops=peak, bw_bytes_per_s=system.gpu.mem_bw_bytes_per_s)


def pim_roof(step: Step) -> DeviceRoof:
    """The PIM memory: every PE class computing at once (2 FLOPs per MAC lane-cycle), and the fastest
    PE class's reads of the DRAM cells (one column per PE every command interval, the power cap
    included). A class has banks / banks_per_pe PEs, so the bank count factors out of both: each
    costs one product with it on a grid of design points rather than one per class."""
    pim = step.pim
    pes = pim.pes.values()
    flops_per_bank = [pe.lanes * (2.0 * pe.clock_hz / (pe.cycles_per_mac * pe.banks_per_pe)) for pe in pes]
    reads_per_bank = [pim.column_bytes / pe.banks_per_pe / dram.cmd_s(pim, pe) for pe in pes]
    return DeviceRoof(
        peak_flops=pim.banks * functools.reduce(operator.add, flops_per_bank),
        bw_bytes_per_s=pim.banks * functools.reduce(np.maximum, reads_per_bank),
    )


def xbar_roof(step: Step) -> DeviceRoof:
    """The analog crossbar: every provisioned tile's weights in one MAC per token input (2 FLOPs a
    weight) each input_cycles x cycle_s; it reads no memory (weights stay in the cells)."""
    arr = step.system.xbar
    assert arr is not None
    weights = xbar.provisioned_tiles(step) * arr.rows_per_tile * arr.cols_per_tile / arr.cells_per_weight
    return DeviceRoof(peak_flops=2.0 * weights / (arr.input_cycles * arr.cycle_s), bw_bytes_per_s=0.0)


def link_roof(step: Step) -> DeviceRoof:
    """The links: the faster of the host link and the GPU <-> PIM link; the FLOPs of a link kernel
    (softmax sent to the GPU) run on the GPU at its end, so the GPU's peak."""
    system = step.system
    bw = system.host_link.bw_bytes_per_s
    if system.pim is not None:
        bw = np.maximum(bw, system.pim.link.bw_bytes_per_s)
    return DeviceRoof(peak_flops=gpu_roof(step).peak_flops, bw_bytes_per_s=bw)


ROOFS = {"gpu": gpu_roof, "pim": pim_roof, "xbar": xbar_roof, "link": link_roof}
"""Device name (`KernelCost.device`) -> its roof."""


def device_roofs(step: Step, devices: Iterable[str]) -> dict[str, DeviceRoof]:
    """The roofs of `devices` (each a `KernelCost.device`), in the order given, each once."""
    return {device: ROOFS[device](step) for device in dict.fromkeys(devices)}
