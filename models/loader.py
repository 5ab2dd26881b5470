"""Load Llama-architecture weights and a tokenizer, offline, from a GGUF file or a local HF directory."""

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
from .gguf_meta import read_index
from .llama import LayerWeights, LlamaConfig, LlamaWeights

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SUPPORTED_HF_TYPES = ("llama", "mistral")


@dataclass
class LoadedModel:
    weights: LlamaWeights
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
    if arch != "llama":
        raise ModelLoadError(f"proxy.model.path: GGUF architecture {arch!r} is not supported (llama only)")

    def field(key: str) -> Any:
        if key not in meta:
            raise ModelLoadError(f"proxy.model.path: GGUF file lacks metadata {key!r}")
        return meta[key]

    n_heads = int(field("llama.attention.head_count"))
    n_kv = int(field("llama.attention.head_count_kv"))
    d_model = int(field("llama.embedding_length"))
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
    weights = LlamaWeights(cfg, embed, layers, get("output_norm.weight"), head)

    name = f"gguf:{path.name}:{path.stat().st_size}"
    return LoadedModel(weights, name, lambda: load_tokenizer("gguf", path))


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
