"""AQPIM importance weights: how much attention the last prefill queries give each prefill key."""

from __future__ import annotations

import math

import torch


def importance_weights(q_tail: torch.Tensor, k: torch.Tensor, prefill: int, n_queries: int) -> torch.Tensor:
    """Attention that the last n_queries prefill queries (all heads of the KV group) give each prefill
    key. q_tail [N,H,T,d], k [N,G,L,d] -> [N, G, prefill], mean 1 per cache and head."""
    n, h, t, d = q_tail.shape
    g = k.shape[1]
    q = q_tail[:, :, t - n_queries:]
    kp = k[:, :, :prefill].repeat_interleave(h // g, dim=1)
    pos = torch.arange(prefill - n_queries, prefill)
    s = (q @ kp.transpose(-1, -2)) / math.sqrt(d)
    s = s.masked_fill(torch.arange(prefill)[None, :] > pos[:, None], float("-inf"))
    w = torch.softmax(s, dim=-1).sum(2).view(n, g, h // g, prefill).sum(2)
    return w / w.mean(-1, keepdim=True)
