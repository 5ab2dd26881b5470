"""Weight GEMV/GEMM of the projections, FFN and LM head, on the GPU or on PIM PEs."""

from __future__ import annotations

import numpy as np

from hw import dram
from hw.energy import PJ, combine, move_energy, ops_energy, read_energy, scale
from hw.fields import Num
from hw.kernels.register_gemv import register_gemv
from hw.kernels.step import Step, per_bank
from hw.kernels.xbar import xbar_projection
from hw.roofline import BOUND, KernelCost, limit, where_bound
from hw.system import Pe, Pim

FP16_BYTES = 2


def gpu_roofline(step: Step, flops: Num, mem_bytes: Num) -> KernelCost:
    """Roofline on the GPU with its achievable efficiencies."""
    gpu = step.system.gpu
    seconds, bound = limit(
        compute=flops / (gpu.peak_flops * gpu.flops_efficiency),
        memory_bw=mem_bytes / (gpu.mem_bw_bytes_per_s * gpu.bw_efficiency),
    )
    energy = flops * gpu.energy_pj_per_flop * PJ + mem_bytes * 8 * gpu.mem_energy_pj_per_bit * PJ
    return KernelCost.of(seconds, {"gpu": energy}, bound, "gpu", flops=flops, bytes=mem_bytes)


def gemv_input_passes(step: Step, pe: Pe, op: str) -> Num:
    """Times a PE streams its weights because their inputs do not fit its buffer: each column
    command brings column_bytes x 8 / bits weights, whose FP16 inputs for every token of the batch
    must already sit in the buffer (inputs are tiled to the weight layout, so one column's worth
    for the whole batch is the least the buffer must hold)."""
    weights_per_column = step.pim.column_bytes * 8 / step.model.op_weight_bits[op]
    needed = weights_per_column * step.batch * FP16_BYTES
    return np.maximum(1.0, np.ceil(needed / np.maximum(pe.buffer_bytes, 1.0)))


def pim_gemv(step: Step, op: str, params_per_layer: Num, layers: Num) -> KernelCost:
    """Weights striped over all banks, streamed through the GEMV PEs; one MAC per weight per token.

    Before streaming, the batch's input vectors are written into the PE buffers of every
    pseudo-channel (all-bank broadcast writes over its bank <-> buffer-die bus, as AttAcc!'s WR_GB
    does for the query); weights stream again for every `gemv_input_passes`.
    """
    pim = step.pim
    pe = pim.pes[pim.gemv_pe]
    if pim.gemv_kernel == "register_tiles":
        return register_tiled(step, op, layers)
    weight_bytes = params_per_layer * step.model.op_weight_bits[op] / 8
    passes = gemv_input_passes(step, pe, op)
    st = dram.stream(pim, pe, per_bank(weight_bytes * passes, pim.banks))
    seconds, bound = dram.with_compute(
        pim, st, dram.compute_s(pim, pe, params_per_layer * step.batch / step.pes(pe))
    )
    broadcast_bytes = step.model.op_input_elems(op) * step.batch * FP16_BYTES * pim.pchs
    broadcast_s = gemv_fixed_moves_s(pim, pe, broadcast_bytes)
    energy = combine(
        read_energy(pim, pe.placement, weight_bytes * passes, st.activations_per_bank * pim.banks),
        move_energy(pim, pe.placement, broadcast_bytes),
        ops_energy(params_per_layer * step.batch, pe.energy_pj_per_mac),
    )
    bound = where_bound(broadcast_s > seconds, "internal_bw", bound)
    return KernelCost.of(
        layers * (seconds + broadcast_s),
        scale(energy, layers),
        bound,
        "pim",
        flops=layers * 2 * params_per_layer * step.batch,
        bytes=layers * weight_bytes * passes,
    )


def register_tiled(step: Step, op: str, layers: Num) -> KernelCost:
    """Each GEMV of the operator issued as Samsung HBM2-PIM's register tiles (`register_gemv`), one
    kernel call after another; bound `activation` (the tiles' turnarounds and row switches)."""
    pim = step.pim
    pe = pim.pes[pim.gemv_pe]
    bits = step.model.op_weight_bits[op]
    calls = [register_gemv(pim, pe, out, inp, bits, step.batch) for out, inp in step.model.op_gemvs(op)]
    seconds = sum((c.seconds for c in calls), start=0.0)
    energy = combine(*(c.energy for c in calls))
    return KernelCost.of(
        layers * seconds,
        scale(energy, layers),
        BOUND["activation"],
        "pim",
        flops=layers * sum((2 * c.macs for c in calls), start=0.0),
        bytes=layers * sum((c.read_bytes for c in calls), start=0.0),
    )


def gemv_fixed_moves_s(pim: Pim, pe: Pe, broadcast_bytes: Num) -> Num:
    """Seconds per layer of the moves a GEMV cannot hide under its MACs: the input broadcast before
    the first MAC, and with `pim.move_overlap` (bank and bank-group PEs) also the outputs' last
    group after the last MAC, one column per bank-group adder tree of a pCH at tCCD_S (AttAcc!'s
    MV_SB after its last MAC_AB row; earlier groups ride under later MACs). The broadcast then
    goes as WR_GB into one bank group's buffers, tCCD_L a column (`dram.query_writes_s`)."""
    if not pim.move_overlap or pe.placement == "buffer_die":
        return dram.bus_s(pim, broadcast_bytes)
    t = pim.timings
    adder_trees = pim.ranks * pim.bank_groups
    # The first activation passes the broadcast's barrier and the last precharge follows the output
    # moves (as in the attention round trip, `dram.issued_moves`).
    broadcast = dram.move_columns(pim, broadcast_bytes) * t.t_ccd_l_cycles
    shown = np.maximum(0.0, broadcast - t.t_rcd_cycles) + np.maximum(
        0.0, adder_trees * t.t_ccd_s_cycles - t.t_rtp_cycles - t.t_rp_cycles
    )
    return shown * t.tck_s * dram.refresh_factor(pim)


def projection(step: Step, op: str, params_per_layer: Num, layers: Num) -> KernelCost:
    """Cost of one weight operator (per layer params, over `layers` layers) on its mapped device."""
    device = step.system.mapping.devices[op]
    if device == "xbar":
        return xbar_projection(step, op, layers)
    if device == "pim":
        return pim_gemv(step, op, params_per_layer, layers)
    flops = 2 * params_per_layer * step.batch * layers
    weight_bytes = params_per_layer * step.model.op_weight_bits[op] / 8 * layers
    return gpu_roofline(step, flops, weight_bytes)
