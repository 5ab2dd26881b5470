"""Attention on PIM PEs: dense GEMVs (FP16 or uniform int-k), the score/softmax round trip between
bank PEs and the buffer die, the GPU <-> PIM transfers, and bulk/amortised PIM work (k-means).
"""

from __future__ import annotations

import numpy as np

from hw import dram
from hw.energy import combine, move_energy, ops_energy, read_energy, scale
from hw.fields import Num
from hw.kernels.dense import gpu_roofline
from hw.kernels.step import Step, per_bank
from hw.kernels.transfer import link_transfer, nonzero_transfers
from hw.roofline import BOUND, KernelCost, exposed_share, limit, where_bound

FP16_BYTES = 2
SOFTMAX_GPU_FLOPS_PER_SCORE = 5


def query_passes(step: Step) -> Num:
    """Times a PE must stream its K (or V) rows because the query vectors (or output accumulators)
    of all query heads sharing a KV head do not fit its buffer together (AttAcc!'s GEMV buffer holds
    512 B; with the head dim split over the 4 banks of a bank group a bank needs 64 B a query)."""
    pe = step.attention_pe
    footprint = step.model.gqa_group * step.model.head_dim * FP16_BYTES / pe.head_split
    return np.maximum(1.0, np.ceil(footprint / np.maximum(pe.buffer_bytes, 1.0)))


def pim_gemv_phase(step: Step, tensor_bytes_layer: Num, macs_layer: Num, passes: Num = 1.0) -> KernelCost:
    """One attention GEMV (q.K^T or p.V) over all layers on the attention PEs.

    `tensor_bytes_layer` is striped over every bank and read `passes` times; the MACs split evenly
    over the PEs.
    """
    pim, pe = step.pim, step.attention_pe
    read_bytes = tensor_bytes_layer * passes
    st = dram.stream(pim, pe, per_bank(read_bytes, pim.banks))
    seconds, bound = dram.with_compute(pim, st, dram.compute_s(pim, pe, macs_layer / step.pes(pe)))
    energy = combine(
        read_energy(pim, pe.placement, read_bytes, st.activations_per_bank * pim.banks),
        ops_energy(macs_layer, pe.energy_pj_per_mac),
    )
    layers = step.model.n_layers
    return KernelCost.of(
        layers * seconds,
        scale(energy, layers),
        bound,
        "pim",
        flops=layers * 2 * macs_layer,
        bytes=layers * read_bytes,
    )


def token_partitions(step: Step) -> Num:
    """PEs that share one (sequence, KV head): each produces a partial output to be reduced."""
    return np.maximum(1.0, step.pes(step.attention_pe) / step.kv_heads_total)


def pim_dense_attention(
    step: Step, tokens: Num, bytes_per_token_elem: Num, ops_per_mac: Num
) -> dict[str, KernelCost]:
    """q.K^T and p.V over `tokens` tokens whose elements take `bytes_per_token_elem` bytes each.

    K and V of a KV head are read once and used by all its query heads (GQA): MACs scale with the
    query heads, bytes with the KV heads (times the query passes the PE buffer forces).
    `ops_per_mac` > 1 covers dequantisation work.
    """
    d = step.model.head_dim
    tensor_bytes = step.kv_heads_total * tokens * d * bytes_per_token_elem
    macs = step.q_heads_total * tokens * d * ops_per_mac
    passes = query_passes(step)
    return {
        "attn_score": pim_gemv_phase(step, tensor_bytes, macs, passes),
        "attn_value": pim_gemv_phase(step, tensor_bytes, macs, passes),
    }


