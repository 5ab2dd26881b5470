"""Compose a decode step: operators on their devices, KV home and spill, overlap, energy."""

from __future__ import annotations

import dataclasses
import functools
import operator

import numpy as np

from hw.capacity import weights_fit
from hw.cost import Cost
from hw.errors import check_result
from hw.fields import Num
from hw.footprint import max_context_tokens
from hw.formats import KvFormat
from hw.kernels import attention, dense, gpu_attention, systolic, xbar
from hw.kernels.step import Step
from hw.model_shape import WEIGHT_OPERATORS
from hw.roofline import DeviceRoof, KernelCost
from hw.roofs import device_roofs
from hw.system import System
from hw.workload import Workload


def resident_weight_bytes(step: Step, device: str) -> Num:
    """Weights of the operators mapped to `device` (they live in its memory)."""
    m, dev = step.model, step.system.mapping.devices
    resident = 0.0
    for op in WEIGHT_OPERATORS:
        if dev[op] == device:
            resident = resident + m.op_weight_bytes(op) * (1.0 if op == "lm_head" else m.n_layers)
    return resident


def kv_capacity_bytes(step: Step) -> Num:
    """Capacity left for KV in its home memory after the weights that must live there."""
    sysm = step.system
    home = sysm.mapping.kv_home
    if home == "host":
        return sysm.host.capacity_bytes + 0.0 * step.context
    if home == "gpu":
        return sysm.gpu.mem_capacity_bytes - resident_weight_bytes(step, "gpu")
    return step.pim.capacity_bytes - resident_weight_bytes(step, "pim")


def projections(step: Step) -> dict[str, KernelCost]:
    """Weight operators on their mapped devices (operators mapped to "none" are left out)."""
    m = step.model
    params = {
        "qkv_proj": (m.qkv_params_per_layer, m.n_layers),
        "o_proj": (m.o_params_per_layer, m.n_layers),
        "ffn": (m.ffn_params_per_layer, m.n_layers),
        "lm_head": (m.lm_head_params, 1.0),
    }
    devices = step.system.mapping.devices
    on_array = step.system.systolic is not None
    return {
        op: (systolic.projection if on_array and devices[op] == "gpu" else dense.projection)(step, op, *p)
        for op, p in params.items()
        if devices[op] != "none"
    }


def pim_attention(step: Step) -> dict[str, KernelCost]:
    """Attention kernels when the KV lives in PIM and attention runs there: the GPU <-> PIM link,
    the new vectors written as stored, the format's own kernels, then the score/softmax round trip
    and data movement they need."""
    kv = step.kv
    own = kv.pim_attention(step)
    return {
        "link_gpu_pim": attention.gpu_pim_link(step),
        "kv_append": attention.kv_append(step, kv.stored_bytes_per_vector(step.model.head_dim)),
        **own.kernels,
        **attention.softmax_and_movement(step, own.softmax_scores, own.moved_bytes, own.output_dims_per_pe),
    }


def _scale_context(step: Step, fraction: Num) -> Step:
    wl = dataclasses.replace(step.workload, context_tokens=step.context * fraction)
    return dataclasses.replace(step, workload=wl)


def evaluate(system: System, kv: KvFormat, workload: Workload) -> Cost:
    """Cost one decode step of `workload` on `system` with KV format `kv` (pure; broadcasts grids)."""
    step = Step(system=system, kv=kv, workload=workload)
    where = system.mapping.devices["attention"]
    layout = kv.codebook_layout(step)
    fp = kv.footprint(step.model, step.context, step.batch, layout)
    total = fp.total
    capacity = kv_capacity_bytes(step)
    fits_by = fit_checks(step, total, capacity)
    fits = functools.reduce(operator.and_, fits_by.values())
    home = system.mapping.kv_home
    spill = 0.0 * total if home == "host" else np.maximum(0.0, total - np.maximum(capacity, 0.0))
    kernels = projections(step)
    spilled_share = spill / total
    if where == "pim":
        kernels |= pim_attention(_scale_context(step, 1.0 - spilled_share))
        kernels |= gpu_attention.spilled_attention(_scale_context(step, spilled_share), spill)
    elif where == "gpu" and system.systolic is not None:
        kernels |= systolic.attention(step, 1.0 if home == "host" else spilled_share, total)
    elif where == "gpu":
        kernels |= gpu_attention.gpu_attention(step, 1.0 if home == "host" else spilled_share)
    latency = step_latency(system, kernels)
    static_w = system.gpu.static_power_w
    if system.pim is not None:
        static_w = static_w + system.pim.energy.static_power_w_per_stack * system.pim.stacks
    static_j = static_w * latency
    energy = sum((k.energy_j for k in kernels.values()), start=0.0 * latency) + static_j
    cost = Cost(
        latency_s=latency,
        energy_j=energy,
        kv_bytes=total,
        kv_bytes_split={"codes": fp.codes, "codebooks": fp.codebooks, "full_precision": fp.full_precision},
        fits=fits,
        spill_bytes=spill,
        max_context_tokens=max_context_tokens(kv, step.model, step.batch, capacity, layout),
        kernels=kernels,
        pim_capacity_bytes=0.0 if system.pim is None else system.pim.capacity_bytes,
        pe_area_mm2=0.0 if system.pim is None else system.pim.stacks * system.pim.pe_area_mm2_per_stack,
        static_energy_j=static_j,
        tokens_per_step=step.batch,
        fits_by=fits_by,
        area_mm2_by_device=area_by_device(step),
        xbar_tiles_needed=0.0 if system.xbar is None else xbar.tiles_needed(step),
        xbar_tiles=0.0 if system.xbar is None else xbar.provisioned_tiles(step),
        devices=device_roofs(step, (k.device for k in kernels.values())),
    )
    return check_result(broadcast_cost(cost))


