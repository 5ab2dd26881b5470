"""Compose a decode step: operators on their devices, KV home and spill, overlap, energy."""

from __future__ import annotations

import dataclasses

import numpy as np

from hw.cost import Cost
from hw.fields import Num
from hw.footprint import fp_tokens, kv_footprint, max_context_tokens
from hw.kernels import attention, cluster, dense, gpu_attention, pq, xbar
from hw.kernels.step import Step
from hw.kv_format import ClusterSparseKv, Fp16Kv, KvFormat, PqKv, UniformKv
from hw.model_shape import WEIGHT_OPERATORS
from hw.roofline import KernelCost
from hw.system import System
from hw.workload import Workload

FP16_BYTES = 2


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


def gpu_prefill_s(step: Step) -> Num:
    """GPU time of the prefill that PIM clustering can hide behind (compute roofline); 0 when the
    system does not let the PIM cluster during the prefill (`mapping.prefill_overlap: false`)."""
    if not step.system.mapping.prefill_overlap:
        return 0.0
    m, gpu = step.model, step.system.gpu
    per_layer = m.qkv_params_per_layer + m.o_params_per_layer + m.ffn_params_per_layer
    flops = 2 * m.n_layers * per_layer * step.batch * step.context
    flops = flops + 2 * m.n_layers * step.q_heads_total * step.context**2 * m.head_dim  # causal q.K and p.V
    return flops / (gpu.peak_flops * gpu.flops_efficiency)


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
    return {op: dense.projection(step, op, *p) for op, p in params.items() if devices[op] != "none"}


def stored_bytes_per_vector(kv: KvFormat, head_dim: Num) -> Num:
    """Bytes one new K or V vector takes once stored (codes for compressed formats)."""
    if isinstance(kv, UniformKv):
        return head_dim * kv.bits / 8
    if isinstance(kv, PqKv):
        return head_dim / kv.subvector_dim * kv.code_bits / 8
    return head_dim * FP16_BYTES


def pim_attention(step: Step) -> dict[str, KernelCost]:
    """Attention kernels when the KV lives in PIM and attention runs there, by KV format."""
    kv, ctx = step.kv, step.context
    kernels: dict[str, KernelCost] = {
        "link_gpu_pim": attention.gpu_pim_link(step),
        "kv_append": attention.kv_append(step, stored_bytes_per_vector(kv, step.model.head_dim)),
    }
    if isinstance(kv, Fp16Kv):
        kernels |= attention.pim_dense_attention(step, ctx, FP16_BYTES, 1.0)
        kernels |= attention.softmax_and_movement(step, step.q_heads_total * ctx, 0.0)
        return kernels
    fp = fp_tokens(kv, ctx)
    kernels["attn_fp_tokens"] = attention.fp_token_attention(step, fp)
    rest = ctx - fp
    if isinstance(kv, UniformKv):
        bytes_per_elem = kv.bits / 8 + 2 * kv.scale_bytes / kv.group_size
        ops_per_mac = 1.0 if step.attention_pe.int_mac else 2.0  # FP16-only PEs dequantise first
        kernels |= attention.pim_dense_attention(step, rest, bytes_per_elem, ops_per_mac)
        kernels |= attention.softmax_and_movement(step, step.q_heads_total * ctx, 0.0)
        return kernels
    if isinstance(kv, PqKv):
        pq_kernels, partial_bytes = pq.pq_attention(step, kv, rest, gpu_prefill_s(step))
        kernels |= pq_kernels
        kernels |= attention.softmax_and_movement(
            step, step.q_heads_total * ctx, partial_bytes, kv.subvector_dim
        )
        return kernels
    assert isinstance(kv, ClusterSparseKv)
    cs_kernels, read_tokens, scored = cluster.cluster_attention(step, kv, rest, gpu_prefill_s(step))
    kernels |= cs_kernels
    kernels |= attention.softmax_and_movement(
        step, step.q_heads_total * (read_tokens + fp), scored * FP16_BYTES
    )
    return kernels


def _scale_context(step: Step, fraction: Num) -> Step:
    wl = dataclasses.replace(step.workload, context_tokens=step.context * fraction)
    return dataclasses.replace(step, workload=wl)