def softmax_and_movement(
    step: Step, scores_layer: Num, up_extra_bytes_layer: Num, output_dims_per_pe: Num | None = None
) -> dict[str, KernelCost]:
    """Queries down into the PE buffers, scores up to the softmax unit, probabilities back down,
    partial outputs and `up_extra_bytes_layer` (e.g. PQ partial scores) up.

    `scores_layer`: scores per layer over the batch; `up_extra_bytes_layer`: other bank -> buffer
    bytes per layer. Every PE sends a partial output of `output_dims_per_pe` values per query head
    (the head dim; a subvector for PQ). Softmax runs on the buffer-die PE or on the GPU. With
    `pim.move_overlap` (and softmax on the buffer die) the moves are costed as issued beside the MACs
    (`issued_round_trip`); otherwise every byte crosses the bus after the MACs.
    """
    pim, pe = step.pim, step.attention_pe
    score_bytes = scores_layer * FP16_BYTES
    vector_bytes = step.q_heads_total * step.model.head_dim * FP16_BYTES
    dims = step.model.head_dim / pe.head_split if output_dims_per_pe is None else output_dims_per_pe
    partial_out = step.q_heads_total * dims * FP16_BYTES * token_partitions(step)
    # Each query is written into the PE buffers of every pseudo-channel holding its KV head's tokens.
    q_in = vector_bytes * np.maximum(1.0, pim.pchs / step.kv_heads_total)
    if pim.softmax_on == "buffer_die" and pim.move_overlap and pe.placement != "buffer_die":
        return issued_round_trip(step, scores_layer, q_in, up_extra_bytes_layer, partial_out)
    layers = step.model.n_layers
    moved = up_extra_bytes_layer + partial_out + q_in + 2 * score_bytes
    kernels: dict[str, KernelCost] = {}
    if pim.softmax_on == "buffer_die":
        busy = buffer_die_softmax_s(step, scores_layer)
        kernels["attn_softmax"] = _softmax_kernel(step, scores_layer, busy, busy)
    else:
        # Scores still gather at the buffer die, then cross the PIM link; probabilities come back.
        link = link_transfer(pim.link, 2 * score_bytes * layers, nonzero_transfers(score_bytes, 2 * layers))
        flops = scores_layer * SOFTMAX_GPU_FLOPS_PER_SCORE * layers
        gpu = gpu_roofline(step, flops, 2 * score_bytes * layers)
        _, bound = limit(link=link.seconds, compute=gpu.seconds)
        # A link kernel: its bytes are the link's; its FLOPs run on the GPU at the link's end.
        kernels["attn_softmax"] = KernelCost.of(
            gpu.seconds + link.seconds,
            combine(gpu.energy_components, link.energy_components),
            bound,
            "link",
            flops=flops,
            bytes=link.bytes,
        )
    if pe.placement == "buffer_die":
        moved = 0.0 * moved
    kernels["pim_data_movement"] = KernelCost.of(
        layers * dram.bus_s(pim, moved),
        scale(move_energy(pim, pe.placement, moved), layers),
        BOUND["internal_bw"],
        "pim",
        bytes=layers * moved,
    )
    return kernels


def buffer_die_softmax_s(step: Step, scores_layer: Num) -> Num:
    """Seconds per layer the buffer-die PEs need for softmax over `scores_layer` scores (refresh included)."""
    pim = step.pim
    buf = pim.pes["buffer_die"]
    ops = scores_layer * pim.softmax_ops_per_score
    return dram.compute_s(pim, buf, ops / step.pes(buf)) * dram.refresh_factor(pim)


def _softmax_kernel(step: Step, scores_layer: Num, seconds_layer: Num, busy_layer: Num) -> KernelCost:
    """Softmax on the buffer-die PEs showing `seconds_layer` of its `busy_layer` seconds a layer."""
    pim, layers = step.pim, step.model.n_layers
    ops = scores_layer * pim.softmax_ops_per_score
    energy = ops_energy(layers * ops, pim.pes["buffer_die"].energy_pj_per_mac)
    shown = exposed_share(seconds_layer, busy_layer)
    return KernelCost.of(layers * seconds_layer, energy, BOUND["compute"], "pim", flops=layers * ops * shown)


def issued_round_trip(
    step: Step, scores_layer: Num, q_in: Num, up_extra_bytes: Num, partial_out: Num
) -> dict[str, KernelCost]:
    """Softmax and movement of bank / bank-group PEs as AttAcc!'s controller issues them
    (`dram.issued_moves`): scores and partial outputs leave during the MACs and only their last group
    shows; partial outputs are summed over a rank's bank groups before they move (AttAcc!'s context
    MV_SB reads the reduced sum), one group of `ranks x head_split` columns per output slice. A
    channel runs its query heads' round trips one after another (`rounds`, paired as AttAcc!'s
    generator pairs them). The softmax unit streams its probabilities into the broadcast: it shows
    one data-path slot (the SFM command, tCCD_S) plus whatever of its compute outlasts the broadcast.
    """
    pim, pe = step.pim, step.attention_pe
    layers = step.model.n_layers
    score_bytes = scores_layer * FP16_BYTES
    out_bytes = partial_out / pim.bank_groups
    channels = pim.stacks * pim.channels_per_stack
    rounds = np.maximum(1.0, np.ceil(step.q_heads_total / channels))
    # A round's queries go to every pCH holding that round's KV heads (q_in spreads all heads at once).
    q_in = (
        q_in
        / np.maximum(1.0, pim.pchs / step.kv_heads_total)
        * np.maximum(1.0, pim.pchs * rounds / step.kv_heads_total)
    )
    out_group = pim.ranks * pe.head_split
    up_bytes = score_bytes + up_extra_bytes
    mac_interval = dram.cmd_s(pim, pe)
    moves = dram.issued_moves(pim, q_in, up_bytes, score_bytes, out_bytes, out_group, rounds, mac_interval)
    sfm_slot = pim.timings.t_ccd_s_cycles * pim.timings.tck_s * dram.refresh_factor(pim)
    busy_all = buffer_die_softmax_s(step, scores_layer)
    busy = busy_all / rounds
    outlasting = rounds * np.maximum(0.0, busy - moves.broadcast_s)
    exposed_softmax = sfm_slot + outlasting
    moved = q_in + 2 * score_bytes + up_extra_bytes + out_bytes
    return {
        "attn_softmax": _softmax_kernel(step, scores_layer, exposed_softmax, busy_all),
        "pim_data_movement": KernelCost.of(
            layers * moves.seconds,
            scale(move_energy(pim, pe.placement, moved), layers),
            BOUND["internal_bw"],
            "pim",
            bytes=layers * moved,
        ),
    }


