"""Attention on the GPU: over KV in its own memory, in host memory (offload), or spilled from PIM."""

from __future__ import annotations

import numpy as np

from hw.fields import Num
from hw.footprint import FP16_BYTES, fp_tokens, kv_footprint
from hw.kernels.cluster import buffer_tokens, clusters, selected_clusters
from hw.kernels.dense import gpu_roofline
from hw.kernels.step import Step
from hw.kernels.transfer import link_transfer, nonzero_transfers
from hw.kv_format import ClusterSparseKv, PqKv, UniformKv
from hw.roofline import KernelCost, where_bound


def attention_work(step: Step) -> tuple[Num, Num]:
    """FLOPs and KV bytes one decode step's attention needs on a GPU, by KV format.

    Dense formats: 4 FLOPs per cached element per query head (q.K and p.V), uniform adds 2 per
    element to dequantise. PQ: per query head, the inner-product table and the histogram x codebook
    (2 x 2 K d) plus one add per code for scores and one for the histogram. Cluster-sparse reads
    the centroids and only the selected clusters, the buffer and the FP16 tokens.
    """
    m, kv, ctx = step.model, step.kv, step.context
    d, layers, q = m.head_dim, m.n_layers, step.q_heads_total
    fp = kv_footprint(kv, m, ctx, step.batch)
    dense = 4 * q * d * layers
    if isinstance(kv, PqKv):
        full = fp_tokens(kv, ctx)
        subspaces = d / kv.subvector_dim
        table_flops = 4 * kv.n_centroids * d + 2 * (ctx - full) * subspaces
        return dense * full + q * layers * table_flops, fp.total
    if isinstance(kv, UniformKv):
        return dense * ctx + 2 * step.kv_heads_total * ctx * d * layers * 2, fp.total
    if isinstance(kv, ClusterSparseKv):
        full = fp_tokens(kv, ctx)
        rest = ctx - full
        read = (
            np.minimum(selected_clusters(kv, rest) * kv.cluster_tokens, rest) + buffer_tokens(kv, rest) + full
        )
        scoring = 2 * q * clusters(kv, rest) * d * layers
        kv_read = 2 * step.kv_heads_total * layers * read * d * FP16_BYTES + fp.codebooks
        return dense * read + scoring, kv_read
    return dense * ctx, fp.total


def idle_as_none(kernel: KernelCost) -> KernelCost:
    """A kernel with nothing to do reports bound "none"."""
    code = where_bound(kernel.seconds <= 0, "none", kernel.bound_code)
    return KernelCost(kernel.seconds, kernel.energy_j, code, kernel.device, kernel.energy_parts)


def host_kv_read(step: Step, host_bytes: Num) -> KernelCost:
    """KV in host memory crosses the host link every decode step (one transfer a layer)."""
    layers = step.model.n_layers
    link = link_transfer(
        step.system.host_link, host_bytes, nonzero_transfers(host_bytes, layers), host=step.system.host
    )
    return idle_as_none(link)


def gpu_attention(step: Step, host_share: Num) -> dict[str, KernelCost]:
    """Attention on the GPU; `host_share` of the KV bytes come from host memory over the host link."""
    flops, kv_read = attention_work(step)
    return {
        "attention_gpu": gpu_roofline(step, flops, kv_read * (1.0 - host_share)),
        "kv_host_transfer": host_kv_read(step, kv_read * host_share),
    }


def spilled_attention(spilled: Step, spill_bytes: Num) -> dict[str, KernelCost]:
    """The `spill_bytes` of KV that did not fit the PIM (the context of `spilled`): read from host
    memory every step and attended on the GPU."""
    flops, _ = attention_work(spilled)
    flops = np.where(spill_bytes > 0, flops, 0.0)  # no spill: no tables or centroids to score either
    return {
        "attention_spill_gpu": idle_as_none(gpu_roofline(spilled, flops, 0.0 * flops)),
        "kv_spill_transfer": host_kv_read(spilled, spill_bytes),
    }
