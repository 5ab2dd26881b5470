"""Quick mode: attention-output fidelity of real decode queries against exact attention.

For the captured layers of every evaluation sequence, the last `queries_per_seq` decode queries attend
over the cache as the algorithm leaves it after streaming the whole sequence; metrics compare with
exact FP32 attention and are averaged over sequences, layers, heads and queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from .attention import compressed_attention, fidelity_metrics, reference_attention
from .capture import CaptureKey, load_capture
from .channel_sort import VERSION as SORT_VERSION
from .channel_sort import calibrated_sort
from .compress import CompressContext, compress
from .spec import AlgoSpec, PQSpec, ProxySpec

_PERMS: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # per process, over the disk copy


@dataclass
class ModeResult:
    """What a scoring mode (quick or full) returns: every metric, and refreshes per codebook."""

    metrics: dict[str, float]
    refreshes: int


def channel_perms(spec: ProxySpec, layers: tuple[int, ...], s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Calibrated channel orders for K and V, [Y, G, d] each, from the calibration split only."""
    key = CaptureKey("calib", layers)
    memo = f"perm-{key.digest(spec)}-s{s}-seed{spec.seed}-v{SORT_VERSION}"
    path = Path(spec.cache_dir) / "activations" / f"{memo}.safetensors"
    if memo in _PERMS:
        return _PERMS[memo]
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # concurrent workers sort once; readers never see a partial file
        if path.exists():
            saved = load_file(str(path))
            _PERMS[memo] = (saved["k"], saved["v"])
            return _PERMS[memo]
        cal = load_capture(spec, key)
        sc, y, g, length, d = cal["k"].shape
        q = cal["q_dec"] if "q_dec" in cal else cal["q_tail"]  # [Sc, Y, H, T, d]
        # E[q_i^2] over calibration queries of the heads sharing each KV head
        q_pow = q.pow(2).mean((0, 3)).view(y, g, -1, d).mean(2).reshape(y * g, d)
        perms = []
        for name, weight in (("k", q_pow), ("v", None)):
            flat = cal[name].permute(1, 2, 0, 3, 4).reshape(y * g, sc * length, d)
            perms.append(calibrated_sort(flat, s, weight, spec.seed).view(y, g, d))
        tmp = path.with_suffix(".tmp")
        save_file({"k": perms[0], "v": perms[1]}, str(tmp))
        tmp.replace(path)
        _PERMS[memo] = (perms[0], perms[1])
    return _PERMS[memo]


def context_for(algo: AlgoSpec, spec: ProxySpec, layers: tuple[int, ...], q_tail: torch.Tensor,
                n_caches: int) -> CompressContext:
    """CompressContext for caches ordered (sequence, layer) with len(layers) layers per sequence."""
    perm_k = perm_v = None
    if isinstance(algo, PQSpec) and algo.channel_sort:
        pk, pv = channel_perms(spec, layers, algo.subvector_dim)
        reps = n_caches // pk.shape[0]
        perm_k, perm_v = pk.repeat(reps, 1, 1), pv.repeat(reps, 1, 1)
    return CompressContext(spec.prefill_tokens, spec.seed, q_tail, perm_k, perm_v, spec.pq_layout,
                           spec.kmeans_train_tokens, spec.kmeans_tol)


def score_quick(algo: AlgoSpec, spec: ProxySpec) -> ModeResult:
    cap = load_capture(spec, CaptureKey("eval", spec.layers))
    layers = tuple(int(i) for i in cap["layers"])
    k, v = cap["k"].flatten(0, 1), cap["v"].flatten(0, 1)  # [S*Y, G, L, d]
    q_tail = cap["q_tail"].flatten(0, 1)
    q = cap["q_dec"].flatten(0, 1)[:, :, -spec.queries_per_seq:]
    length = k.shape[2]
    q_pos = torch.arange(length - spec.queries_per_seq, length)
    comp = compress(algo, k, v, context_for(algo, spec, layers, q_tail, k.shape[0]))
    out, p = compressed_attention(q, k, v, comp.k_hat, comp.v_hat, q_pos, comp.region, comp.read(q, q_pos))
    ref_out, ref_p = reference_attention(q, k, v, q_pos)
    return ModeResult(fidelity_metrics(out, p, ref_out, ref_p, spec.topk), comp.refreshes)
