"""Decode attention over a partly compressed KV cache, and the quick-mode fidelity metrics.

Per query position p: key j is visible when j <= p; it is read exactly when j is a sink, inside the
recent window (j > p - window) or still in the prefill phase (p < prefill: the cache is compressed
only when prefill ends); otherwise its compressed reconstruction is used. An optional read mask
(cluster-sparse) drops unread tokens. Shapes: q [B,H,T,d], k/v [B,G,L,d], q_pos [T].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ExactRegion:
    sinks: int
    window: int
    prefill: int

    def mask(self, q_pos: torch.Tensor, length: int) -> torch.Tensor:
        """bool [T, L]: which (query, key) pairs use the exact key/value."""
        j = torch.arange(length, device=q_pos.device)[None, :]
        p = q_pos[:, None]
        return (j < self.sinks) | (j > p - self.window) | (p < self.prefill)


def _gqa(x: torch.Tensor, h: int) -> torch.Tensor:
    return x.repeat_interleave(h // x.shape[1], dim=1)


def attention_probs(q: torch.Tensor, k: torch.Tensor, k_hat: torch.Tensor, q_pos: torch.Tensor,
                    region: ExactRegion, read: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities [B,H,T,L] and the exact-use mask [T,L]."""
    h, d = q.shape[1], q.shape[-1]
    length = k.shape[2]
    exact = region.mask(q_pos, length)
    s_exact = q @ _gqa(k, h).transpose(-1, -2)
    s_comp = q @ _gqa(k_hat, h).transpose(-1, -2)
    s = torch.where(exact, s_exact, s_comp) / math.sqrt(d)
    visible = torch.arange(length, device=q.device)[None, :] <= q_pos[:, None]
    keep = visible if read is None else read & visible
    return torch.softmax(s.masked_fill(~keep, float("-inf")), dim=-1), exact


def compressed_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, k_hat: torch.Tensor,
                         v_hat: torch.Tensor, q_pos: torch.Tensor, region: ExactRegion,
                         read: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output [B,H,T,d] and probabilities [B,H,T,L] over the compressed cache."""
    h = q.shape[1]
    p, exact = attention_probs(q, k, k_hat, q_pos, region, read)
    ex = exact.to(p.dtype)
    out = (p * ex) @ _gqa(v, h) + (p * (1 - ex)) @ _gqa(v_hat, h)
    return out, p


def reference_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact causal attention: output [B,H,T,d] and probabilities [B,H,T,L]."""
    h, d = q.shape[1], q.shape[-1]
    s = q @ _gqa(k, h).transpose(-1, -2) / math.sqrt(d)
    visible = torch.arange(k.shape[2], device=q.device)[None, :] <= q_pos[:, None]
    p = torch.softmax(s.masked_fill(~visible, float("-inf")), dim=-1)
    return p @ _gqa(v, h), p


def fidelity_metrics(out: torch.Tensor, p: torch.Tensor, ref_out: torch.Tensor, ref_p: torch.Tensor,
                     topk: int) -> dict[str, float]:
    """Means over every (batch, head, query) of: relative output error, output cosine, KL(ref || approx)
    of the attention distribution, and recall of the reference top-k keys among the approximate top-k."""
    err = (out - ref_out).norm(dim=-1) / ref_out.norm(dim=-1).clamp_min(1e-12)
    cos = torch.nn.functional.cosine_similarity(out, ref_out, dim=-1)
    kl = (ref_p * (ref_p.clamp_min(1e-30).log() - p.clamp_min(1e-30).log())).sum(-1)
    k = min(topk, p.shape[-1])
    ref_top = ref_p.topk(k, dim=-1).indices
    top = p.topk(k, dim=-1).indices
    hit = (ref_top[..., :, None] == top[..., None, :]).any(-1).float().mean(-1)
    rel_err = err.mean().item()
    return {
        "rel_err": rel_err,
        "attn_snr_db": -20.0 * math.log10(max(rel_err, 1e-12)),
        "cosine": cos.mean().item(),
        "attn_kl": kl.clamp_min(0).mean().item(),
        "topk_recall": hit.mean().item(),
    }
