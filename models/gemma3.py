"""A small Gemma-3 forward pass in torch, with the hook interface of `models.llama`.

Gemma 3 (docs/sources.md [gemma3]) differs from Llama in: embeddings scaled by sqrt(d_model);
RMSNorm on every query and key head (QK-norm) before RoPE; "sandwich" norms (a norm after attention and
after the FFN, besides the usual pre-norms); a GeGLU FFN with the tanh-approximated GELU; a head dim that
is not d_model / heads; an attention scale of query_pre_attn_scalar ** -0.5; and two kinds of layer:
local layers attend over a sliding window of the last `sliding_window` tokens (RoPE base 1e4), every
`global`-th layer attends over the whole context (RoPE base 1e6). Norm weights are stored as the factor
they multiply by (1 + w of the HF checkpoint, as llama.cpp's GGUF stores them).

KV compression applies to the global layers only. Their caches grow with the context (3 of 18 layers of
Gemma-3-270M, 93 % of the KV bytes at 32K tokens); a local layer's cache never holds more than
`sliding_window` tokens and stays exact. So `attend` is called for global layers only; local layers
always run exact sliding-window attention over the past they are given (which may be longer: only its
last window is read).

Shapes: B batch, T new tokens, L cached + new tokens, H query heads, G KV heads, d head dim.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from .llama import AttendFn, apply_rope, exact_attention, rms_norm, rope_cos_sin


@dataclass(frozen=True)
class Gemma3Config:
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_dim: int
    vocab_size: int
    rope_theta: float  # global layers
    rope_theta_local: float  # sliding-window layers
    sliding_window: int  # tokens a local layer's query sees, itself included
    global_layers: tuple[int, ...]  # layers attending over the whole context
    attn_scale: float  # softmax(q.k * attn_scale): query_pre_attn_scalar ** -0.5
    norm_eps: float

    def is_global(self, layer: int) -> bool:
        return layer in self.global_layers


@dataclass
class Gemma3LayerWeights:
    """One decoder block; projection matrices are [out, in] as in torch.nn.Linear."""

    attn_norm: torch.Tensor
    wq: torch.Tensor
    wk: torch.Tensor
    wv: torch.Tensor
    q_norm: torch.Tensor  # [d], applied per head
    k_norm: torch.Tensor  # [d]
    wo: torch.Tensor
    post_attn_norm: torch.Tensor
    ffn_norm: torch.Tensor
    w_gate: torch.Tensor
    w_up: torch.Tensor
    w_down: torch.Tensor
    post_ffn_norm: torch.Tensor


@dataclass
class Gemma3Weights:
    config: Gemma3Config
    embed: torch.Tensor  # [vocab, d_model], unscaled; also the (tied) output head
    layers: list[Gemma3LayerWeights]
    norm: torch.Tensor

    def to(self, device: str) -> Gemma3Weights:
        layers = [Gemma3LayerWeights(*(getattr(lw, f.name).to(device) for f in fields(Gemma3LayerWeights)))
                  for lw in self.layers]
        return Gemma3Weights(self.config, self.embed.to(device), layers, self.norm.to(device))


def _exact(layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor
           ) -> torch.Tensor:
    return exact_attention(q, k, v, q_pos)


def sliding_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor, window: int
                      ) -> torch.Tensor:
    """Causal attention where key j is visible to the query at position p when p - window < j <= p
    (keys start at position 0). Runs in query blocks of `window` so the cost is O(T * window), not
    O(T * L). q [B,H,T,d] (already scaled for 1/sqrt(d)), k/v [B,G,L,d] -> [B,H,T,d]."""
    h, g = q.shape[1], k.shape[1]
    out = []
    for a in range(0, q.shape[2], window):
        pos = q_pos[a:a + window]
        lo, hi = max(0, int(pos[0]) - window + 1), int(pos[-1]) + 1
        j = torch.arange(lo, hi, device=q.device)[None, :]
        visible = (j <= pos[:, None]) & (j > pos[:, None] - window)
        kb = k[:, :, lo:hi].repeat_interleave(h // g, dim=1)
        vb = v[:, :, lo:hi].repeat_interleave(h // g, dim=1)
        out.append(torch.nn.functional.scaled_dot_product_attention(q[:, :, a:a + window], kb, vb,
                                                                    attn_mask=visible))
    return torch.cat(out, dim=2)


def project_qkv(lw: Gemma3LayerWeights, cfg: Gemma3Config, x: torch.Tensor, cos: torch.Tensor,
                sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normed input x [B,T,D] -> q [B,H,T,d], k [B,G,T,d] (QK-normed, post-RoPE), v [B,G,T,d].

    q is multiplied by attn_scale * sqrt(d) so that the standard softmax(q.k / sqrt(d)) of every
    attention routine (exact, compressed) is the model's softmax(q.k * attn_scale); the factor is
    exactly 1 for Gemma-3-270M (query_pre_attn_scalar = head dim = 256)."""
    b, t, _ = x.shape
    q = (x @ lw.wq.T).view(b, t, cfg.n_heads, cfg.head_dim).transpose(1, 2)
    k = (x @ lw.wk.T).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
    v = (x @ lw.wv.T).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
    q = rms_norm(q, lw.q_norm, cfg.norm_eps)
    k = rms_norm(k, lw.k_norm, cfg.norm_eps)
    q_factor = cfg.attn_scale * math.sqrt(cfg.head_dim)
    if q_factor != 1.0:
        q = q * q_factor
    return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v


