"""Uniform asymmetric int-b quantization with group scales, as KIVI: keys per channel, values per token."""

from __future__ import annotations

import torch


def fake_quant_groups(x: torch.Tensor, bits: int, dim: int, group: int) -> torch.Tensor:
    """Quantize-dequantize x with one (min, scale) per group of `group` consecutive entries along dim.

    A trailing partial group gets its own min and scale.
    """
    x = x.movedim(dim, -1)
    n = x.shape[-1]
    pad = (-n) % group
    xp = torch.nn.functional.pad(x, (0, pad), mode="replicate") if pad else x
    g = xp.reshape(*xp.shape[:-1], -1, group)
    lo = g.amin(-1, keepdim=True)
    hi = g.amax(-1, keepdim=True)
    levels = 2**bits - 1
    scale = ((hi - lo) / levels).clamp_min(1e-12)
    deq = ((g - lo) / scale).round().clamp(0, levels) * scale + lo
    return deq.reshape(xp.shape)[..., :n].movedim(-1, dim)


def quantize_kivi(k: torch.Tensor, v: torch.Tensor, bits: int, group: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """k, v [B, L, d] -> reconstructions. Keys: each channel's groups of `group` tokens share a scale
    (outlier channels stay contained); values: each token's groups of `group` channels share one."""
    if bits >= 16:
        return k, v
    return fake_quant_groups(k, bits, 1, group), fake_quant_groups(v, bits, 2, min(group, v.shape[-1]))
