"""Uncompressed FP16 KV cache (the AttAcc! baseline): every token in FP16, streamed densely."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

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
from hw.kernels import attention
from hw.kernels.step import Step
from hw.model_shape import ModelShape
from spec.algo import Fp16


@dataclass(frozen=True)
class Fp16Kv(KvFormat):
    name: ClassVar[str] = "fp16"
    algo: Fp16

    def fp_tokens(self, context_tokens: Num) -> Num:
        return context_tokens

    @property
    def knee_tokens(self) -> Num:
        """0: every token is FP16, so the footprint is linear from the first token."""
        return 0.0

    def footprint(
        self, model: ModelShape, context_tokens: Num, batch: Num, layout: CodebookLayout = ONE_BANK
    ) -> Footprint:
        full_precision = slices(model, batch) * context_tokens * model.head_dim * FP16_BYTES
        zero = 0.0 * full_precision
        return Footprint(codes=zero, codebooks=zero, full_precision=full_precision)

    def rounding_slack(self, model: ModelShape, batch: Num, layout: CodebookLayout) -> Num:
        return 0.0

    def stored_bytes_per_vector(self, head_dim: Num) -> Num:
        return head_dim * FP16_BYTES

    def gpu_attention_work(self, step: Step) -> GpuAttentionWork:
        fp = self.footprint(step.model, step.context, step.batch)
        return GpuAttentionWork(flops=dense_gpu_flops(step) * step.context, bytes_read=fp.total)

    def pim_attention(self, step: Step) -> PimAttention:
        ctx = step.context
        return PimAttention(
            kernels=attention.pim_dense_attention(step, ctx, FP16_BYTES, 1.0),
            softmax_scores=step.q_heads_total * ctx,
        )
