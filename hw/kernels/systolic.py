"""Operators on a weight-stationary digital systolic array with an on-chip SRAM buffer, its memory
the `gpu` block's (LPDDR on an edge system).

A k x n weight matrix times v input vectors takes ceil(k / rows) x ceil(n / cols) tiles; each tile
is held while its v vectors stream through, at least `rows` cycles since the next tile loads one
row a cycle (double-buffered); each GEMM adds one fill and drain of rows + cols - 2 cycles. At
decode (v = batch, or the query heads of a KV group) the array is mostly idle: the array's size
trades area against this utilisation. Time is the larger of the array's cycles and the memory
reads (bound compute or memory_bw). Operands pass through the buffer once (SRAM energy).
"""

from __future__ import annotations

import numpy as np

from hw.energy import PJ
from hw.fields import Num
from hw.kernels.gpu_attention import host_kv_read
from hw.kernels.step import Step
from hw.kernels.xbar import stages
from hw.roofline import KernelCost, limit
from hw.system import Systolic


def gemm_cycles(arr: Systolic, k: Num, n: Num, vectors: Num, calls: Num) -> Num:
    """Cycles of `calls` GEMMs of a k x n weight matrix times `vectors` input vectors."""
    tiles = np.ceil(k / arr.rows) * np.ceil(n / arr.cols)
    return calls * (tiles * np.maximum(vectors, arr.rows) + arr.rows + arr.cols - 2.0)


def _array(step: Step) -> Systolic:
    arr = step.system.systolic
    assert arr is not None
    return arr


def _memory_s(step: Step, mem_bytes: Num) -> Num:
    gpu = step.system.gpu
    return mem_bytes / (gpu.mem_bw_bytes_per_s * gpu.bw_efficiency)


def _kernel(step: Step, cycles: Num, macs: Num, mem_bytes: Num, buffer_bytes: Num) -> KernelCost:
    """The array's cycles against the memory reads; MAC, memory and buffer energy."""
    arr, gpu = _array(step), step.system.gpu
    seconds, bound = limit(compute=cycles / arr.clock_hz, memory_bw=_memory_s(step, mem_bytes))
    energy = (
        macs * arr.mac_pj
        + mem_bytes * 8 * gpu.mem_energy_pj_per_bit
        + buffer_bytes * 8 * arr.buffer_pj_per_bit
    ) * PJ
    return KernelCost.of(seconds, {"gpu": energy}, bound, "gpu", flops=2 * macs, bytes=mem_bytes)


def projection(step: Step, op: str, params_per_layer: Num, layers: Num) -> KernelCost:
    """A weight operator: its stages as GEMMs of the batch's vectors, weights read from memory once
    a step, inputs and outputs (mac_bits wide) through the buffer."""
    arr, batch = _array(step), step.batch
    cycles = sum((gemm_cycles(arr, k, n, batch, layers) for k, n in stages(step, op)), start=0.0)
    weight_bytes = params_per_layer * step.model.op_weight_bits[op] / 8 * layers
    io_bytes = sum((batch * (k + n) for k, n in stages(step, op)), start=0.0) * arr.mac_bits / 8 * layers
    return _kernel(step, cycles, params_per_layer * batch * layers, weight_bytes, weight_bytes + io_bytes)


def dense_attention_cycles(step: Step) -> Num:
    """Array cycles of dense decode attention: per layer, sequence and KV head, q.K^T (K as a
    head_dim x context weight matrix) and p.V (context x head_dim), each streaming the group's
    query heads."""
    arr, m, ctx = _array(step), step.model, step.context
    group = m.n_q_heads / m.n_kv_heads
    calls = m.n_layers * step.kv_heads_total
    return gemm_cycles(arr, m.head_dim, ctx, group, calls) + gemm_cycles(arr, ctx, m.head_dim, group, calls)


def kv_on_chip_share(step: Step, kv_bytes: Num) -> Num:
    """Share of the KV held in the buffer (`kv_buffer_share` of it), read from SRAM, not memory."""
    arr = _array(step)
    return np.minimum(1.0, arr.buffer_bytes * arr.kv_buffer_share / kv_bytes)


def attention(step: Step, host_share: Num, kv_bytes: Num) -> dict[str, KernelCost]:
    """Attention on the array: at least the dense shape's cycles (every cached token passes
    through), and at least the format's MACs at the streaming utilisation group / max(group, rows)
    (its extra work, e.g. PQ tables, on the same dataflow); `host_share` of the KV bytes come from
    host memory over the host link, the on-chip share from the buffer."""
    arr, m = _array(step), step.model
    work = step.kv.gpu_attention_work(step)
    macs = work.flops / 2
    group = m.n_q_heads / m.n_kv_heads
    streaming = macs * np.maximum(group, arr.rows) / (group * arr.rows * arr.cols)
    cycles = np.maximum(dense_attention_cycles(step), streaming)
    local = work.bytes_read * (1.0 - host_share)
    mem_bytes = local * (1.0 - kv_on_chip_share(step, kv_bytes))
    return {
        "attention_gpu": _kernel(step, cycles, macs, mem_bytes, local),
        "kv_host_transfer": host_kv_read(step, work.bytes_read * host_share),
    }
