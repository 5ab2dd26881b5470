"""Load Llama-architecture weights and a tokenizer, offline, from a GGUF file or a local HF directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ModelLoadError
from .llama import LayerWeights, LlamaConfig, LlamaWeights

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SUPPORTED_HF_TYPES = ("llama", "mistral")


@dataclass
class LoadedModel:
    weights: LlamaWeights
    tokenizer: Any  # a transformers tokenizer: __call__(text).input_ids
    name: str  # identifies the checkpoint in cache keys


def _unpermute_gguf_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's convert-time row permutation of Q/K so RoPE uses the HF rotate-half layout."""
    out_dim = w.shape[0]
    return w.reshape(n_head, out_dim // n_head // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)


def _gguf_field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ModelLoadError(f"GGUF file lacks metadata {key!r}")
    return field.contents()


def load_gguf(path: Path) -> LoadedModel:
    import gguf
    from transformers import AutoTokenizer

    if not path.is_file():
        raise ModelLoadError(f"proxy.model.path: GGUF file {str(path)!r} does not exist")
    reader = gguf.GGUFReader(str(path))
    arch = _gguf_field(reader, "general.architecture")
    if arch != "llama":
        raise ModelLoadError(f"proxy.model.path: GGUF architecture {arch!r} is not supported (llama only)")
    p = f"{arch}."
    n_heads = int(_gguf_field(reader, p + "attention.head_count"))
    n_kv = int(_gguf_field(reader, p + "attention.head_count_kv"))
    d_model = int(_gguf_field(reader, p + "embedding_length"))
    tensors = {t.name: t for t in reader.tensors}

    def get(name: str) -> np.ndarray:
        t = tensors[name]
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        return np.array(a, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)])

    n_layers = int(_gguf_field(reader, p + "block_count"))
    cfg = LlamaConfig(
        n_layers=n_layers, d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv, head_dim=d_model // n_heads,
        ffn_dim=int(_gguf_field(reader, p + "feed_forward_length")),
        vocab_size=tensors["token_embd.weight"].shape[1].item(),
        rope_theta=float(_gguf_field(reader, p + "rope.freq_base")),
        norm_eps=float(_gguf_field(reader, p + "attention.layer_norm_rms_epsilon")),
    )
    t = torch.from_numpy
    layers = []
    for i in range(n_layers):
        b = f"blk.{i}."
        layers.append(LayerWeights(
            attn_norm=t(get(b + "attn_norm.weight")),
            wq=t(_unpermute_gguf_qk(get(b + "attn_q.weight"), n_heads)),
            wk=t(_unpermute_gguf_qk(get(b + "attn_k.weight"), n_kv)),
            wv=t(get(b + "attn_v.weight")), wo=t(get(b + "attn_output.weight")),
            ffn_norm=t(get(b + "ffn_norm.weight")), w_gate=t(get(b + "ffn_gate.weight")),
            w_up=t(get(b + "ffn_up.weight")), w_down=t(get(b + "ffn_down.weight")),
        ))
    embed = t(get("token_embd.weight"))
    head = t(get("output.weight")) if "output.weight" in tensors else embed
    weights = LlamaWeights(cfg, embed, layers, t(get("output_norm.weight")), head)
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    return LoadedModel(weights, tok, f"gguf:{path.name}:{path.stat().st_size}")


def load_hf_dir(path: Path, dtype: torch.dtype = torch.float32) -> LoadedModel:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

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
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return LoadedModel(weights, tok, f"hf:{path.resolve().name}")
