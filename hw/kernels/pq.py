"""AQPIM product-quantized attention on PIM, computed directly on the codes.

Layout (AQPIM: one subvector per bank): each PE owns one subspace j of a group of tokens of one
(sequence, KV head); the m PEs of a token group hold the m subspaces, and the tokens of a KV head
are split over `subspace_banks` such groups. `pim.pq_codebook_copies` of those PEs keep the subspace
codebooks (K x s FP16): every one of them ("replicated"), or fewer, down to one ("shared"), in which
case the PEs that keep one build the inner-product tables and copy them to the others each step.

Per layer and decode step:
- ip_table: a PE with the codebook builds IP[c] = q_j . C_j[c] for each query head of its KV head
  (K s MACs); every PE writes the K FP16 entries into a DRAM row (or keeps them in its buffer,
  `pq_lookup: pe_buffer`);
- table_movement (fewer copies than PEs): tables to the PEs without a codebook, histograms (or the
  V codebook, for `reconstruct`) between them and the PEs with one, over the bank <-> buffer-die bus;
- score_lookup: the PE streams its codes in chunks that fit half its buffer and, per code and query
  head, reads IP[code] from the open table row ("intra-row indirection"); row switches per chunk;
- the m partial scores of every token (m / head_split after the bank-group adder tree) go to the
  buffer die to be summed, then softmax;
- value_accumulate: probabilities come back, each PE adds p into a K-bin histogram of its V codes
  (read-modify-write in an open row), then multiplies the histogram by its V codebook (K s MACs);
  or, with `pq_value: reconstruct`, fetches each code's centroid once for all query heads of the
  KV head and accumulates p x centroid;
- encode: the new K and V token is assigned to the nearest centroid (K s MACs and K compares in
  every subspace PE);
- amortised: prefill k-means (hidden under the GPU's prefill when shorter) and codebook refresh.
"""

from __future__ import annotations

import numpy as np

from hw import dram
from hw.energy import (
    Parts,
    activation_energy,
    cell_energy,
    combine,
    move_energy,
    ops_energy,
    read_energy,
    scale,
)
from hw.fields import Num
from hw.kernels.attention import amortised_prefill, pim_bulk
from hw.kernels.step import Step, per_bank
from hw.roofline import BOUND, KernelCost, where_bound
from spec.algo import Pq

FP16_BYTES = 2
RMW_COMMANDS = 2  # a histogram update reads and writes one column


def subspaces(step: Step, kv: Pq) -> Num:
    return step.model.head_dim / kv.subvector_dim


def slice_codebooks(kv: Pq, context_tokens: Num) -> Num:
    """Distinct codebooks a slice has: one, or one per window under the windowed refresh policy."""
    if kv.refresh == "windowed":
        return np.maximum(1.0, np.ceil(context_tokens / kv.refresh_window_tokens))
    return 1.0 + 0.0 * context_tokens


def codebook_span_banks(kv: Pq, context_tokens: Num, banks: Num) -> Num:
    """Banks that hold the tokens of one codebook when a slice's tokens are split over `banks`:
    all of them for a static codebook; under `windowed`, one while a bank holds whole windows
    (AQPIM's page-aware layout), banks / windows when a window spans several."""
    return np.maximum(1.0, banks / slice_codebooks(kv, context_tokens))


def stored_codebooks(kv: Pq, context_tokens: Num, banks: Num, copies: Num) -> Num:
    """Codebooks stored per slice: each distinct codebook `copies` times, at most once per bank
    holding its tokens (`copies` >= those banks: every bank keeps its own, "replicated"; 1: one
    copy, "shared")."""
    span = codebook_span_banks(kv, context_tokens, banks)
    return slice_codebooks(kv, context_tokens) * np.minimum(copies, span)


def subspace_banks(step: Step, kv: Pq) -> Num:
    """PEs the tokens of one (sequence, KV head, subspace) slice are split over: data is striped over
    every PE, so PEs / slices on average when PEs outnumber slices, else one."""
    return np.maximum(1.0, step.pes(step.attention_pe) / (step.kv_heads_total * subspaces(step, kv)))


