"""AQPIM product quantization: m = head_dim / subvector_dim subspaces of n_centroids centroids each,
one codebook per (layer, KV head, tensor, sequence) (one per window under `windowed` refresh), codes
of ceil(log2 K) bits; sinks and the recent window in FP16. Attention on PIM runs on the codes
(hw/kernels/pq.py); on PIM a subspace's tokens spread over banks, which may keep codebook copies."""

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
from hw.kernels import attention, pq
from hw.kernels.step import Step
from hw.model_shape import ModelShape
from spec.algo import Pq


@dataclass(frozen=True)
class PqKv(KvFormat):
    name: ClassVar[str] = "pq"
    algo: Pq

    def codebook_layout(self, step: Step) -> CodebookLayout:
        """PQ attention on PIM spreads a slice's tokens over banks, `pq_codebook_copies` of which
        keep its codebooks; elsewhere a slice keeps one codebook."""
        if step.system.mapping.devices["attention"] != "pim":
            return ONE_BANK
        return CodebookLayout(banks=pq.subspace_banks(step, self.algo), copies=step.pim.pq_codebook_copies)

    def footprint(
        self, model: ModelShape, context_tokens: Num, batch: Num, layout: CodebookLayout = ONE_BANK
    ) -> Footprint:
        """Codes, every stored codebook copy (K x d FP16 a slice), FP16 sinks and window."""
        n, d, a = slices(model, batch), model.head_dim, self.algo
        fp = self.fp_tokens(context_tokens)
        codes = n * (context_tokens - fp) * (d / a.subvector_dim) * a.code_bits / 8
        stored = pq.stored_codebooks(a, context_tokens, layout.banks, layout.copies)
        return Footprint(
            codes=codes,
            codebooks=n * stored * a.n_centroids * d * FP16_BYTES,
            full_precision=n * fp * d * FP16_BYTES,
        )

    def rounding_slack(self, model: ModelShape, batch: Num, layout: CodebookLayout) -> Num:
        """Windowed: one more window's codebook per slice, plus the copies of windows spanning
        several banks (while windows W are fewer than the banks B, a slice stores min(c W, B)
        codebooks for c copies, at most B (1 - 1/c) above W). A static codebook never rounds."""
        if self.algo.refresh != "windowed":
            return 0.0
        key_slices = model.n_layers * model.n_kv_heads * batch
        copies = np.minimum(layout.copies, layout.banks)
        codebooks = 1.0 + layout.banks * (1.0 - 1.0 / copies)
        return 2 * key_slices * codebooks * self.algo.n_centroids * model.head_dim * FP16_BYTES

    def stored_bytes_per_vector(self, head_dim: Num) -> Num:
        return head_dim / self.algo.subvector_dim * self.algo.code_bits / 8

    def gpu_attention_work(self, step: Step) -> GpuAttentionWork:
        """Dense attention over the FP16 tokens; per query head the inner-product table and the
        histogram x codebook (2 x 2 K d FLOPs) plus one add per code for scores and one for the
        histogram."""
        m, ctx, a = step.model, step.context, self.algo
        full = self.fp_tokens(ctx)
        table_flops = 4 * a.n_centroids * m.head_dim + 2 * (ctx - full) * (m.head_dim / a.subvector_dim)
        flops = dense_gpu_flops(step) * full + step.q_heads_total * m.n_layers * table_flops
        return GpuAttentionWork(flops=flops, bytes_read=self.footprint(m, ctx, step.batch).total)

    def pim_attention(self, step: Step) -> PimAttention:
        """FP16 sinks and window densely; the rest on the codes. Every PE sends its partial scores
        (see `pq.partial_score_bytes`) and a partial output of one subvector a query head."""
        a = self.algo
        fp = self.fp_tokens(step.context)
        rest = step.context - fp
        kernels = {
            "attn_fp_tokens": attention.fp_token_attention(step, fp),
            "pq_ip_table": pq.ip_table(step, a, rest),
            "pq_table_movement": pq.table_movement(step, a, rest),
            "pq_score_lookup": pq.score_lookup(step, a, rest),
            "pq_value_accumulate": pq.value_accumulate(step, a, rest),
            "pq_encode": pq.encode(step, a),
            "pq_prefill_kmeans": pq.prefill_clustering(step, a),
            "pq_codebook_refresh": pq.codebook_refresh(step, a),
        }
        return PimAttention(
            kernels=kernels,
            softmax_scores=step.q_heads_total * step.context,
            moved_bytes=pq.partial_score_bytes(step, a, rest),
            output_dims_per_pe=a.subvector_dim,
        )
