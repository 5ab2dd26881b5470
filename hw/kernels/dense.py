"""Weight GEMV/GEMM of the projections, FFN and LM head, on the GPU or on PIM PEs."""

from __future__ import annotations

from hw import dram
from hw.energy import PJ, combine, ops_energy, read_energy, scale
from hw.fields import Num
from hw.kernels.step import Step, per_bank
from hw.kernels.xbar import xbar_projection
from hw.roofline import KernelCost, limit


def gpu_roofline(step: Step, flops: Num, mem_bytes: Num) -> KernelCost:
    """Roofline on the GPU with its achievable efficiencies."""
    gpu = step.system.gpu
    seconds, bound = limit(
        compute=flops / (gpu.peak_flops * gpu.flops_efficiency),
        memory_bw=mem_bytes / (gpu.mem_bw_bytes_per_s * gpu.bw_efficiency),
    )
    energy = flops * gpu.energy_pj_per_flop * PJ + mem_bytes * 8 * gpu.mem_energy_pj_per_bit * PJ
    return KernelCost.of(seconds, {"gpu": energy}, bound, "gpu")


def pim_gemv(step: Step, params_per_layer: Num, layers: Num) -> KernelCost:
    """Weights striped over all banks, streamed through the GEMV PEs; one MAC per weight per token."""
    pim = step.pim
    pe = pim.pes[pim.gemv_pe]
    weight_bytes = params_per_layer * step.model.weight_bits / 8
    st = dram.stream(pim, pe, per_bank(weight_bytes, pim.banks))
    seconds, bound = dram.with_compute(
        pim, st, dram.compute_s(pim, pe, params_per_layer * step.batch / step.pes(pe))
    )
    energy = combine(
        read_energy(pim, pe.placement, weight_bytes, st.activations_per_bank * pim.banks),
        ops_energy(params_per_layer * step.batch, pe.energy_pj_per_mac),
    )
    return KernelCost.of(layers * seconds, scale(energy, layers), bound, "pim")


def projection(step: Step, op: str, params_per_layer: Num, layers: Num) -> KernelCost:
    """Cost of one weight operator (per layer params, over `layers` layers) on its mapped device."""
    device = step.system.mapping.devices[op]
    if device == "xbar":
        return xbar_projection(step, op, layers)
    if device == "pim":
        return pim_gemv(step, params_per_layer, layers)
    flops = 2 * params_per_layer * step.batch * layers
    weight_bytes = params_per_layer * step.model.weight_bits / 8 * layers
    return gpu_roofline(step, flops, weight_bytes)
