"""STARC-style cluster-sparse attention: which cached tokens each decode query reads.

Keys after the sinks are clustered at the end of prefill (k-means on unit-norm keys = cosine, about
`cluster_tokens` tokens a cluster). Decode tokens sit in an always-read buffer; every
`recluster_interval` steps the full buffer is clustered and appended. A query scores the centroids
(q . mean key) and reads whole clusters, best first, while the tokens read stay under the budget;
sinks, the recent window and the buffer are always read and count against the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spec.algo import ClusterSparse

from .kmeans import KMeansConfig, assign, kmeans


@dataclass
class Clusters:
    ids: torch.Tensor  # [B, G, L] cluster of each token (-1: never clustered)
    centroids: torch.Tensor  # [B, G, C, d] mean raw key of each cluster
    sizes: torch.Tensor  # [B, G, C] tokens per cluster
    ready_at: torch.Tensor  # [C] first query position that may read the cluster
    reclusters: int


def _cluster_span(k: torch.Tensor, start: int, stop: int, n: int, iters: int, seed: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine k-means of k[:, :, start:stop] into n clusters -> (local ids [B,G,T], centroids [B,G,n,d])."""
    b, g, _, d = k.shape
    x = k[:, :, start:stop].reshape(b * g, stop - start, d)
    unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    c = kmeans(unit, KMeansConfig(n, iters, seed))
    ids = assign(unit, c)
    sums = torch.zeros(b * g, n, d).scatter_add_(1, ids[..., None].expand(-1, -1, d), x)
    cnt = torch.zeros(b * g, n).scatter_add_(1, ids, torch.ones_like(ids, dtype=x.dtype))
    return ids.reshape(b, g, -1), (sums / cnt.clamp_min(1)[..., None]).reshape(b, g, n, d)


def build_clusters(k: torch.Tensor, prefill: int, spec: ClusterSparse, seed: int) -> Clusters:
    """k [B, G, L, d] post-RoPE keys of the whole stream."""
    b, g, length, _ = k.shape
    ids = torch.full((b, g, length), -1, dtype=torch.long)
    cents, ready = [], []
    spans = [(spec.sink_tokens, prefill, prefill)]
    for start in range(prefill, length - spec.recluster_interval + 1, spec.recluster_interval):
        spans.append((start, start + spec.recluster_interval, start + spec.recluster_interval))
    offset = 0
    for start, stop, ready_at in spans:
        n = max(1, math.ceil((stop - start) / spec.cluster_tokens))
        local, c = _cluster_span(k, start, stop, n, spec.kmeans_iters, seed)
        ids[:, :, start:stop] = local + offset
        cents.append(c)
        ready.append(torch.full((n,), ready_at))
        offset += n
    centroids = torch.cat(cents, dim=2)
    valid = ids.clamp_min(0)
    sizes = torch.zeros(b, g, offset).scatter_add_(2, valid, (ids >= 0).float())
    return Clusters(ids, centroids, sizes, torch.cat(ready), len(spans) - 1)


def read_mask(q: torch.Tensor, q_pos: torch.Tensor, cl: Clusters, prefill: int, spec: ClusterSparse
              ) -> torch.Tensor:
    """Tokens read by each query: q [B, H, T, d] at positions q_pos [T] -> bool [B, H, T, L]."""
    b, h, t, _ = q.shape
    g = cl.ids.shape[1]
    length = cl.ids.shape[2]
    j = torch.arange(length)
    pos = q_pos[:, None]
    every = spec.recluster_interval
    buffer_start = prefill + ((q_pos - prefill).clamp_min(0) // every) * every
    always = (j < spec.sink_tokens) | (j > pos - spec.window_tokens) | (j >= buffer_start[:, None])
    always = always & (j <= pos)  # [T, L]
    budget = (spec.token_budget - always.sum(-1)).clamp_min(0)  # [T]
    rep = h // g
    cent = cl.centroids.repeat_interleave(rep, dim=1)  # [B, H, C, d]
    scores = q @ cent.transpose(-1, -2)  # [B, H, T, C]
    ready = cl.ready_at[None, :] <= q_pos[:, None]  # [T, C]
    scores = scores.masked_fill(~ready, float("-inf"))
    sizes = cl.sizes.repeat_interleave(rep, dim=1)[:, :, None, :].expand(-1, -1, t, -1)
    sizes = sizes * ready
    order = scores.argsort(-1, descending=True)
    ssz = sizes.gather(-1, order)
    before = ssz.cumsum(-1) - ssz
    take_sorted = (before < budget[:, None]) & (ssz > 0)
    take = torch.zeros_like(take_sorted).scatter_(-1, order, take_sorted)  # [B, H, T, C]
    ids = cl.ids.repeat_interleave(rep, dim=1)  # [B, H, L]
    tok = take.gather(-1, ids.clamp_min(0)[:, :, None, :].expand(-1, -1, t, -1)) & (ids >= 0)[:, :, None, :]
    return (tok & (j <= pos)) | always