def codebook_layout(step: Step) -> tuple[Num, Num]:
    """(banks holding one PQ slice's subspace, codebook copies among them): PQ attention on PIM
    spreads tokens over the banks; elsewhere a slice keeps one codebook."""
    kv = step.kv
    if isinstance(kv, PqKv) and step.system.mapping.devices["attention"] == "pim":
        return pq.subspace_banks(step, kv), step.pim.pq_codebook_copies
    return 1.0, 1.0


def evaluate(system: System, kv: KvFormat, workload: Workload) -> Cost:
    """Cost one decode step of `workload` on `system` with KV format `kv` (pure; broadcasts grids)."""
    step = Step(system=system, kv=kv, workload=workload)
    where = system.mapping.devices["attention"]
    layout = codebook_layout(step)
    fp = kv_footprint(kv, step.model, step.context, step.batch, *layout)
    total = fp.total
    capacity = kv_capacity_bytes(step)
    fits = total <= capacity
    if system.xbar is not None:
        fits = fits & (xbar.tiles_needed(step) <= system.xbar.tiles)
    home = system.mapping.kv_home
    spill = 0.0 * total if home == "host" else np.maximum(0.0, total - np.maximum(capacity, 0.0))
    kernels = projections(step)
    spilled_share = spill / total
    if where == "pim":
        kernels |= pim_attention(_scale_context(step, 1.0 - spilled_share))
        kernels |= gpu_attention.spilled_attention(_scale_context(step, spilled_share), spill)
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
        max_context_tokens=max_context_tokens(kv, step.model, step.batch, capacity, *layout),
        kernels=kernels,
        pim_capacity_bytes=0.0 if system.pim is None else system.pim.capacity_bytes,
        pe_area_mm2=0.0 if system.pim is None else system.pim.stacks * system.pim.pe_area_mm2_per_stack,
        static_energy_j=static_j,
    )
    return broadcast_cost(cost)


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
    leaves += [cost.pim_capacity_bytes, cost.pe_area_mm2, *cost.kv_bytes_split.values()]
    leaves += [x for k in cost.kernels.values() for x in (k.seconds, k.energy_j, k.bound_code)]
    shape = np.broadcast_shapes(*(x.shape for x in leaves if isinstance(x, np.ndarray)))

    def fit(x: Num) -> Num:
        if not shape:
            return float(x)
        return np.broadcast_to(x, shape)

    def fit_bound(b: int | np.ndarray) -> int | np.ndarray:
        return int(b) if not shape else np.broadcast_to(np.asarray(b, dtype=np.uint8), shape)

    return Cost(
        latency_s=fit(cost.latency_s),
        energy_j=fit(cost.energy_j),
        kv_bytes=fit(cost.kv_bytes),
        kv_bytes_split={k: fit(v) for k, v in cost.kv_bytes_split.items()},
        fits=bool(cost.fits) if not shape else np.broadcast_to(np.asarray(cost.fits, dtype=bool), shape),
        spill_bytes=fit(cost.spill_bytes),
        max_context_tokens=fit(cost.max_context_tokens),
        pim_capacity_bytes=fit(cost.pim_capacity_bytes),
        pe_area_mm2=fit(cost.pe_area_mm2),
        static_energy_j=fit(cost.static_energy_j),
        kernels={
            name: KernelCost(
                seconds=fit(k.seconds),
                energy_j=fit(k.energy_j),
                bound_code=fit_bound(k.bound_code),
                device=k.device,
                energy_parts=k.energy_parts,
            )
            for name, k in cost.kernels.items()
        },
    )


def step_latency(system: System, kernels: dict[str, KernelCost]) -> Num:
    """Serial sum of all kernels, or, when GPU and PIM may overlap, the busiest device's sum."""
    per_device: dict[str, Num] = {}
    for k in kernels.values():
        per_device[k.device] = per_device.get(k.device, 0.0) + k.seconds
    if system.mapping.overlap:
        return np.maximum.reduce(np.broadcast_arrays(*per_device.values())) if per_device else 0.0
    return sum(per_device.values(), start=0.0)
