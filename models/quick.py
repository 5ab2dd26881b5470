"""Quick mode: attention-output fidelity of real decode queries against exact attention.

For the captured layers of every evaluation sequence, the last `queries_per_seq` decode queries attend
over the cache as the algorithm leaves it after streaming the whole sequence; metrics compare with
exact FP32 attention and are averaged over sequences, layers, heads and queries. `loss_increase_est`
maps them to an estimate of the full-mode next-token loss increase in nats/token (`models.quick_fit`).
"""

from __future__ import annotations

import torch

from .attention import compressed_attention, fidelity_metrics, reference_attention
from .calibration import Calibration
from .capture import CaptureKey, load_capture
from .formats import KvBatch, KvFormat
from .quick_fit import shipped_fit
from .result import ModeResult
from .spec import ProxySpec


def score_quick(fmt: KvFormat, spec: ProxySpec) -> ModeResult:
    cap = load_capture(spec, CaptureKey("eval", spec.layers))
    layers = tuple(int(i) for i in cap["layers"])
    k, v = cap["k"].flatten(0, 1), cap["v"].flatten(0, 1)  # [S*Y, G, L, d], caches ordered (seq, layer)
    q = cap["q_dec"].flatten(0, 1)[:, :, -spec.queries_per_seq:]
    length = k.shape[2]
    q_pos = torch.arange(length - spec.queries_per_seq, length)
    batch = KvBatch.stored(k, v, cap["q_tail"].flatten(0, 1), spec.prefill_tokens)
    calibration = Calibration(spec, layers, torch.arange(k.shape[0]) % len(layers))
    comp = fmt.compress(batch, fmt.fit(batch, calibration))
    out, p = compressed_attention(q, k, v, comp.k_hat, comp.v_hat, q_pos, comp.region, comp.read(q, q_pos))
    ref_out, ref_p = reference_attention(q, k, v, q_pos)
    metrics = fidelity_metrics(out, p, ref_out, ref_p, spec.topk)
    estimate = shipped_fit().estimate(metrics, fmt.algorithm)
    return ModeResult(metrics | {"loss_increase_est": estimate}, comp.refreshes)
