"""Product quantization of a KV tensor with AQPIM's refresh policies, simulated over a token stream.

A head vector (dim d, after the channel permutation) is split into m = d / s contiguous subvectors;
subspace j owns a codebook of K centroids. Problems are batched as [B * m, tokens, s] where B runs
over (sequence, layer, KV head), so one k-means call fits every codebook of a tensor at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .kmeans import KMeansConfig, assign, kmeans


@dataclass(frozen=True)
class StreamGeometry:
    """Token stream of one sequence: [0, prefill) is prefilled, later tokens arrive one per decode step."""

    prefill: int
    sinks: int  # leading tokens kept exact; excluded from codebook training


@dataclass
class PQResult:
    recon: torch.Tensor  # [B, L, d] reconstruction in the original channel order
    refreshes: int  # codebook updates after the prefill build, per codebook


def to_subspaces(x: torch.Tensor, s: int) -> torch.Tensor:
    """[B, L, d] -> [B * m, L, s]; subspace j holds channels j*s .. j*s+s-1."""
    b, n, d = x.shape
    return x.reshape(b, n, d // s, s).permute(0, 2, 1, 3).reshape(b * (d // s), n, s)


def from_subspaces(x: torch.Tensor, b: int) -> torch.Tensor:
    """Inverse of to_subspaces: [B * m, L, s] -> [B, L, m * s]."""
    bm, n, s = x.shape
    return x.reshape(b, bm // b, n, s).permute(0, 2, 1, 3).reshape(b, n, -1)


def decode(codebook: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """codebook [P, K, s], codes [P, N] -> [P, N, s]."""
    return codebook.gather(1, codes[..., None].expand(-1, -1, codebook.shape[-1]))


def training_weights(weights: torch.Tensor | None, geo: StreamGeometry, m: int) -> torch.Tensor | None:
    """Importance weights [B, L] of the codebook-training tokens, one row per subspace:
    [B * m, prefill - sinks] (None stays None: unweighted)."""
    return None if weights is None else weights[:, geo.sinks:geo.prefill].repeat_interleave(m, dim=0)


def build_codebooks(xs: torch.Tensor, km: KMeansConfig, geo: StreamGeometry, w_train: torch.Tensor | None
                    ) -> torch.Tensor:
    """Codebooks [B * m, K, s] built at the end of prefill on tokens [sinks, prefill) of xs [B * m, L, s]."""
    return kmeans(xs[:, geo.sinks:geo.prefill], km, w_train)


def encode_stream(
    xs: torch.Tensor,
    cb: torch.Tensor,
    km: KMeansConfig,
    geo: StreamGeometry,
    policy: str,
    w_train: torch.Tensor | None = None,
    refresh_window: int = 1024,
    refresh_interval: int = 1,
) -> tuple[torch.Tensor, int]:
    """Reconstruction [B * m, L, s] of every token of xs once all L tokens have streamed through the
    refresh `policy` starting from the prefill codebooks cb, and the refreshes per codebook.

    - static: every token encoded with cb.
    - windowed: decode tokens are cut into windows of `refresh_window`; window i gets its own codebook,
      a copy of window i-1's updated by k-means (warm start) on window i's tokens, and its tokens are
      stored against that codebook (one refresh per window).
    - online: every `refresh_interval` decode steps the new tokens are encoded with the current
      codebook, then the centroids take a running weighted-mean step towards them (one refresh each);
      stored codes keep pointing at the moving centroids, so older tokens drift.
    """
    length = xs.shape[1]
    codes = assign(xs, cb)
    recon = decode(cb, codes)
    refreshes = 0
    n_dec = length - geo.prefill
    if policy == "windowed" and n_dec > 0:
        warm = KMeansConfig(km.n_centroids, km.iters, km.seed, km.tol)
        for start in range(geo.prefill, length, refresh_window):
            win = xs[:, start:start + refresh_window]
            cb = kmeans(win, warm, init=cb)
            recon[:, start:start + win.shape[1]] = decode(cb, assign(win, cb))
            refreshes += 1
    elif policy == "online" and n_dec > 0:
        recon, refreshes = _online(xs, cb, codes, geo, refresh_interval, w_train)
    return recon, refreshes


def quantize_stream(
    x: torch.Tensor,
    s: int,
    km: KMeansConfig,
    geo: StreamGeometry,
    policy: str,
    weights: torch.Tensor | None = None,
    refresh_window: int = 1024,
    refresh_interval: int = 1,
) -> PQResult:
    """PQ-compress x [B, L, d] (channels already permuted) as it would be after streaming all L tokens:
    codebooks built on the prefill (weights [B, L] or None: importance of each prefill token), then
    the stream encoded under the refresh `policy` (see `encode_stream`)."""
    b = x.shape[0]
    xs = to_subspaces(x, s)
    w_train = training_weights(weights, geo, xs.shape[0] // b)
    cb = build_codebooks(xs, km, geo, w_train)
    recon, refreshes = encode_stream(xs, cb, km, geo, policy, w_train, refresh_window, refresh_interval)
    return PQResult(from_subspaces(recon, b), refreshes)


def _online(
    xs: torch.Tensor, cb: torch.Tensor, codes: torch.Tensor, geo: StreamGeometry, interval: int,
    w_train: torch.Tensor | None,
) -> tuple[torch.Tensor, int]:
    """Sequential (MacQueen) centroid updates every `interval` decode tokens; returns final recon."""
    p, length, s = xs.shape
    k = cb.shape[1]
    cb = cb.clone()
    codes = codes.clone()
    tr = codes[:, geo.sinks:geo.prefill]
    w = torch.ones_like(tr, dtype=xs.dtype) if w_train is None else w_train / w_train.mean(-1, keepdim=True)
    mass = torch.zeros(p, k, dtype=xs.dtype).scatter_add_(1, tr, w)
    refreshes = 0
    for start in range(geo.prefill, length, interval):
        xb = xs[:, start:start + interval]
        cb_codes = assign(xb, cb)
        codes[:, start:start + xb.shape[1]] = cb_codes
        ones = torch.ones_like(cb_codes, dtype=xs.dtype)
        add = torch.zeros(p, k, dtype=xs.dtype).scatter_add_(1, cb_codes, ones)
        sums = torch.zeros(p, k, s, dtype=xs.dtype).scatter_add_(1, cb_codes[..., None].expand(-1, -1, s), xb)
        new_mass = mass + add
        moved = (cb * mass[..., None] + sums) / new_mass.clamp_min(1e-30)[..., None]
        cb = torch.where(add[..., None] > 0, moved, cb)
        mass = new_mass
        refreshes += 1
    return decode(cb, codes), refreshes


def ip_table_scores(q: torch.Tensor, codebook: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """AQPIM attention on codes: IP[j][c] = q_j . C_j[c], score_t = sum_j IP[j][code_tj].

    q [Q, d], codebook [m, K, s], codes [N, m] -> scores [Q, N] (= q . reconstructed key).
    """
    m, _, s = codebook.shape
    qj = q.reshape(q.shape[0], m, s)
    ip = torch.einsum("qms,mks->qmk", qj, codebook)  # [Q, m, K]: K*d MACs per query
    idx = codes.T[None].expand(q.shape[0], -1, -1)  # [Q, m, N]
    return ip.gather(2, idx).sum(1)