@torch.no_grad()
def forward(
    w: Gemma3Weights,
    ids: torch.Tensor,
    past: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    attend: AttendFn = _exact,
    on_qkv: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Run ids [B,T] that follow `past` (per layer (k, v) [B,G,P,d]); returns final normed hidden [B,T,D].

    attend(layer, q, k, v, q_pos) runs the attention of the global layers; local layers run exact
    sliding-window attention. on_qkv(layer, q, k, v) sees every layer's new q/k (post-norm, post-RoPE)
    and v (for capture). Sequences should start with the BOS token, as Gemma was trained.
    """
    cfg = w.config
    p0 = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(p0, p0 + ids.shape[1], device=ids.device)
    rope = {theta: rope_cos_sin(pos, cfg.head_dim, theta) for theta in (cfg.rope_theta, cfg.rope_theta_local)}
    h = w.embed[ids] * torch.tensor(math.sqrt(cfg.d_model), dtype=w.embed.dtype)
    for i, lw in enumerate(w.layers):
        is_global = cfg.is_global(i)
        cos, sin = rope[cfg.rope_theta if is_global else cfg.rope_theta_local]
        q, k, v = project_qkv(lw, cfg, rms_norm(h, lw.attn_norm, cfg.norm_eps), cos, sin)
        if on_qkv is not None:
            on_qkv(i, q, k, v)
        if past is not None:
            k = torch.cat([past[i][0], k], dim=2)
            v = torch.cat([past[i][1], v], dim=2)
        o = attend(i, q, k, v, pos) if is_global else sliding_attention(q, k, v, pos, cfg.sliding_window)
        o = o.transpose(1, 2).reshape(h.shape[0], h.shape[1], -1) @ lw.wo.T
        h = h + rms_norm(o, lw.post_attn_norm, cfg.norm_eps)
        x = rms_norm(h, lw.ffn_norm, cfg.norm_eps)
        f = (torch.nn.functional.gelu(x @ lw.w_gate.T, approximate="tanh") * (x @ lw.w_up.T)) @ lw.w_down.T
        h = h + rms_norm(f, lw.post_ffn_norm, cfg.norm_eps)
    return rms_norm(h, w.norm, cfg.norm_eps)


def logits(w: Gemma3Weights, hidden: torch.Tensor) -> torch.Tensor:
    """Tied output head, no final soft-capping (Gemma 3 has none)."""
    return hidden @ w.embed.T
