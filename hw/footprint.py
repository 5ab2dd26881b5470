"""The largest context whose KV cache fits a capacity, for any KV format.

A format's footprint (`KvFormat.footprint`) is affine in the context length above a small knee
(sinks + recent window) up to rounding (a new scale group, window codebook or cluster), which the
format bounds with `rounding_slack`; that is what `max_context_tokens` solves.
"""

from __future__ import annotations

import numpy as np

from hw.fields import Num
from hw.formats.base import FP16_BYTES, ONE_BANK, CodebookLayout, KvFormat
from hw.model_shape import ModelShape


def max_context_tokens(
    fmt: KvFormat,
    model: ModelShape,
    batch: Num,
    capacity_bytes: Num,
    layout: CodebookLayout = ONE_BANK,
) -> Num:
    """Largest context whose KV fits in `capacity_bytes` (0 when even one token does not).

    Above the knee (sinks + window) the footprint is bounded by an affine function of the context
    (per-token slope plus one more rounding unit: a codebook copy, a scale group or a centroid), so
    the answer is conservative: it always fits, and is at most one rounding unit short (windowed PQ
    with codebook copies: up to `layout.banks` codebooks a slice short).
    """
    knee = fmt.knee_tokens
    at_knee = fmt.footprint(model, np.maximum(knee, 1.0), batch, layout).total
    fp_per_token = 2 * model.n_layers * model.n_kv_heads * batch * model.head_dim * FP16_BYTES
    big = 1 << 22
    slope = _slope(fmt, model, batch, knee, big, layout)
    intercept = fmt.footprint(model, knee + big, batch, layout).total - slope * (knee + big)
    intercept = intercept + fmt.rounding_slack(model, batch, layout)
    above = np.floor((capacity_bytes - intercept) / slope)
    below = np.floor(capacity_bytes / fp_per_token)
    tokens = np.where(capacity_bytes >= at_knee, np.maximum(above, knee), np.minimum(below, knee))
    tokens = np.maximum(tokens, 0.0)
    return tokens if np.ndim(tokens) else float(tokens)


def _slope(fmt: KvFormat, model: ModelShape, batch: Num, knee: Num, span: int, layout: CodebookLayout) -> Num:
    """Bytes per extra token above the knee, measured over a span of whole groups and windows."""
    lo = fmt.footprint(model, knee + span, batch, layout)
    hi = fmt.footprint(model, knee + 2 * span, batch, layout)
    return (hi.total - lo.total) / span