def fit_checks(step: Step, kv_bytes: Num, capacity: Num) -> dict[str, Num]:
    """What must fit, each checked alone: "kv" (the KV in its home memory beside the weights living
    there), "weights" (each device's memory holds its operators' weights) and, with a crossbar,
    "xbar_tiles" (its operators' weights in its tiles; always true when its tiles are not given)."""
    checks = {"kv": kv_bytes <= capacity, "weights": weights_fit(step.system, step.model)}
    if step.system.xbar is not None:
        checks["xbar_tiles"] = xbar.tiles_needed(step) <= xbar.provisioned_tiles(step)
    return checks


def area_by_device(step: Step) -> dict[str, Num]:
    """Modelled logic area per device (mm2): PIM PEs on the DRAM dies, crossbar tiles, systolic array."""
    system = step.system
    areas: dict[str, Num] = {}
    if system.pim is not None:
        areas["pim_pe"] = system.pim.stacks * system.pim.pe_area_mm2_per_stack
    if system.xbar is not None:
        areas["xbar"] = xbar.provisioned_tiles(step) * system.xbar.tile_area_mm2
    if system.systolic is not None:
        areas["systolic"] = system.systolic.area_mm2
    return areas


def broadcast_cost(cost: Cost) -> Cost:
    """Give every output the grid's full shape (views, no copies); scalars stay Python scalars."""
    leaves = [
        cost.latency_s,
        cost.energy_j,
        cost.kv_bytes,
        cost.fits,
        cost.spill_bytes,
        cost.max_context_tokens,
    ]
    leaves += [cost.pim_capacity_bytes, cost.pe_area_mm2, *cost.kv_bytes_split.values(), cost.tokens_per_step]
    leaves += [*cost.fits_by.values(), *cost.area_mm2_by_device.values()]
    leaves += [cost.xbar_tiles_needed, cost.xbar_tiles]
    leaves += [x for k in cost.kernels.values() for x in (k.seconds, k.energy_j, k.bound_code)]
    leaves += [x for k in cost.kernels.values() for x in (k.flops, k.bytes)]
    leaves += [x for r in cost.devices.values() for x in (r.peak_flops, r.bw_bytes_per_s)]
    shape = np.broadcast_shapes(*(x.shape for x in leaves if isinstance(x, np.ndarray)))

    def fit(x: Num) -> Num:
        if not shape:
            return float(x)
        return np.broadcast_to(x, shape)

    def fit_bound(b: int | np.ndarray) -> int | np.ndarray:
        return int(b) if not shape else np.broadcast_to(np.asarray(b, dtype=np.uint8), shape)

    def fit_flag(f: bool | np.ndarray) -> bool | np.ndarray:
        return bool(f) if not shape else np.broadcast_to(np.asarray(f, dtype=bool), shape)

    return Cost(
        latency_s=fit(cost.latency_s),
        energy_j=fit(cost.energy_j),
        kv_bytes=fit(cost.kv_bytes),
        kv_bytes_split={k: fit(v) for k, v in cost.kv_bytes_split.items()},
        fits=fit_flag(cost.fits),
        spill_bytes=fit(cost.spill_bytes),
        max_context_tokens=fit(cost.max_context_tokens),
        pim_capacity_bytes=fit(cost.pim_capacity_bytes),
        pe_area_mm2=fit(cost.pe_area_mm2),
        static_energy_j=fit(cost.static_energy_j),
        tokens_per_step=fit(cost.tokens_per_step),
        fits_by={k: fit_flag(v) for k, v in cost.fits_by.items()},
        area_mm2_by_device={k: fit(v) for k, v in cost.area_mm2_by_device.items()},
        xbar_tiles_needed=fit(cost.xbar_tiles_needed),
        xbar_tiles=fit(cost.xbar_tiles),
        kernels={
            name: KernelCost(
                seconds=fit(k.seconds),
                energy_j=fit(k.energy_j),
                bound_code=fit_bound(k.bound_code),
                device=k.device,
                energy_parts=k.energy_parts,
                flops=fit(k.flops),
                bytes=fit(k.bytes),
            )
            for name, k in cost.kernels.items()
        },
        devices={n: DeviceRoof(fit(r.peak_flops), fit(r.bw_bytes_per_s)) for n, r in cost.devices.items()},
    )


def step_latency(system: System, kernels: dict[str, KernelCost]) -> Num:
    """Serial sum of all kernels, or, when GPU and PIM may overlap, the busiest device's sum."""
    per_device: dict[str, Num] = {}
    for k in kernels.values():
        per_device[k.device] = per_device.get(k.device, 0.0) + k.seconds
    if system.mapping.overlap:
        return np.maximum.reduce(np.broadcast_arrays(*per_device.values())) if per_device else 0.0
    return sum(per_device.values(), start=0.0)
