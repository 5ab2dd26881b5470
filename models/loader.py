"""Load model weights and a tokenizer, offline, from a GGUF file or a local HF directory.

GGUF files are dispatched on general.architecture: llama (`models.llama`) and gemma3 (`models.gemma3`);
HF directories hold Llama-style models only.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ModelLoadError
from .gemma3 import Gemma3Config, Gemma3LayerWeights, Gemma3Weights
from .gguf_meta import TensorInfo, read_index
from .llama import LayerWeights, LlamaConfig, LlamaWeights

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SUPPORTED_HF_TYPES = ("llama", "mistral")


@dataclass
class LoadedModel:
    weights: LlamaWeights | Gemma3Weights
    name: str  # identifies the checkpoint in cache keys
    load_tokenizer: Callable[[], Any]  # loaded on first use: only activation capture tokenizes text

    @cached_property
    def tokenizer(self) -> Any:
        """A transformers tokenizer: tokenizer(text).input_ids."""
        return self.load_tokenizer()


def _unpermute_gguf_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's convert-time row permutation of Q/K so RoPE uses the HF rotate-half layout."""
    out_dim = w.shape[0]
    return w.reshape(n_head, out_dim // n_head // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)


def load_gguf(path: Path) -> LoadedModel:
    import gguf

    if not path.is_file():
        raise ModelLoadError(f"proxy.model.path: GGUF file {str(path)!r} does not exist")
    try:
        meta, tensors = read_index(path)
    except (ValueError, struct.error) as e:
        raise ModelLoadError(f"proxy.model.path: {str(path)!r} is not a readable GGUF file ({e})") from e
    arch = meta.get("general.architecture")
    if arch not in GGUF_ARCHITECTURES:
        raise ModelLoadError(f"proxy.model.path: GGUF architecture {arch!r} is not supported "
                             f"(supported: {', '.join(GGUF_ARCHITECTURES)})")

    def field(key: str) -> Any:
        if key not in meta:
            raise ModelLoadError(f"proxy.model.path: GGUF file lacks metadata {key!r}")
        return meta[key]

    raw = np.memmap(path, dtype=np.uint8, mode="r")

    def get(name: str) -> torch.Tensor:
        info = tensors[name]
        qtype = gguf.GGMLQuantizationType(info.qtype)
        block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        n = int(np.prod(info.dims))
        data = raw[info.offset:info.offset + n // block * type_size]
        rows = data.reshape(-1, info.dims[0] // block * type_size)
        a = gguf.quants.dequantize(rows, qtype)
        return torch.from_numpy(np.array(a, dtype=np.float32).reshape(tuple(reversed(info.dims))))

    build = _llama_gguf_weights if arch == "llama" else _gemma3_gguf_weights
    weights = build(field, get, tensors)
    name = f"gguf:{path.name}:{path.stat().st_size}"
    return LoadedModel(weights, name, lambda: load_tokenizer("gguf", path))


GGUF_ARCHITECTURES = ("llama", "gemma3")
GEMMA3_GLOBAL_EVERY = 6
"""Every 6th Gemma 3 layer (5, 11, ...) attends globally, the others over a sliding window; the GGUF
does not store the pattern (llama.cpp's loader and transformers' Gemma3TextConfig both fix it at 6)."""
GEMMA3_LOCAL_ROPE_BASE = 10_000.0
"""RoPE base of the sliding-window layers (rope_local_base_freq; rope.freq_base is the global layers')."""

FieldFn = Callable[[str], Any]
TensorFn = Callable[[str], torch.Tensor]


def _llama_gguf_weights(field: FieldFn, get: TensorFn, tensors: dict[str, TensorInfo]) -> LlamaWeights:
    n_heads = int(field("llama.attention.head_count"))
    n_kv = int(field("llama.attention.head_count_kv"))
    d_model = int(field("llama.embedding_length"))

    def qk(name: str, heads: int) -> torch.Tensor:
        return torch.from_numpy(_unpermute_gguf_qk(get(name).numpy(), heads))

    n_layers = int(field("llama.block_count"))
    cfg = LlamaConfig(
        n_layers=n_layers, d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv, head_dim=d_model // n_heads,
        ffn_dim=int(field("llama.feed_forward_length")), vocab_size=tensors["token_embd.weight"].dims[1],
        rope_theta=float(field("llama.rope.freq_base")),
        norm_eps=float(field("llama.attention.layer_norm_rms_epsilon")),
    )
    layers = []
    for i in range(n_layers):
        b = f"blk.{i}."
        layers.append(LayerWeights(
            attn_norm=get(b + "attn_norm.weight"), wq=qk(b + "attn_q.weight", n_heads),
            wk=qk(b + "attn_k.weight", n_kv), wv=get(b + "attn_v.weight"), wo=get(b + "attn_output.weight"),
            ffn_norm=get(b + "ffn_norm.weight"), w_gate=get(b + "ffn_gate.weight"),
            w_up=get(b + "ffn_up.weight"), w_down=get(b + "ffn_down.weight"),
        ))
    embed = get("token_embd.weight")
    head = get("output.weight") if "output.weight" in tensors else embed
    return LlamaWeights(cfg, embed, layers, get("output_norm.weight"), head)


def _gemma3_gguf_weights(field: FieldFn, get: TensorFn, tensors: dict[str, TensorInfo]) -> Gemma3Weights:
    """Gemma 3 from llama.cpp's GGUF: Q/K rows are not permuted (Gemma's RoPE is rotate-half in
    llama.cpp too) and norm weights are stored as 1 + w (the factor `rms_norm` multiplies by)."""
    if "output.weight" in tensors:
        raise ModelLoadError("proxy.model.path: a Gemma 3 GGUF with an untied output head is not supported")
    n_layers = int(field("gemma3.block_count"))
    head_dim = int(field("gemma3.attention.key_length"))
    cfg = Gemma3Config(
        n_layers=n_layers, d_model=int(field("gemma3.embedding_length")),
        n_heads=int(field("gemma3.attention.head_count")),
        n_kv_heads=int(field("gemma3.attention.head_count_kv")),
        head_dim=head_dim, ffn_dim=int(field("gemma3.feed_forward_length")),
        vocab_size=tensors["token_embd.weight"].dims[1], rope_theta=float(field("gemma3.rope.freq_base")),
        rope_theta_local=GEMMA3_LOCAL_ROPE_BASE, sliding_window=int(field("gemma3.attention.sliding_window")),
        global_layers=tuple(i for i in range(n_layers) if (i + 1) % GEMMA3_GLOBAL_EVERY == 0),
        # query_pre_attn_scalar is not in the GGUF: the head dim for Gemma 3 (but 27B), as llama.cpp uses
        attn_scale=head_dim ** -0.5, norm_eps=float(field("gemma3.attention.layer_norm_rms_epsilon")),
    )
    layers = []
    for i in range(n_layers):
        b = f"blk.{i}."
        layers.append(Gemma3LayerWeights(
            attn_norm=get(b + "attn_norm.weight"), wq=get(b + "attn_q.weight"), wk=get(b + "attn_k.weight"),
            wv=get(b + "attn_v.weight"), q_norm=get(b + "attn_q_norm.weight"),
            k_norm=get(b + "attn_k_norm.weight"), wo=get(b + "attn_output.weight"),
            post_attn_norm=get(b + "post_attention_norm.weight"), ffn_norm=get(b + "ffn_norm.weight"),
            w_gate=get(b + "ffn_gate.weight"), w_up=get(b + "ffn_up.weight"),
            w_down=get(b + "ffn_down.weight"), post_ffn_norm=get(b + "post_ffw_norm.weight"),
        ))
    return Gemma3Weights(cfg, get("token_embd.weight"), layers, get("output_norm.weight"))


@cache
def load_tokenizer(source: str, path: Path) -> Any:
    """The model's tokenizer (one per process): from the GGUF's own vocabulary, or the HF directory's."""
    from transformers import AutoTokenizer

    if source == "gguf":
        return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def load_hf_dir(path: Path, dtype: torch.dtype = torch.float32) -> LoadedModel:
    from transformers import AutoConfig, AutoModelForCausalLM

    if not path.is_dir():
        raise ModelLoadError(f"proxy.model.path: HF model directory {str(path)!r} does not exist")
    try:
        hf_cfg = AutoConfig.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"proxy.model.path: {str(path)!r} is not a Hugging Face model dir ({e})") from e
    if hf_cfg.model_type not in SUPPORTED_HF_TYPES:
        raise ModelLoadError(
            f"proxy.model.path: model_type {hf_cfg.model_type!r} is not a supported causal LM "
            f"(supported: {', '.join(SUPPORTED_HF_TYPES)})")
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=dtype)
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    n_heads = hf_cfg.num_attention_heads
    cfg = LlamaConfig(
        n_layers=hf_cfg.num_hidden_layers, d_model=hf_cfg.hidden_size, n_heads=n_heads,
        n_kv_heads=getattr(hf_cfg, "num_key_value_heads", None) or n_heads,
        head_dim=getattr(hf_cfg, "head_dim", None) or hf_cfg.hidden_size // n_heads,
        ffn_dim=hf_cfg.intermediate_size, vocab_size=hf_cfg.vocab_size,
        rope_theta=float(getattr(hf_cfg, "rope_theta", None) or hf_cfg.rope_parameters["rope_theta"]),
        norm_eps=float(hf_cfg.rms_norm_eps),
    )
    layers = []
    for i in range(cfg.n_layers):
        b = f"model.layers.{i}."
        layers.append(LayerWeights(
            attn_norm=sd[b + "input_layernorm.weight"], wq=sd[b + "self_attn.q_proj.weight"],
            wk=sd[b + "self_attn.k_proj.weight"], wv=sd[b + "self_attn.v_proj.weight"],
            wo=sd[b + "self_attn.o_proj.weight"], ffn_norm=sd[b + "post_attention_layernorm.weight"],
            w_gate=sd[b + "mlp.gate_proj.weight"], w_up=sd[b + "mlp.up_proj.weight"],
            w_down=sd[b + "mlp.down_proj.weight"],
        ))
    embed = sd["model.embed_tokens.weight"]
    head = sd.get("lm_head.weight", embed)
    weights = LlamaWeights(cfg, embed, layers, sd["model.norm.weight"], head)
    return LoadedModel(weights, f"hf:{path.resolve().name}", lambda: load_tokenizer("hf", path))