def gpu_pim_link(step: Step) -> KernelCost:
    """q, new k and v to the PIM and the attention output back, each layer (two transfers)."""
    d = step.model.head_dim
    per_layer = (2 * step.q_heads_total + 2 * step.kv_heads_total) * d * FP16_BYTES
    layers = step.model.n_layers
    return link_transfer(step.pim.link, per_layer * layers, 2 * layers)


def kv_append(step: Step, bytes_per_vector: Num) -> KernelCost:
    """Write the step's new K and V vectors (`bytes_per_vector` each, as stored) into their banks.

    Each lands in one bank of its (sequence, KV head): all are written in parallel, so a layer costs
    one row write cycle (tRCD, columns, tWR, tRP) twice (K, then V) on the busiest bank.
    """
    pim, pe = step.pim, step.attention_pe
    vectors = 2 * step.kv_heads_total
    per_bank_vectors = np.ceil(vectors / pim.banks)
    st = dram.stream(pim, pe, per_bank_vectors * bytes_per_vector / pe.banks_per_pe, write=True)
    layers = step.model.n_layers
    energy = read_energy(pim, pe.placement, vectors * bytes_per_vector, vectors)
    return KernelCost.of(
        layers * st.seconds,
        scale(energy, layers),
        BOUND["activation"],
        "pim",
        bytes=layers * vectors * bytes_per_vector,
    )


def fp_token_attention(step: Step, tokens: Num) -> KernelCost:
    """Dense FP16 attention over the full-precision tokens (sinks, recent window) of a compressed cache."""
    phases = pim_dense_attention(step, tokens, FP16_BYTES, 1.0)
    score, value = phases["attn_score"], phases["attn_value"]
    return KernelCost.of(
        score.seconds + value.seconds,
        combine(score.energy_components, value.energy_components),
        score.bound_code,
        "pim",
        flops=score.flops + value.flops,
        bytes=score.bytes + value.bytes,
    )


def pim_bulk(
    step: Step, data_bytes: Num, macs: Num, passes: Num = 1.0, flops: Num | None = None
) -> KernelCost:
    """`passes` sweeps over `data_bytes` spread over all banks, with `macs` MACs (or comparable ops)
    spread over all attention PEs (k-means style bulk work), done once; `flops` default 2 x macs."""
    pim, pe = step.pim, step.attention_pe
    st = dram.stream(pim, pe, per_bank(data_bytes, pim.banks))
    busy = dram.compute_s(pim, pe, macs / step.pes(pe)) * dram.refresh_factor(pim)
    seconds = np.maximum(passes * st.seconds, busy)
    energy = scale(read_energy(pim, pe.placement, data_bytes, st.activations_per_bank * pim.banks), passes)
    return KernelCost.of(
        seconds,
        combine(energy, ops_energy(macs, pe.energy_pj_per_mac)),
        BOUND["compute"],
        "pim",
        flops=2 * macs if flops is None else flops,
        bytes=passes * data_bytes,
    )


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


def amortised_prefill(step: Step, work: KernelCost) -> KernelCost:
    """Prefill-time PIM `work` (done once) spread over the decode steps; only what outlasts the GPU
    prefill (`gpu_prefill_s`) shows."""
    exposed = np.maximum(0.0, work.seconds - gpu_prefill_s(step))
    steps = step.workload.decode_steps
    shown = exposed_share(exposed, work.seconds) / steps
    return KernelCost.of(
        exposed / steps,
        scale(work.energy_components, 1.0 / steps),
        where_bound(exposed > 0, "compute", BOUND["hidden"]),
        "pim",
        flops=work.flops * shown,
        bytes=work.bytes * shown,
    )