def codebooks_per_unit(step: Step, kv: Pq, tokens: Num) -> Num:
    """Codebooks (so inner-product tables per query head) behind one PE's tokens of a slice: one,
    or under `windowed` refresh one per window of the tokens it holds (AQPIM's page-aware layout:
    one window's K inner products fill one row)."""
    if kv.refresh != "windowed":
        return 1.0
    return np.maximum(1.0, np.ceil(tokens / subspace_banks(step, kv) / kv.refresh_window_tokens))


def table_sets(step: Step, kv: Pq, tokens: Num) -> tuple[Num, Num]:
    """(built, needed): sets of inner-product tables (one table per query head each) per slice and
    layer. Every PE holding tokens of a codebook needs that codebook's tables; only the PEs keeping
    a copy of it build them (so built = stored codebooks)."""
    banks = subspace_banks(step, kv)
    built = stored_codebooks(kv, tokens, banks, step.pim.pq_codebook_copies)
    needed = slice_codebooks(kv, tokens) * codebook_span_banks(kv, tokens, banks)
    return built, needed


def units_per_pe(step: Step, kv: Pq, tensors: Num = 1.0) -> Num:
    """(sequence, KV head, subspace) slices each PE serves, at least one (replicas split tokens)."""
    return np.maximum(1.0, step.kv_heads_total * subspaces(step, kv) * tensors / step.pes(step.attention_pe))


def table_fits_buffer(step: Step, kv: Pq, tables: Num | None = None, entry_bytes: Num = FP16_BYTES) -> Num:
    """Whether `tables` K-entry tables (default: one per query head of a KV head) fit half the PE
    buffer (the other half holds codes)."""
    tables = step.model.gqa_group if tables is None else tables
    return tables * kv.n_centroids * entry_bytes <= step.attention_pe.buffer_bytes / 2


def _lookup(
    step: Step,
    kv: Pq,
    lookups: Num,
    code_bytes: Num,
    rmw: float,
    entry_bytes: Num = FP16_BYTES,
    tables: Num | None = None,
) -> tuple[Num, Num, int | np.ndarray]:
    """Seconds, activations and bound per PE for `lookups` accesses (`rmw` commands each) to a
    K-entry table of `entry_bytes` entries. Codes are read in chunks of half the PE buffer; each
    chunk switches rows to the code row and back to each query head's table."""
    pim, pe = step.pim, step.attention_pe
    tables = step.model.gqa_group if tables is None else tables
    table_rows = np.ceil(kv.n_centroids * entry_bytes / pim.row_bytes)
    chunk = np.maximum(pe.buffer_bytes / 2, pim.column_bytes)
    switches = np.ceil(code_bytes / chunk) * (1 + tables)
    row_s, row_acts = dram.lookup_s(pim, pe, lookups * rmw, table_rows, switches, mode="intra_row")
    if pim.pq_lookup == "intra_row":
        return row_s, row_acts, BOUND["command"]
    mode_s, mode_acts = dram.lookup_s(pim, pe, lookups * rmw, table_rows, switches, mode=pim.pq_lookup)
    if pim.pq_lookup == "per_lookup_activation":
        return mode_s, mode_acts, BOUND["activation"]
    # A table too big for the buffer falls back to the open row.
    fits = table_fits_buffer(step, kv, tables, entry_bytes)
    return (
        np.where(fits, mode_s, row_s),
        np.where(fits, mode_acts, row_acts),
        where_bound(fits, "compute", BOUND["command"]),
    )


def table_reads_dram(step: Step, kv: Pq, tables: Num | None = None, entry_bytes: Num = FP16_BYTES) -> Num:
    """1 where table lookups read DRAM columns, 0 where the tables sit in the PE buffer
    (`pq_lookup: pe_buffer` and they fit, as `_lookup` times them)."""
    if step.pim.pq_lookup != "pe_buffer":
        return 1.0
    return np.where(table_fits_buffer(step, kv, tables, entry_bytes), 0.0, 1.0)


def _per_layer(
    step: Step, seconds: Num, energy: Parts, bound: int | np.ndarray, flops: Num = 0.0, moved: Num = 0.0
) -> KernelCost:
    """A kernel from its per-layer seconds, energy, FLOPs and bytes (`KernelCost.bytes`), all layers."""
    layers = step.model.n_layers
    return KernelCost.of(
        layers * seconds, scale(energy, layers), bound, "pim", flops=layers * flops, bytes=layers * moved
    )


