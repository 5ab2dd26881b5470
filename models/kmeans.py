"""Batched (optionally weighted) Lloyd k-means in torch, for many small problems at once.

One problem per (sequence, layer, KV head, subspace): X [B, N, s] points, w [B, N] weights, K centroids.
Distances are ||c||^2 - 2 x.c (||x||^2 does not change the argmin), computed over cache-sized chunks
of points; the nearest centroid comes from a two-stage argmin (see `assign`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_CHUNK_ELEMS = 1 << 20  # distance-matrix elements per chunk: 4 MiB of float32 stays in cache between
# the distance passes and the argmin (3x faster than 64 MiB chunks at K = 512 on this CPU)
_BROADCAST_MAX_DIM = 4  # s up to this (and K >= _GROUPED_MIN_K): distances by s broadcast multiply-adds
# (a batched matrix product with a 2- or 4-wide inner dimension runs at a third of that speed on this
# CPU at K >= 256; at small K it is as fast); otherwise one baddbmm
_GROUPS = 32  # centroid groups of the two-stage argmin (torch's argmin is scalar; amin is vectorised)
_GROUPED_MIN_K = 128  # below this many centroids a plain argmin is as fast


@dataclass(frozen=True)
class KMeansConfig:
    n_centroids: int
    iters: int
    seed: int
    tol: float = 0.0  # stop early when the fraction of changed assignments is <= tol
    train_tokens: int = 0  # >0: fit on this many sampled points per problem (all points still encoded)


def assign(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Nearest centroid: x [B,N,s], c [B,K,s] -> codes [B,N] (int64); ties go to the lowest index.

    Distances are float32 ||c||^2 - 2 x.c, so centroids whose distances differ by less than their
    rounding (~1e-7 of ||c||^2) may resolve either way, as in any float32 k-means.
    """
    b, n, s = x.shape
    k = c.shape[1]
    groups = _GROUPS if k >= _GROUPED_MIN_K else 1
    broadcast = s <= _BROADCAST_MAX_DIM and groups > 1
    cp, cn = _group_major(c, groups)  # [B, Kp, s], Kp = K padded to a multiple of `groups`; ||c||^2
    if broadcast:
        xt = x.transpose(1, 2).contiguous()  # [B, s, N]: each dimension a contiguous row
        at = (-2.0 * cp).transpose(1, 2).contiguous()  # [B, s, Kp]
    out = torch.empty(b, n, dtype=torch.long, device=x.device)
    kp = cp.shape[1]
    rows = max(1, _CHUNK_ELEMS // kp)  # points per chunk
    step = max(1, rows // n)  # problems per chunk (when a whole problem fits)
    for i in range(0, b, step):
        for j in range(0, n, rows):
            pi, pj = slice(i, i + step), slice(j, j + rows)
            if broadcast:
                d = _broadcast_distances(xt[pi, :, pj], at[pi], cn[pi])
            else:
                d = torch.baddbmm(cn[pi, None, :], x[pi, pj], cp[pi].transpose(1, 2), alpha=-2.0)
            out[pi, pj] = _grouped_argmin(d, groups)
    return out


def _group_major(c: torch.Tensor, groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """c [B,K,s] -> centroids [B,Kp,s] and their squared norms [B,Kp], column r * groups + g holding
    centroid g * (Kp / groups) + r: group g's centroids are contiguous in index and strided in the
    columns, so one vectorised amin over the rows gives every group's minimum. Zero centroids with
    an infinite norm pad K to Kp, a multiple of `groups`, and never win."""
    b, k, s = c.shape
    per = -(-k // groups)
    padded = torch.zeros(b, per * groups, s, dtype=c.dtype, device=c.device)
    padded[:, :k] = c
    norms = padded.pow(2).sum(-1)
    norms[:, k:] = float("inf")
    return (padded.view(b, groups, per, s).transpose(1, 2).reshape(b, per * groups, s),
            norms.view(b, groups, per).transpose(1, 2).reshape(b, per * groups))


def _broadcast_distances(xt: torch.Tensor, at: torch.Tensor, cn: torch.Tensor) -> torch.Tensor:
    """xt [B,s,N], at [B,s,K] (= -2 c^T), cn [B,K] (= ||c||^2) -> [B,N,K] = cn + sum_j x_j a_j."""
    d = xt[:, 0, :, None] * at[:, 0, None, :]
    d += cn[:, None, :]
    for j in range(1, xt.shape[1]):
        d.addcmul_(xt[:, j, :, None], at[:, j, None, :])
    return d


def _grouped_argmin(d: torch.Tensor, groups: int) -> torch.Tensor:
    """Index (in the original centroid order) of the smallest of d [B,N,Kp] laid out by `_group_major`.

    The first group holding the minimum, then the first column inside it: the lowest index on ties.
    """
    b, n, kp = d.shape
    per = kp // groups
    if groups == 1:
        return d.argmin(-1)
    v = d.view(b, n, per, groups)
    g = v.amin(-2).argmin(-1)  # [B,N]
    r = v.gather(3, g[:, :, None, None].expand(b, n, per, 1)).squeeze(-1).argmin(-1)
    return g * per + r


def _sample_rows(b: int, n: int, m: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """m distinct row indices per problem, [B, m], seeded."""
    return torch.rand(b, n, generator=gen).argsort(-1)[:, :m].to(device)


def kmeans(x: torch.Tensor, cfg: KMeansConfig, w: torch.Tensor | None = None,
           init: torch.Tensor | None = None) -> torch.Tensor:
    """Fit centroids [B,K,s] to x [B,N,s] with weights w [B,N] (None: uniform).

    Init: K distinct points per problem drawn with `cfg.seed` (or `init`, for warm starts).
    Centroid = weighted mean of its points; an empty cluster (zero weight) is re-seeded to the
    points currently worst represented, so K >= distinct points converges to exact reconstruction.
    """
    b, n, s = x.shape
    k = cfg.n_centroids
    if k > n and init is None:
        raise ValueError(f"n_centroids={k} exceeds the number of training points ({n})")
    gen = torch.Generator().manual_seed(cfg.seed)
    if w is None:
        w = torch.ones(b, n, dtype=x.dtype, device=x.device)
    if 0 < cfg.train_tokens < n:
        idx = _sample_rows(b, n, cfg.train_tokens if init is not None else max(cfg.train_tokens, k),
                           gen, x.device)
        x = x.gather(1, idx[..., None].expand(-1, -1, s))
        w = w.gather(1, idx)
        n = x.shape[1]
    if init is None:
        idx = _sample_rows(b, n, k, gen, x.device)
        c = x.gather(1, idx[..., None].expand(-1, -1, s)).clone()
    else:
        c = init.clone()
    codes = torch.full((b, n), -1, dtype=torch.long, device=x.device)
    for _ in range(cfg.iters):
        new = assign(x, c)
        changed = (new != codes).float().mean().item()
        codes = new
        wsum = torch.zeros(b, k, dtype=x.dtype, device=x.device).scatter_add_(1, codes, w)
        acc = torch.zeros(b, k, s, dtype=x.dtype, device=x.device)
        acc.scatter_add_(1, codes[..., None].expand(-1, -1, s), x * w[..., None])
        filled = wsum > 0
        c = torch.where(filled[..., None], acc / wsum.clamp_min(1e-30)[..., None], c)
        empty = ~filled
        if empty.any():
            c = _reseed_empty(x, c, codes, empty)
        elif changed <= cfg.tol:
            break
    return c


def _reseed_empty(x: torch.Tensor, c: torch.Tensor, codes: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
    """Move empty centroids onto the points farthest from their centroid (largest error first)."""
    s = x.shape[-1]
    err = (x - c.gather(1, codes[..., None].expand(-1, -1, s))).pow(2).sum(-1)  # [B,N]
    n_empty = int(empty.sum(-1).max())
    far = err.topk(min(n_empty, x.shape[1]), dim=-1).indices  # [B,E]
    # the r-th empty slot of a problem takes its r-th farthest point
    rank = empty.long().cumsum(-1) - 1  # [B,K]
    ok = empty & (rank < far.shape[1])
    src = far.gather(1, rank.clamp(0, far.shape[1] - 1))  # [B,K]
    pts = x.gather(1, src[..., None].expand(-1, -1, s))
    return torch.where(ok[..., None], pts, c)
