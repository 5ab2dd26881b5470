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


def _grouped(q: torch.Tensor, g: int) -> torch.Tensor:
    """[N, H, T, d] -> [N, G, (H/G)*T, d]: the query heads sharing a KV head stacked along the query axis
    (head h reads KV head h // (H/G)), so K/V are never copied per query head."""
    n, h, t, d = q.shape
    return q.reshape(n, g, (h // g) * t, d)


def compressed_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, k_hat: torch.Tensor,
                         v_hat: torch.Tensor, q_pos: torch.Tensor, region: ExactRegion,
                         read: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output [N,H,T,d] and probabilities [N,H,T,L] over the compressed cache.

    read [N,H,T,L] (optional): tokens the query reads at all (cluster-sparse); others are dropped.
    """
    n, h, t, d = q.shape
    g, length = k.shape[1], k.shape[2]
    rep = h // g
    qg = _grouped(q, g) / math.sqrt(d)
    exact = region.mask(q_pos, length).repeat(rep, 1)  # rows follow the (head, query) stacking
    visible = (torch.arange(length, device=q.device)[None, :] <= q_pos[:, None]).repeat(rep, 1)
    s = torch.where(exact, qg @ k.transpose(-1, -2), qg @ k_hat.transpose(-1, -2))
    keep = visible if read is None else read.reshape(n, g, rep * t, length) & visible
    p = torch.softmax(s.masked_fill_(~keep, float("-inf")), dim=-1)
    out = p @ v_hat + (p * exact) @ (v - v_hat)  # exact positions read V, the rest V_hat
    return out.reshape(n, h, t, d), p.reshape(n, h, t, length)


def reference_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact causal attention: output [N,H,T,d] and probabilities [N,H,T,L]."""
    n, h, t, d = q.shape
    g, length = k.shape[1], k.shape[2]
    visible = (torch.arange(length, device=q.device)[None, :] <= q_pos[:, None]).repeat(h // g, 1)
    s = (_grouped(q, g) / math.sqrt(d)) @ k.transpose(-1, -2)
    p = torch.softmax(s.masked_fill_(~visible, float("-inf")), dim=-1)
    return (p @ v).reshape(n, h, t, d), p.reshape(n, h, t, length)


def fidelity_metrics(out: torch.Tensor, p: torch.Tensor, ref_out: torch.Tensor, ref_p: torch.Tensor,
                     topk: int) -> dict[str, float]:
    """Means over every (batch, head, query) of: relative output error, output cosine, KL(ref || approx)
    and KL(approx || ref) of the attention distribution (the reverse KL stays finite when keys are
    dropped: it is -log of the exact attention mass kept), and recall of the reference top-k keys
    among the approximate top-k;
    attn_loss = attn_kl + rel_err^2 combines the key-side and value-side errors."""
    err = (out - ref_out).norm(dim=-1) / ref_out.norm(dim=-1).clamp_min(1e-12)
    cos = torch.nn.functional.cosine_similarity(out, ref_out, dim=-1)
    log_ref, log_p = ref_p.clamp_min(1e-30).log(), p.clamp_min(1e-30).log()
    kl = (ref_p * (log_ref - log_p)).sum(-1)
    rkl = (p * (log_p - log_ref)).sum(-1)  # finite when the approximation drops keys (sparse reads)
    k = min(topk, p.shape[-1])
    ref_top = ref_p.topk(k, dim=-1).indices
    top = p.topk(k, dim=-1).indices
    hit = (ref_top[..., :, None] == top[..., None, :]).any(-1).float().mean(-1)
    rel_err = err.mean().item()
    attn_kl = kl.clamp_min(0).mean().item()
    return {
        # key side (attention distribution) + value side (output error): ranks points like full-mode KL
        "attn_loss": attn_kl + rel_err**2,
        "rel_err": rel_err,
        "attn_snr_db": -20.0 * math.log10(max(rel_err, 1e-12)),
        "cosine": cos.mean().item(),
        "attn_kl": attn_kl,
        "attn_rkl": rkl.clamp_min(0).mean().item(),
        "topk_recall": hit.mean().item(),
    }