def ip_table(step: Step, kv: Pq, tokens: Num) -> KernelCost:
    """Read the K codebook (K x s FP16), do K s MACs per query head, write the K-entry table to a
    row; once per codebook behind the PE's tokens (one per window under `windowed`).

    With `pq_lookup: pe_buffer` and a table that fits the buffer, nothing is written back.
    Time is the busiest PE's, one with a codebook copy; energy counts the reads and MACs of the
    PEs that build tables (built / needed of them) and the table writes of every PE.
    """
    pim, pe = step.pim, step.attention_pe
    u = units_per_pe(step, kv) * codebooks_per_unit(step, kv, tokens)
    g = step.model.gqa_group
    macs = u * g * kv.n_centroids * kv.subvector_dim
    codebook_bytes = u * kv.n_centroids * kv.subvector_dim * FP16_BYTES
    table_bytes = u * g * kv.n_centroids * FP16_BYTES
    if pim.pq_lookup == "pe_buffer":
        table_bytes = np.where(table_fits_buffer(step, kv), 0.0, table_bytes)
    read = dram.stream(pim, pe, codebook_bytes / pe.banks_per_pe)
    written = dram.stream(pim, pe, table_bytes / pe.banks_per_pe, write=True)
    seconds, bound = dram.with_compute(pim, read, dram.compute_s(pim, pe, macs))
    n = step.pes(pe)
    built, needed = table_sets(step, kv, tokens)
    building = built / needed  # share of the PEs that build tables
    energy = combine(
        scale(
            read_energy(pim, pe.placement, codebook_bytes * n, read.activations_per_bank * pim.banks),
            building,
        ),
        read_energy(pim, pe.placement, table_bytes * n, written.activations_per_bank * pim.banks),
        ops_energy(macs * n * building, pe.energy_pj_per_mac),
    )
    moved = (codebook_bytes * building + table_bytes) * n
    return _per_layer(step, seconds + written.seconds, energy, bound, 2 * macs * n * building, moved)


def table_movement(step: Step, kv: Pq, tokens: Num) -> KernelCost:
    """Per layer, the data a shared codebook makes cross the bank <-> buffer-die bus (one column per
    move command on every pseudo-channel): each table set built for PEs without a codebook copy goes
    up once from the PE that built it and down into each such PE, one K-entry FP16 table per query
    head (the table depends on q, so it cannot be copied once at prefill); for V the reverse, each
    such PE's K-bin histogram per query head up and the sum down into a PE with the V codebook
    (`pq_value: reconstruct`: the V codebook, K x s FP16 per KV head, down to them instead). Nothing
    moves when every PE keeps its own copy, nor over the bus when the attention PEs sit on the
    buffer die (their transfers stay on the logic die, not modelled)."""
    pim, pe = step.pim, step.attention_pe
    built, needed = table_sets(step, kv, tokens)
    received = needed - built
    sent = np.minimum(built, received)  # a builder sends each table set up once, however many receive it
    table_bytes = step.model.gqa_group * kv.n_centroids * FP16_BYTES
    if pim.pq_value == "histogram":
        value_bytes = table_bytes
    else:
        value_bytes = kv.n_centroids * kv.subvector_dim * FP16_BYTES
    moved = step.kv_heads_total * subspaces(step, kv) * (sent + received) * (table_bytes + value_bytes)
    if pe.placement == "buffer_die":
        moved = 0.0 * moved
    bound = where_bound(moved > 0, "internal_bw", BOUND["none"])
    return _per_layer(step, dram.bus_s(pim, moved), move_energy(pim, pe.placement, moved), bound, moved=moved)


