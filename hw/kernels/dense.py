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

    The batch's input vectors are written into the PE buffers of every pseudo-channel (all-bank
    broadcast writes over its bank <-> buffer-die bus, as AttAcc!'s WR_GB does for the query; as
    issued, tile by tile, with `pim.move_overlap`: `gemv_fixed_moves_s`); weights stream again for
    every `gemv_input_passes`.
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
    broadcast_s = gemv_fixed_moves_s(pim, pe, broadcast_bytes, st.activations_per_bank)
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


def gemv_fixed_moves_s(pim: Pim, pe: Pe, broadcast_bytes: Num, rows: Num) -> Num:
    """Seconds per layer of the moves a GEMV cannot hide under its MACs (`broadcast_bytes`: the
    inputs over all pCHs; `rows`: the rows each bank streams).

    Without `pim.move_overlap` (or on buffer-die PEs) the input broadcast crosses the bank <->
    buffer-die bus before the MACs. With it (bank and bank-group PEs, AttAcc!'s WR_GB and MV_SB) the
    moves go as issued: the inputs enter the PE buffers in tiles, as many as it takes for each
    bank's share (1 / head_split of them, the adder tree summing the rest) to fit `buffer_bytes`;
    a tile goes as WR_GB into one bank group's buffers of every pCH, tCCD_L a column, and its MACs
    wait for it. The outputs leave as MV_SB, one column per bank-group adder tree of a pCH at
    tCCD_S, under later MACs but for each tile's last group. Row commands pass the barriers, so the
    first activation hides under the first tile (tRCD), a lockstep stream's switch to the next
    tile's first row (tRTP + tRP + tRCD; the weights are laid out tile by tile, a tile starting a
    row) under that tile's writes and the previous tile's last outputs, and the last precharge
    under the last outputs (tRTP + tRP), as in the attention round trip (`dram.issued_moves`).
    """
    if not pim.move_overlap or pe.placement == "buffer_die":
        return dram.bus_s(pim, broadcast_bytes)
    t = pim.timings
    share = broadcast_bytes / pim.pchs / pe.head_split  # input bytes one bank's buffer must take
    tiles = np.maximum(1.0, np.ceil(share / pe.buffer_bytes))
    tile = dram.move_columns(pim, broadcast_bytes) / tiles * t.t_ccd_l_cycles
    outputs = pim.ranks * pim.bank_groups * t.t_ccd_s_cycles
    # Tile boundaries at a row switch of the stream (interleaved streams show no switch to hide).
    switches = 0.0 if pe.row_interleave else np.maximum(0.0, np.minimum(tiles, rows) - 1.0)
    row_switch = t.t_rtp_cycles + t.t_rp_cycles + t.t_rcd_cycles
    beside_switch = np.maximum(0.0, outputs + tile - row_switch)
    boundaries = switches * beside_switch + (tiles - 1.0 - switches) * (outputs + tile)
    shown = (
        np.maximum(0.0, tile - t.t_rcd_cycles)
        + boundaries
        + np.maximum(0.0, outputs - t.t_rtp_cycles - t.t_rp_cycles)
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
