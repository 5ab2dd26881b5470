"""Calibration a KV format may ask for: per-head channel orders found on the calibration split only.

The orders are computed once per (capture, subvector dim, seed), kept on disk under
`cache_dir/activations` and in memory per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from .capture import CaptureKey, load_capture
from .channel_sort import VERSION as SORT_VERSION
from .channel_sort import calibrated_sort
from .spec import ProxySpec

_PERMS: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # per process, over the disk copy


@dataclass(frozen=True, eq=False)
class Calibration:
    """The calibration of one batch of caches: which captured layer each cache of the batch is."""

    proxy: ProxySpec
    layers: tuple[int, ...]  # layers of the calibration capture (() = all)
    rows: torch.Tensor  # [N] index into `layers` of each cache of the batch

    def channel_orders(self, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated head-dim permutations for K and V, [N, G, d] each, for subvector dim s."""
        perm_k, perm_v = channel_perms(self.proxy, self.layers, s)
        return perm_k[self.rows], perm_v[self.rows]


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