def score_lookup(step: Step, kv: Pq, tokens: Num) -> KernelCost:
    """Read every code once per KV head, look it up in each query head's table, add."""
    pim, pe = step.pim, step.attention_pe
    n = step.pes(pe)
    m = subspaces(step, kv)
    code_bytes = step.kv_heads_total * tokens * m * kv.code_bits / 8
    lookups = step.q_heads_total * tokens * m / n
    st = dram.stream(pim, pe, per_bank(code_bytes, pim.banks))
    look_s, acts, look_bound = _lookup(step, kv, lookups, code_bytes / n, 1.0)
    add_s = dram.compute_s(pim, pe, lookups)
    seconds = st.seconds + np.maximum(look_s, add_s)
    looked_up_bytes = lookups / pe.lookups_per_cmd * n * pim.column_bytes  # the columns the lookups read
    energy = combine(
        read_energy(pim, pe.placement, code_bytes, st.activations_per_bank * pim.banks),
        activation_energy(pim, acts * n),
        ops_energy(lookups * n, pe.energy_pj_per_mac),
        cell_energy(pim, looked_up_bytes),
    )
    table_bytes = table_reads_dram(step, kv) * looked_up_bytes
    bound = where_bound(add_s > look_s, "compute", look_bound)
    return _per_layer(step, seconds, energy, bound, lookups * n, code_bytes + table_bytes)


def value_accumulate(step: Step, kv: Pq, tokens: Num) -> KernelCost:
    """p.V on the V codes, by `pq_value`.

    histogram: add p into the K-bin histogram of each code (a read-modify-write in the open
    histogram row: two column commands), one histogram per query head (p differs per query head),
    then multiply the histogram by the codebook (K s MACs a query head). reconstruct: fetch each
    code's centroid (s FP16, ceil(2 s / column) columns) from the codebook rows, which span
    ceil(K s 2 / row) rows, once for all the query heads of its KV head, and accumulate
    p x centroid (s MACs a query head).
    """
    pim, pe = step.pim, step.attention_pe
    n = step.pes(pe)
    m = subspaces(step, kv)
    code_bytes = step.kv_heads_total * tokens * m * kv.code_bits / 8
    updates = step.q_heads_total * tokens * m / n
    st = dram.stream(pim, pe, per_bank(code_bytes, pim.banks))
    if pim.pq_value == "histogram":
        look_s, acts, look_bound = _lookup(step, kv, updates, code_bytes / n, RMW_COMMANDS)
        u = units_per_pe(step, kv) * codebooks_per_unit(step, kv, tokens)  # a histogram per codebook
        gemv = u * step.model.gqa_group * kv.n_centroids * kv.subvector_dim
        built, needed = table_sets(step, kv, tokens)
        # Time: the busiest PE, one with the codebook; energy: only PEs with a copy multiply (the
        # others' histograms are summed into theirs, see table_movement).
        mac_s = dram.compute_s(pim, pe, updates + gemv)
        macs = updates + gemv * built / needed
        flops = updates + 2 * gemv * built / needed  # an add per update, a MAC per GEMV weight
        commands = updates * RMW_COMMANDS
        in_dram = table_reads_dram(step, kv)
    else:
        # The codebook is per KV head, so one centroid fetch serves every query head sharing it;
        # each query head then does s MACs with its own probability.
        centroid_bytes = kv.subvector_dim * FP16_BYTES
        fetches = step.kv_heads_total * tokens * m / n
        cols_per_centroid = np.ceil(centroid_bytes / pim.column_bytes)
        look_s, acts, look_bound = _lookup(
            step, kv, fetches, code_bytes / n, cols_per_centroid, entry_bytes=centroid_bytes, tables=1.0
        )
        macs = updates * kv.subvector_dim
        mac_s = dram.compute_s(pim, pe, macs)
        flops = 2 * macs
        commands = fetches * cols_per_centroid
        in_dram = table_reads_dram(step, kv, 1.0, centroid_bytes)
    seconds = st.seconds + np.maximum(look_s, mac_s)
    looked_up_bytes = commands / pe.lookups_per_cmd * n * pim.column_bytes  # the columns the commands read
    energy = combine(
        read_energy(pim, pe.placement, code_bytes, st.activations_per_bank * pim.banks),
        activation_energy(pim, acts * n),
        cell_energy(pim, looked_up_bytes),
        ops_energy(macs * n, pe.energy_pj_per_mac),
    )
    moved = code_bytes + in_dram * looked_up_bytes
    bound = where_bound(mac_s > look_s, "compute", look_bound)
    return _per_layer(step, seconds, energy, bound, flops * n, moved)


