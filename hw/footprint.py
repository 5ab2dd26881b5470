"""KV-cache bytes per format, split into codes, codebooks (quantizer parameters) and FP16 tokens.

Totals cover the whole batch, every layer and every KV head, K and V. The footprint is affine in the
context length above a small knee (sinks + recent window), which is what max_context_tokens solves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.fields import Num
from hw.kv_format import ClusterSparseKv, Fp16Kv, KvFormat, PqKv, UniformKv
from hw.model_shape import ModelShape

FP16_BYTES = 2


@dataclass(frozen=True)
class Footprint:
    """KV bytes of the whole batch (all layers, KV heads, K and V)."""

    codes: Num
    codebooks: Num  # codebooks, centroids, or uniform scales and zero points
    full_precision: Num

    @property
    def total(self) -> Num:
        return self.codes + self.codebooks + self.full_precision


def fp_tokens(fmt: KvFormat, context_tokens: Num) -> Num:
    """Tokens kept in FP16 (sinks + recent window, capped by the context)."""
    if isinstance(fmt, Fp16Kv):
        return context_tokens
    return np.minimum(context_tokens, fmt.sink_tokens + fmt.window_tokens)


def kv_footprint(
    fmt: KvFormat,
    model: ModelShape,
    context_tokens: Num,
    batch: Num,
    codebook_banks: Num = 1.0,
    codebook_copies: Num = 1.0,
) -> Footprint:
    """Bytes of the KV cache at `context_tokens` tokens per sequence.

    PQ on PIM: `codebook_banks` PEs (banks) hold the tokens of one slice's subspace, and up to
    `codebook_copies` of them keep a copy of each of its codebooks (see `stored_codebooks`)."""
    slices = 2 * model.n_layers * model.n_kv_heads * batch  # (K or V) x layer x kv head x sequence
    d = model.head_dim
    fp = fp_tokens(fmt, context_tokens)
    rest = context_tokens - fp
    full_precision = slices * fp * d * FP16_BYTES
    zero = 0.0 * full_precision
    if isinstance(fmt, Fp16Kv):
        return Footprint(codes=zero, codebooks=zero, full_precision=full_precision)
    if isinstance(fmt, UniformKv):
        codes = slices * rest * d * fmt.bits / 8
        # keys: a scale+zero per channel per group of group_size tokens; values: per token per
        # group of group_size channels. Half the slices are keys, half values.
        key_groups = np.ceil(rest / fmt.group_size) * d
        value_groups = rest * np.ceil(d / fmt.group_size)
        scales = slices / 2 * (key_groups + value_groups) * 2 * fmt.scale_bytes
        return Footprint(codes=codes, codebooks=scales, full_precision=full_precision)
    if isinstance(fmt, PqKv):
        m = d / fmt.subvector_dim
        codes = slices * rest * m * fmt.code_bits / 8
        return Footprint(
            codes=codes,
            codebooks=slices
            * stored_codebooks(fmt, context_tokens, codebook_banks, codebook_copies)
            * fmt.n_centroids
            * d
            * FP16_BYTES,
            full_precision=full_precision,
        )
    assert isinstance(fmt, ClusterSparseKv)
    # Clustering reorders tokens but keeps them all in FP16; centroids are per key slice.
    clusters = np.ceil(rest / fmt.cluster_tokens)
    return Footprint(
        codes=zero,
        codebooks=slices / 2 * clusters * d * FP16_BYTES,
        full_precision=full_precision + slices * rest * d * FP16_BYTES,
    )


def slice_codebooks(fmt: PqKv, context_tokens: Num) -> Num:
    """Distinct codebooks a slice has: one, or one per window under the windowed refresh policy."""
    if fmt.refresh == "windowed":
        return np.maximum(1.0, np.ceil(context_tokens / fmt.refresh_window_tokens))
    return 1.0 + 0.0 * context_tokens


def codebook_span_banks(fmt: PqKv, context_tokens: Num, banks: Num) -> Num:
    """Banks that hold the tokens of one codebook when a slice's tokens are split over `banks`:
    all of them for a static codebook; under `windowed`, one while a bank holds whole windows
    (AQPIM's page-aware layout), banks / windows when a window spans several."""
    return np.maximum(1.0, banks / slice_codebooks(fmt, context_tokens))


def stored_codebooks(fmt: PqKv, context_tokens: Num, banks: Num, copies: Num) -> Num:
    """Codebooks stored per slice: each distinct codebook `copies` times, at most once per bank
    holding its tokens (`copies` >= those banks: every bank keeps its own, "replicated"; 1: one
    copy, "shared")."""
    span = codebook_span_banks(fmt, context_tokens, banks)
    return slice_codebooks(fmt, context_tokens) * np.minimum(copies, span)


def max_context_tokens(
    fmt: KvFormat,
    model: ModelShape,
    batch: Num,
    capacity_bytes: Num,
    codebook_banks: Num = 1.0,
    codebook_copies: Num = 1.0,
) -> Num:
    """Largest context whose KV fits in `capacity_bytes` (0 when even one token does not).

    Above the knee (sinks + window) the footprint is bounded by an affine function of the context
    (per-token slope plus one more rounding unit: a codebook copy, a scale group or a centroid), so
    the answer is conservative: it always fits, and is at most one rounding unit short (windowed PQ
    with codebook copies: up to `codebook_banks` codebooks a slice short).
    """
    knee = fp_tokens(fmt, np.inf) if not isinstance(fmt, Fp16Kv) else 0.0
    r = (codebook_banks, codebook_copies)
    at_knee = kv_footprint(fmt, model, np.maximum(knee, 1.0), batch, *r).total
    fp_per_token = 2 * model.n_layers * model.n_kv_heads * batch * model.head_dim * FP16_BYTES
    big = 1 << 22
    slope = _slope(fmt, model, batch, knee, big, *r)
    intercept = kv_footprint(fmt, model, knee + big, batch, *r).total - slope * (knee + big)
    intercept = intercept + _rounding_slack(fmt, model, batch, *r)
    above = np.floor((capacity_bytes - intercept) / slope)
    below = np.floor(capacity_bytes / fp_per_token)
    tokens = np.where(capacity_bytes >= at_knee, np.maximum(above, knee), np.minimum(below, knee))
    tokens = np.maximum(tokens, 0.0)
    return tokens if np.ndim(tokens) else float(tokens)


def _rounding_slack(
    fmt: KvFormat, model: ModelShape, batch: Num, codebook_banks: Num, codebook_copies: Num
) -> Num:
    """Bytes that rounding up (a new window's codebook, a new scale group, a new cluster) can add
    above the affine fit: one more of each per slice, so the affine bound never underestimates.
    Windowed PQ also adds the copies of windows spanning several banks: while windows W are fewer
    than the banks B, a slice stores min(c W, B) codebooks for c copies, at most B (1 - 1/c) above W."""
    key_slices = model.n_layers * model.n_kv_heads * batch
    if isinstance(fmt, PqKv) and fmt.refresh == "windowed":
        copies = np.minimum(codebook_copies, codebook_banks)
        codebooks = 1.0 + codebook_banks * (1.0 - 1.0 / copies)
        return 2 * key_slices * codebooks * fmt.n_centroids * model.head_dim * FP16_BYTES
    if isinstance(fmt, UniformKv):
        return key_slices * model.head_dim * 2 * fmt.scale_bytes
    if isinstance(fmt, ClusterSparseKv):
        return key_slices * model.head_dim * FP16_BYTES
    return 0.0


def _slope(
    fmt: KvFormat,
    model: ModelShape,
    batch: Num,
    knee: Num,
    span: int,
    codebook_banks: Num,
    codebook_copies: Num,
) -> Num:
    """Bytes per extra token above the knee, measured over a span of whole groups and windows."""
    lo = kv_footprint(fmt, model, knee + span, batch, codebook_banks, codebook_copies)
    hi = kv_footprint(fmt, model, knee + 2 * span, batch, codebook_banks, codebook_copies)
    return (hi.total - lo.total) / span
