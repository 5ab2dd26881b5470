"""A small Llama-architecture forward pass in torch (RMSNorm, rotate-half RoPE, GQA, SwiGLU).

Own forward instead of transformers' so that (a) the GGUF path needs no `accelerate`, and (b) the
attention of every layer can be swapped for one that reads a compressed KV cache.
Shapes: B batch, T new tokens, L cached + new tokens, H query heads, G KV heads, d head dim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LlamaConfig:
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_dim: int
    vocab_size: int
    rope_theta: float
    norm_eps: float


@dataclass
class LayerWeights:
    """One decoder block; projection matrices are [out, in] as in torch.nn.Linear."""

    attn_norm: torch.Tensor
    wq: torch.Tensor
    wk: torch.Tensor
    wv: torch.Tensor
    wo: torch.Tensor
    ffn_norm: torch.Tensor
    w_gate: torch.Tensor
    w_up: torch.Tensor
    w_down: torch.Tensor


@dataclass
class LlamaWeights:
    config: LlamaConfig
    embed: torch.Tensor  # [vocab, d_model]
    layers: list[LayerWeights]
    norm: torch.Tensor
    lm_head: torch.Tensor  # [vocab, d_model]; tied models share the embedding

    def to(self, device: str) -> LlamaWeights:
        def mv(t: torch.Tensor) -> torch.Tensor:
            return t.to(device)

        layers = [LayerWeights(*(mv(getattr(lw, f)) for f in LayerWeights.__dataclass_fields__))
                  for lw in self.layers]
        return LlamaWeights(self.config, mv(self.embed), layers, mv(self.norm), mv(self.lm_head))


# attend(layer, q [B,H,T,d], k [B,G,L,d], v [B,G,L,d], q_pos [T]) -> [B,H,T,d]
AttendFn = Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# project(layer, name, x [..., in], w [out, in]) -> x @ w.T [..., out]; name is one of PROJECTIONS
ProjectFn = Callable[[int, str, torch.Tensor, torch.Tensor], torch.Tensor]
PROJECTIONS = ("q", "k", "v", "o", "gate", "up", "down")
"""The projection layers a block runs through `project` (the LM head is `logits`, outside `forward`)."""


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_cos_sin(pos: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [T, d] for the HF rotate-half layout: dimension i and i + d/2 form one rotation pair."""
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64, device=pos.device) / head_dim)
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float().to(pos.device), ang.sin().float().to(pos.device)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


def exact_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor) -> torch.Tensor:
    """Causal softmax attention; key j is visible to query at position p when j <= p (keys start at 0)."""
    h, g = q.shape[1], k.shape[1]
    k = k.repeat_interleave(h // g, dim=1)
    v = v.repeat_interleave(h // g, dim=1)
    visible = torch.arange(k.shape[2], device=q.device)[None, :] <= q_pos[:, None]
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=visible)


def _exact(layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor
           ) -> torch.Tensor:
    return exact_attention(q, k, v, q_pos)


def exact_project(layer: int, name: str, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The projection as the model defines it: x @ w.T."""
    return x @ w.T


def project_qkv(
    lw: LayerWeights, cfg: LlamaConfig, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
    layer: int = 0, project: ProjectFn = exact_project,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normed input x [B,T,D] -> post-RoPE q [B,H,T,d], post-RoPE k [B,G,T,d], v [B,G,T,d]."""
    b, t, _ = x.shape
    q = project(layer, "q", x, lw.wq).view(b, t, cfg.n_heads, cfg.head_dim).transpose(1, 2)
    k = project(layer, "k", x, lw.wk).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
    v = project(layer, "v", x, lw.wv).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
    return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v


@torch.no_grad()
def forward(
    w: LlamaWeights,
    ids: torch.Tensor,
    past: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    attend: AttendFn = _exact,
    on_qkv: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], None] | None = None,
    project: ProjectFn = exact_project,
) -> torch.Tensor:
    """Run ids [B,T] that follow `past` (per layer (k, v) [B,G,P,d]); returns final normed hidden [B,T,D].

    on_qkv(layer, q, k, v) sees the new tokens' post-RoPE q/k and v (for capture).
    project(layer, name, x, w) computes every projection of PROJECTIONS (an emulated datapath, e.g.
    `models.analog`, replaces the exact matmul).
    """
    cfg = w.config
    p0 = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(p0, p0 + ids.shape[1], device=ids.device)
    cos, sin = rope_cos_sin(pos, cfg.head_dim, cfg.rope_theta)
    h = w.embed[ids]
    for i, lw in enumerate(w.layers):
        q, k, v = project_qkv(lw, cfg, rms_norm(h, lw.attn_norm, cfg.norm_eps), cos, sin, i, project)
        if on_qkv is not None:
            on_qkv(i, q, k, v)
        if past is not None:
            k = torch.cat([past[i][0], k], dim=2)
            v = torch.cat([past[i][1], v], dim=2)
        o = attend(i, q, k, v, pos)
        h = h + project(i, "o", o.transpose(1, 2).reshape(h.shape[0], h.shape[1], -1), lw.wo)
        x = rms_norm(h, lw.ffn_norm, cfg.norm_eps)
        gated = torch.nn.functional.silu(project(i, "gate", x, lw.w_gate)) * project(i, "up", x, lw.w_up)
        h = h + project(i, "down", gated, lw.w_down)
    return rms_norm(h, w.norm, cfg.norm_eps)


def logits(w: LlamaWeights, hidden: torch.Tensor) -> torch.Tensor:
    return hidden @ w.lm_head.T