def partial_score_bytes(step: Step, kv: Pq, tokens: Num) -> Num:
    """Bank -> buffer bytes per layer: FP16 partial scores per token and query head, one per
    subspace after the adder tree that sums the `head_split` banks of a group (AttAcc!'s bank-group
    adder tree, which the same PEs already have for split dot products)."""
    partials = np.maximum(1.0, subspaces(step, kv) / step.attention_pe.head_split)
    return step.q_heads_total * tokens * partials * FP16_BYTES


def encode(step: Step, kv: Pq) -> KernelCost:
    """Assign the step's new K and V vectors to their nearest centroid in every subspace."""
    pim, pe = step.pim, step.attention_pe
    u = units_per_pe(step, kv, tensors=2.0)
    macs = u * kv.n_centroids * (kv.subvector_dim + 1)  # distances plus running-min compares
    codebook_bytes = u * kv.n_centroids * kv.subvector_dim * FP16_BYTES
    st = dram.stream(pim, pe, codebook_bytes / pe.banks_per_pe)
    seconds, bound = dram.with_compute(pim, st, dram.compute_s(pim, pe, macs))
    n = step.pes(pe)
    energy = combine(
        read_energy(pim, pe.placement, codebook_bytes * n, st.activations_per_bank * pim.banks),
        ops_energy(macs * n, pe.energy_pj_per_mac),
    )
    flops = u * kv.n_centroids * (2 * kv.subvector_dim + 1)  # distance MACs, compares
    return _per_layer(step, seconds, energy, bound, flops * n, codebook_bytes * n)


def kmeans(step: Step, kv: Pq, tokens: Num, iters: Num) -> KernelCost:
    """k-means over `tokens` tokens in every subspace of K and V, all layers, on the attention PEs
    (the whole run, not amortised).

    Each iteration reads the subvectors (FP16) and does K s MACs plus K compares per subvector (the
    running argmin stays in the bank PE), then one add per element into the centroid sums.
    """
    slices = step.kv_heads_total * 2 * step.model.n_layers
    data_bytes = slices * tokens * step.model.head_dim * FP16_BYTES
    per_subvector = kv.n_centroids * (kv.subvector_dim + 1) + kv.subvector_dim
    subvectors = iters * slices * tokens * subspaces(step, kv)
    flops_per_subvector = kv.n_centroids * (2 * kv.subvector_dim + 1) + kv.subvector_dim
    return pim_bulk(
        step, data_bytes, subvectors * per_subvector, passes=iters, flops=subvectors * flops_per_subvector
    )


def prefill_clustering(step: Step, kv: Pq) -> KernelCost:
    """Prefill k-means amortised over the decode steps; only what outlasts the GPU prefill is exposed."""
    return amortised_prefill(step, kmeans(step, kv, step.context, kv.kmeans_iters))


def codebook_refresh(step: Step, kv: Pq) -> KernelCost:
    """Refresh policy cost per step: windowed re-clusters each window's tokens once per window;
    online rewrites the codebooks every `refresh_interval` steps; static costs nothing."""
    pim, pe = step.pim, step.attention_pe
    if kv.refresh == "static":
        return KernelCost.of(0.0, {}, BOUND["none"], "pim")
    codebook_bytes = (
        2 * step.kv_heads_total * step.model.n_layers * kv.n_centroids * step.model.head_dim * FP16_BYTES
    )
    copy = dram.stream(pim, pe, 2 * per_bank(codebook_bytes, pim.banks))
    copy_j = scale(read_energy(pim, pe.placement, codebook_bytes, copy.activations_per_bank * pim.banks), 2.0)
    if kv.refresh == "windowed":
        km = kmeans(step, kv, kv.refresh_window_tokens, kv.kmeans_iters)
        work = KernelCost.of(
            km.seconds + copy.seconds,
            combine(km.energy_components, copy_j),
            BOUND["compute"],
            "pim",
            flops=km.flops,
            bytes=km.bytes + 2 * codebook_bytes,
        )
        return work.spread_over(kv.refresh_window_tokens)
    copied = KernelCost.of(copy.seconds, copy_j, BOUND["internal_bw"], "pim", bytes=2 * codebook_bytes)
    return copied.spread_over(kv.refresh_interval)

