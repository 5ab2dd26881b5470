"""Apply one algorithm to a batch of KV caches: reconstructions, exact region and read mask.

Shapes: k, v [N, G, L, d] (N independent caches, e.g. sequences x layers), q_tail [N, H, T, d].
The cache stores FP16, so every algorithm starts from FP16-rounded K and V.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .attention import ExactRegion
from .channel_sort import paired_layout
from .cluster_sparse import Clusters, build_clusters, read_mask
from .kmeans import KMeansConfig
from .pq import StreamGeometry, quantize_stream
from .spec import AlgoSpec, ClusterSparseSpec, FP16Spec, PQSpec, UniformSpec
from .uniform import quantize_kivi


@dataclass(frozen=True)
class CompressContext:
    prefill: int
    seed: int
    q_tail: torch.Tensor | None = None  # [N, H, T, d] last prefill queries (positions prefill-T..prefill-1)
    perm_k: torch.Tensor | None = None  # [N, G, d] calibrated channel order for keys
    perm_v: torch.Tensor | None = None
    pq_layout: str = "contiguous"
    kmeans_train_tokens: int = 0
    kmeans_tol: float = 0.0


@dataclass
class Compressed:
    k_hat: torch.Tensor  # [N, G, L, d]
    v_hat: torch.Tensor
    region: ExactRegion
    refreshes: int
    clusters: Clusters | None = None
    spec: AlgoSpec | None = None

    def read(self, q: torch.Tensor, q_pos: torch.Tensor) -> torch.Tensor | None:
        """Read mask [N, H, T, L] for cluster-sparse attention, None when every token is read."""
        if self.clusters is None or not isinstance(self.spec, ClusterSparseSpec):
            return None
        return read_mask(q, q_pos, self.clusters, self.region.prefill, self.spec)


def importance_weights(q_tail: torch.Tensor, k: torch.Tensor, prefill: int, n_queries: int) -> torch.Tensor:
    """AQPIM importance: attention that the last n_queries prefill queries (all heads of the KV group)
    give each prefill key. q_tail [N,H,T,d], k [N,G,L,d] -> [N, G, prefill], mean 1 per cache and head."""
    n, h, t, d = q_tail.shape
    g = k.shape[1]
    q = q_tail[:, :, t - n_queries:]
    kp = k[:, :, :prefill].repeat_interleave(h // g, dim=1)
    pos = torch.arange(prefill - n_queries, prefill)
    s = (q @ kp.transpose(-1, -2)) / math.sqrt(d)
    s = s.masked_fill(torch.arange(prefill)[None, :] > pos[:, None], float("-inf"))
    w = torch.softmax(s, dim=-1).sum(2).view(n, g, h // g, prefill).sum(2)
    return w / w.mean(-1, keepdim=True)


def _pq_tensor(x: torch.Tensor, perm: torch.Tensor, spec: PQSpec, ctx: CompressContext,
               weights: torch.Tensor | None, seed: int) -> tuple[torch.Tensor, int]:
    n, g, length, d = x.shape
    xp = x.gather(-1, perm[:, :, None, :].expand(-1, -1, length, -1)).reshape(n * g, length, d)
    w = None if weights is None else weights.reshape(n * g, -1)
    km = KMeansConfig(spec.n_centroids, spec.kmeans_iters, seed, ctx.kmeans_tol, ctx.kmeans_train_tokens)
    res = quantize_stream(xp, spec.subvector_dim, km, StreamGeometry(ctx.prefill, spec.sink_tokens),
                          spec.refresh, w, spec.refresh_window_tokens, spec.refresh_interval)
    inv = perm.argsort(-1)
    recon = res.recon.reshape(n, g, length, d)
    return recon.gather(-1, inv[:, :, None, :].expand(-1, -1, length, -1)), res.refreshes


def _default_perm(k: torch.Tensor, layout: str) -> torch.Tensor:
    n, g, _, d = k.shape
    base = paired_layout(d) if layout == "paired" else torch.arange(d)
    return base.expand(n, g, d)


def compress(spec: AlgoSpec, k: torch.Tensor, v: torch.Tensor, ctx: CompressContext) -> Compressed:
    k16, v16 = k.half().float(), v.half().float()
    if isinstance(spec, FP16Spec):
        return Compressed(k16, v16, ExactRegion(0, 0, 0), 0)
    region = ExactRegion(spec.sink_tokens, spec.window_tokens, ctx.prefill)
    if isinstance(spec, UniformSpec):
        n, g, length, d = k.shape
        kh, vh = quantize_kivi(k16.reshape(n * g, length, d), v16.reshape(n * g, length, d),
                               spec.bits, spec.group_size)
        return Compressed(kh.reshape(k.shape), vh.reshape(v.shape), region, 0)
    if isinstance(spec, ClusterSparseSpec):
        cl = build_clusters(k16, ctx.prefill, spec, ctx.seed)
        return Compressed(k16, v16, region, cl.reclusters, cl, spec)
    weights = None
    if spec.importance_weighted:
        if ctx.q_tail is None:
            raise ValueError("importance-weighted PQ needs the last prefill queries (q_tail)")
        weights = importance_weights(ctx.q_tail, k16, ctx.prefill, spec.importance_queries)
    use_sort = spec.channel_sort and ctx.perm_k is not None and ctx.perm_v is not None
    perm_k = ctx.perm_k if use_sort else _default_perm(k, ctx.pq_layout)
    perm_v = ctx.perm_v if use_sort else _default_perm(v, ctx.pq_layout)
    kh, refreshes = _pq_tensor(k16, perm_k, spec, ctx, weights, ctx.seed)
    vh, _ = _pq_tensor(v16, perm_v, spec, ctx, weights, ctx.seed + 1)
    return Compressed(kh, vh, region, refreshes)
