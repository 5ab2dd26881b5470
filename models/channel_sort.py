"""Channel sorting for PQ: a fixed head-dim permutation per (layer, KV head, tensor), from calibration data.

Greedy grouping: the highest-variance free channel seeds a subvector, which is filled with the free
channels most correlated (|Pearson r|) with it. Correlated channels in one subspace let a small codebook
capture their joint structure; channels left in other subspaces are closer to independent.
"""

from __future__ import annotations

import torch


def paired_layout(d: int) -> torch.Tensor:
    """[0, d/2, 1, d/2+1, ...]: puts each HF rotate-half RoPE pair (i, i + d/2) side by side."""
    half = torch.arange(d // 2)
    return torch.stack([half, half + d // 2], dim=1).reshape(-1)


def correlation_sort(x: torch.Tensor, s: int) -> torch.Tensor:
    """x [B, N, d] calibration vectors -> permutation [B, d] grouping correlated channels s at a time."""
    b, _, d = x.shape
    xc = x - x.mean(1, keepdim=True)
    std = xc.pow(2).mean(1).sqrt()  # [B, d]
    corr = (xc.transpose(1, 2) @ xc) / x.shape[1] / (std[:, :, None] * std[:, None, :]).clamp_min(1e-12)
    sim = corr.abs()
    perm = torch.empty(b, d, dtype=torch.long)
    for i in range(b):
        free = torch.ones(d, dtype=torch.bool)
        out = []
        while free.any():
            var = torch.where(free, std[i], torch.tensor(-1.0))
            seed = int(var.argmax())
            free[seed] = False
            cand = torch.where(free, sim[i, seed], torch.tensor(-1.0))
            take = cand.topk(min(s - 1, int(free.sum()))).indices.tolist()
            free[take] = False
            out.extend([seed, *take])
        perm[i] = torch.tensor(out)
    return perm
