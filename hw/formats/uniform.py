"""KIVI-style uniform int-k KV cache: keys per channel over groups of `group_size` tokens, values per
token over groups of `group_size` channels, each group with an FP16 scale and zero point; sinks and
the recent window in FP16. Attention runs densely on the codes (dequantised on FP16-only PEs)."""

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
from hw.kernels import attention
from hw.kernels.step import Step
from hw.model_shape import ModelShape
from spec.algo import Uniform


@dataclass(frozen=True)
class UniformKv(KvFormat):
    name: ClassVar[str] = "uniform"
    algo: Uniform

    def footprint(
        self, model: ModelShape, context_tokens: Num, batch: Num, layout: CodebookLayout = ONE_BANK
    ) -> Footprint:
        n, d, u = slices(model, batch), model.head_dim, self.algo
        fp = self.fp_tokens(context_tokens)
        rest = context_tokens - fp
        codes = n * rest * d * u.bits / 8
        # keys: a scale+zero per channel per group of group_size tokens; values: per token per
        # group of group_size channels. Half the slices are keys, half values.
        key_groups = np.ceil(rest / u.group_size) * d
        value_groups = rest * np.ceil(d / u.group_size)
        scales = n / 2 * (key_groups + value_groups) * 2 * u.scale_bytes
        return Footprint(codes=codes, codebooks=scales, full_precision=n * fp * d * FP16_BYTES)

    def rounding_slack(self, model: ModelShape, batch: Num, layout: CodebookLayout) -> Num:
        """One more key scale group per key slice."""
        key_slices = model.n_layers * model.n_kv_heads * batch
        return key_slices * model.head_dim * 2 * self.algo.scale_bytes

    def stored_bytes_per_vector(self, head_dim: Num) -> Num:
        return head_dim * self.algo.bits / 8

    def gpu_attention_work(self, step: Step) -> GpuAttentionWork:
        """Dense attention plus 2 FLOPs an element to dequantise."""
        m, ctx = step.model, step.context
        dequantise = 2 * step.kv_heads_total * ctx * m.head_dim * m.n_layers * 2
        fp = self.footprint(m, ctx, step.batch)
        return GpuAttentionWork(flops=dense_gpu_flops(step) * ctx + dequantise, bytes_read=fp.total)

    def pim_attention(self, step: Step) -> PimAttention:
        """FP16 sinks and window, then both GEMVs on the codes plus their share of scales and zeros."""
        fp = self.fp_tokens(step.context)
        bytes_per_elem = self.algo.bits / 8 + 2 * self.algo.scale_bytes / self.algo.group_size
        ops_per_mac = 1.0 if step.attention_pe.int_mac else 2.0  # FP16-only PEs dequantise first
        kernels = {"attn_fp_tokens": attention.fp_token_attention(step, fp)}
        kernels |= attention.pim_dense_attention(step, step.context - fp, bytes_per_elem, ops_per_mac)
        return PimAttention(kernels=kernels, softmax_scores=step.q_heads_total * step.context)
