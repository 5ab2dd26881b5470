"""STARC cluster-sparse attention on PIM (arXiv 2505.05772; docs/sources.md [starc]).

Keys are clustered after prefill; each cluster (cluster_tokens tokens) is stored contiguously and
aligned to DRAM rows. A decode step scores q against every centroid, selects whole clusters until
token_budget tokens, and reads only those (K and V, padded to whole rows). New tokens wait in an
always-read buffer (on average half of recluster_interval) that is clustered every
recluster_interval steps. Selection happens per KV head (its query heads' scores summed).
"""

from __future__ import annotations

import numpy as np

from hw import dram
from hw.energy import combine, ops_energy, read_energy, scale
from hw.fields import Num
from hw.kernels.attention import FP16_BYTES, amortised_prefill, pim_bulk, pim_gemv_phase, query_passes
from hw.kernels.step import Step
from hw.roofline import BOUND, KernelCost
from spec.algo import ClusterSparse


def buffer_tokens(kv: ClusterSparse, tokens: Num) -> Num:
    """Unclustered recent tokens, on average half a re-clustering interval."""
    return np.minimum(tokens, kv.recluster_interval / 2)


def clusters(kv: ClusterSparse, tokens: Num) -> Num:
    return np.ceil((tokens - buffer_tokens(kv, tokens)) / kv.cluster_tokens)


def selected_clusters(kv: ClusterSparse, tokens: Num) -> Num:
    return np.minimum(clusters(kv, tokens), np.ceil(kv.token_budget / kv.cluster_tokens))


def selected_reads(step: Step, kv: ClusterSparse, tokens: Num) -> KernelCost:
    """Read the selected clusters' K and V rows and do the two GEMVs on them.

    A cluster takes ceil(cluster bytes / row) whole rows (padded), striped one row a bank; the
    selected rows of all KV heads spread over the banks, so the busiest bank streams
    ceil(selected rows / banks) rows and its PE does the MACs of the tokens in them.
    """
    pim, pe = step.pim, step.attention_pe
    d = step.model.head_dim
    rows_per_cluster = np.ceil(kv.cluster_tokens * d * FP16_BYTES / pim.row_bytes)
    selected_rows = step.kv_heads_total * selected_clusters(kv, tokens) * rows_per_cluster
    rows_per_bank = np.ceil(selected_rows / pim.banks)
    st = dram.stream(pim, pe, rows_per_bank * pim.row_bytes * query_passes(step))
    tokens_per_row = kv.cluster_tokens / rows_per_cluster
    macs_per_pe = rows_per_bank * pe.banks_per_pe * tokens_per_row * d * step.model.gqa_group
    seconds, bound = dram.with_compute(pim, st, dram.compute_s(pim, pe, macs_per_pe))
    read_bytes = selected_rows * pim.row_bytes
    macs = step.q_heads_total * selected_clusters(kv, tokens) * kv.cluster_tokens * d
    energy = combine(
        read_energy(pim, pe.placement, read_bytes, selected_rows), ops_energy(macs, pe.energy_pj_per_mac)
    )
    layers = 2 * step.model.n_layers  # K then V
    return KernelCost.of(
        layers * seconds,
        scale(energy, layers),
        bound,
        "pim",
        flops=layers * 2 * macs,
        bytes=layers * read_bytes * query_passes(step),
    )


def read_tokens(kv: ClusterSparse, tokens: Num) -> Num:
    """Tokens read a step: the selected clusters' (at most all clustered tokens) and the buffer."""
    buf = buffer_tokens(kv, tokens)
    return np.minimum(selected_clusters(kv, tokens) * kv.cluster_tokens, tokens - buf) + buf


def centroid_score(step: Step, kv: ClusterSparse, tokens: Num) -> KernelCost:
    """q against every key centroid of `tokens` clusterable tokens (a GEMV over the centroids)."""
    n_c = clusters(kv, tokens)
    centroid_bytes = step.kv_heads_total * n_c * step.model.head_dim * FP16_BYTES
    return pim_gemv_phase(step, centroid_bytes, step.q_heads_total * n_c * step.model.head_dim)


def select(step: Step, kv: ClusterSparse, tokens: Num) -> KernelCost:
    """Sort the centroid scores (n log n ops a query head) on the buffer-die PE, else the attention PE."""
    pim = step.pim
    n_c = clusters(kv, tokens)
    select_ops = step.q_heads_total * n_c * np.log2(n_c + 1)
    select_pe = pim.pes.get("buffer_die", step.attention_pe)
    select_s = dram.compute_s(pim, select_pe, select_ops / step.pes(select_pe)) * step.model.n_layers
    return KernelCost.of(
        select_s,
        ops_energy(select_ops * step.model.n_layers, select_pe.energy_pj_per_mac),
        BOUND["compute"],
        "pim",
        flops=select_ops * step.model.n_layers,  # compares of FP16 scores
    )


def recluster(step: Step, kv: ClusterSparse) -> KernelCost:
    """k-means of the new-token buffer (recluster_interval tokens of every key slice), amortised
    over the interval."""
    d = step.model.head_dim
    slices = step.kv_heads_total * step.model.n_layers  # key slices
    interval = kv.recluster_interval
    work = pim_bulk(
        step,
        slices * interval * d * FP16_BYTES,
        kv.kmeans_iters * slices * interval * np.ceil(interval / kv.cluster_tokens) * d,
        passes=kv.kmeans_iters,
    )
    return work.spread_over(interval)


def prefill_clustering(step: Step, kv: ClusterSparse, tokens: Num) -> KernelCost:
    """k-means of the prefill's keys into the clusters of `tokens` clusterable tokens, amortised
    over the decode steps (hidden under the GPU prefill when shorter)."""
    d = step.model.head_dim
    slices = step.kv_heads_total * step.model.n_layers  # key slices
    work = pim_bulk(
        step,
        slices * step.context * d * FP16_BYTES,
        kv.kmeans_iters * slices * step.context * clusters(kv, tokens) * d,
        passes=kv.kmeans_iters,
    )
    return amortised_prefill(step, work)
