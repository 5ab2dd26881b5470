"""Channel sorting for PQ: a fixed head-dim permutation per (layer, KV head, tensor), from calibration data.

The permutation decides which channels share a subvector (and so a codebook). It is chosen per head on
the calibration split only: a few candidate orders are each PQ-quantized with a small codebook and the
one with the lowest error wins. The strongest candidate comes from a local search: at high rate the
k-means error of a subspace grows like det(Sigma_sub)^(1/s) (Sigma_sub: the covariance of its
channels), so channels are swapped between subvectors while that sum falls. For keys the error of
channel i is weighted by E[q_i^2] over calibration queries, because a key error e changes the attention
score by q.e; for values the plain squared error counts. The identity order is a candidate, so sorting
never loses on calibration data. Any permutation can be folded offline into W_k / W_q (keys) or
W_v / W_o (values).
"""

from __future__ import annotations

import torch

from .kmeans import KMeansConfig, assign, kmeans
from .pq import decode, from_subspaces, to_subspaces

VERSION = 3  # bump when the chosen permutations change (keys cached results and permutation files)
CALIB_CENTROIDS = 32  # codebook size used to compare candidate orders (the ranking barely depends on it)
CALIB_ITERS = 4
SORT_TOKENS = 2048
"""Calibration vectors per head the orders are compared on (a seeded sample when there are more): the
cost stays that of 2K tokens however long the calibration sequences are (without it, the 30 layers at
s = 2 on two 4K sequences ran for over 20 minutes on the loaded 2-core machine)."""


