"""STARC cluster-sparse KV cache: every token stays in FP16, keys clustered after prefill with one
FP16 centroid per cluster; a step reads the selected clusters, the new-token buffer and the sinks and
window (hw/kernels/cluster.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hw.fields import Num
from hw.formats.base import (
    FP16_BYTES,
    ONE_BANK,
    CodebookLayout,
    Footprint,
    GpuAttentionWork,
    KvFormat,
    PimAttention,
    dense_gpu_flops,
    slices,
)
from hw.kernels import attention, cluster
from hw.kernels.step import Step
from hw.model_shape import ModelShape
from spec.algo import ClusterSparse


@dataclass(frozen=True)
class ClusterSparseKv(KvFormat):
    name: ClassVar[str] = "cluster_sparse"
    algo: ClusterSparse

    def footprint(
        self, model: ModelShape, context_tokens: Num, batch: Num, layout: CodebookLayout = ONE_BANK
    ) -> Footprint:
        """Clustering reorders tokens but keeps them all in FP16; centroids are per key slice."""
        n, d = slices(model, batch), model.head_dim
        fp = self.fp_tokens(context_tokens)
        rest = context_tokens - fp
        full_precision = n * fp * d * FP16_BYTES
        clusters = np.ceil(rest / self.algo.cluster_tokens)
        return Footprint(
            codes=0.0 * full_precision,
            codebooks=n / 2 * clusters * d * FP16_BYTES,
            full_precision=full_precision + n * rest * d * FP16_BYTES,
        )

    def rounding_slack(self, model: ModelShape, batch: Num, layout: CodebookLayout) -> Num:
        """One more centroid per key slice."""
        key_slices = model.n_layers * model.n_kv_heads * batch
        return key_slices * model.head_dim * FP16_BYTES

    def stored_bytes_per_vector(self, head_dim: Num) -> Num:
        return head_dim * FP16_BYTES

    def gpu_attention_work(self, step: Step) -> GpuAttentionWork:
        """Score every centroid, then dense attention over the selected clusters, the buffer and the
        FP16 tokens; reads those tokens' K and V and the centroids."""
        m, ctx, a = step.model, step.context, self.algo
        full = self.fp_tokens(ctx)
        rest = ctx - full
        read = cluster.read_tokens(a, rest) + full
        scoring = 2 * step.q_heads_total * cluster.clusters(a, rest) * m.head_dim * m.n_layers
        centroids = self.footprint(m, ctx, step.batch).codebooks
        kv_read = 2 * step.kv_heads_total * m.n_layers * read * m.head_dim * FP16_BYTES + centroids
        return GpuAttentionWork(flops=dense_gpu_flops(step) * read + scoring, bytes_read=kv_read)

    def pim_attention(self, step: Step) -> PimAttention:
        """Sinks and window, centroid scores, selection, the selected clusters and the buffer; the
        softmax covers the tokens read, and the centroid scores go up to the selection too."""
        a = self.algo
        fp = self.fp_tokens(step.context)
        rest = step.context - fp
        kernels = {
            "attn_fp_tokens": attention.fp_token_attention(step, fp),
            "cs_centroid_score": cluster.centroid_score(step, a, rest),
            "cs_select": cluster.select(step, a, rest),
            "cs_cluster_reads": cluster.selected_reads(step, a, rest),
            "cs_buffer_tokens": attention.fp_token_attention(step, cluster.buffer_tokens(a, rest)),
            "cs_recluster": cluster.recluster(step, a),
            "cs_prefill_kmeans": cluster.prefill_clustering(step, a, rest),
        }
        scored = step.q_heads_total * cluster.clusters(a, rest)
        return PimAttention(
            kernels=kernels,
            softmax_scores=step.q_heads_total * (cluster.read_tokens(a, rest) + fp),
            moved_bytes=scored * FP16_BYTES,
        )