def paired_layout(d: int) -> torch.Tensor:
    """[0, d/2, 1, d/2+1, ...]: puts each HF rotate-half RoPE pair (i, i + d/2) side by side."""
    half = torch.arange(d // 2)
    return torch.stack([half, half + d // 2], dim=1).reshape(-1)


def _variance_sorted(var: torch.Tensor) -> torch.Tensor:
    """Similar-magnitude channels together: channels by descending variance. var [B,d] -> [B,d]."""
    return var.argsort(-1, descending=True)


def _variance_balanced(var: torch.Tensor, s: int) -> torch.Tensor:
    """Every subvector gets a spread of magnitudes: channels by variance dealt to subspaces in snake order."""
    b, d = var.shape
    m = d // s
    order = var.argsort(-1, descending=True)  # [B, d]
    rank = torch.arange(d)
    row, col = rank // m, rank % m
    sub = torch.where(row % 2 == 0, col, m - 1 - col)  # subspace of the r-th largest channel
    slot = sub * s + row  # position of that channel in the permuted head vector
    perm = torch.empty_like(order)
    perm.scatter_(1, slot.expand(b, -1), order)
    return perm


def _correlation_greedy(x: torch.Tensor, s: int) -> torch.Tensor:
    """Correlated channels together: the largest free channel seeds a subvector filled with the free
    channels of highest |Pearson r| with it. x [B, N, d] -> [B, d]."""
    b, _, d = x.shape
    xc = x - x.mean(1, keepdim=True)
    std = xc.pow(2).mean(1).sqrt()
    corr = (xc.transpose(1, 2) @ xc) / x.shape[1] / (std[:, :, None] * std[:, None, :]).clamp_min(1e-12)
    perm = torch.empty(b, d, dtype=torch.long)
    for i in range(b):
        free = torch.ones(d, dtype=torch.bool)
        out: list[int] = []
        while free.any():
            seed = int(torch.where(free, std[i], torch.tensor(-1.0)).argmax())
            free[seed] = False
            cand = torch.where(free, corr[i, seed].abs(), torch.tensor(-1.0))
            take = cand.topk(min(s - 1, int(free.sum()))).indices.tolist()
            free[take] = False
            out.extend([seed, *take])
        perm[i] = torch.tensor(out)
    return perm


def _block_cost(cov: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """det(cov restricted to each group)^(1/s): cov [B, d, d], groups [B, G, s] -> [B, G]."""
    b = torch.arange(cov.shape[0])[:, None, None, None]
    blk = cov[b, groups[..., :, None], groups[..., None, :]]
    return torch.linalg.det(blk).clamp_min(1e-30).pow(1.0 / groups.shape[-1])


def _det_search(x: torch.Tensor, s: int, channel_weight: torch.Tensor, max_swaps: int) -> torch.Tensor:
    """Best-improvement channel swaps between subvectors minimising sum_j det(Sigma_j)^(1/s) of the
    weighted channels, all heads at once. x [B, N, d], channel_weight [B, d] -> permutation [B, d]."""
    b, _, d = x.shape
    xw = x * channel_weight.sqrt()[:, None, :]
    xc = xw - xw.mean(1, keepdim=True)
    cov = xc.transpose(1, 2) @ xc / x.shape[1]
    perm = torch.arange(d).repeat(b, 1)
    ia, ib = torch.triu_indices(d, d, 1)
    other = ia // s != ib // s  # only swaps across subvectors change anything
    ia, ib = ia[other], ib[other]
    ga, gb = ia // s, ib // s
    rows = torch.arange(b)[:, None]
    for _ in range(max_swaps):
        groups = perm.view(b, d // s, s)
        cost = _block_cost(cov, groups)  # [B, G]
        swapped = perm[:, None, :].repeat(1, ia.numel(), 1)  # [B, S, d]: each candidate swap applied
        idx = torch.arange(ia.numel())
        swapped[:, idx, ia], swapped[:, idx, ib] = perm[:, ib], perm[:, ia]
        grp = swapped.view(b, -1, d // s, s)
        new_a = _block_cost(cov, grp[:, idx, ga])
        new_b = _block_cost(cov, grp[:, idx, gb])
        delta = new_a + new_b - cost[:, ga] - cost[:, gb]  # [B, S]
        best = delta.argmin(-1)
        gain = delta[rows[:, 0], best] < -1e-6 * cost.sum(-1)
        if not gain.any():
            break
        perm = torch.where(gain[:, None], swapped[rows[:, 0], best], perm)
    return perm


def candidate_orders(x: torch.Tensor, s: int, channel_weight: torch.Tensor) -> list[torch.Tensor]:
    """Candidate permutations [B, d] for calibration vectors x [B, N, d]."""
    b, _, d = x.shape
    var = x.var(1)
    cands = [torch.arange(d).expand(b, d), paired_layout(d).expand(b, d), _variance_sorted(var),
             _variance_balanced(var, s), _correlation_greedy(x, s)]
    if 1 < s < d:
        cands.append(_det_search(x, s, channel_weight, max_swaps=2 * d))
    return cands


def pq_error(x: torch.Tensor, perm: torch.Tensor, s: int, channel_weight: torch.Tensor, seed: int
             ) -> torch.Tensor:
    """Weighted PQ squared error per problem [B] of x [B,N,d] under permutation perm [B,d]."""
    b, n, d = x.shape
    xp = x.gather(-1, perm[:, None, :].expand(-1, n, -1))
    xs = to_subspaces(xp, s)
    c = kmeans(xs, KMeansConfig(min(CALIB_CENTROIDS, n), CALIB_ITERS, seed))
    err = from_subspaces(decode(c, assign(xs, c)), b) - xp
    w = channel_weight.gather(-1, perm)
    return (err.pow(2) * w[:, None, :]).sum(-1).mean(-1)


def calibrated_sort(x: torch.Tensor, s: int, channel_weight: torch.Tensor | None = None, seed: int = 0
                    ) -> torch.Tensor:
    """Best candidate permutation per problem: x [B, N, d] calibration vectors (at most SORT_TOKENS of
    them are used), channel_weight [B, d] (None: uniform) -> [B, d]."""
    b, n, d = x.shape
    if n > SORT_TOKENS:
        x = x[:, torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:SORT_TOKENS].sort().values]
    w = torch.ones(b, d) if channel_weight is None else channel_weight
    cands = candidate_orders(x, s, w)
    errs = torch.stack([pq_error(x, p, s, w, seed) for p in cands])  # [C, B]
    best = errs.argmin(0)
    return torch.stack(cands)[best, torch.arange(b)]
