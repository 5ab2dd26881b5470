"""What the LLM looks like to the cost model: layer shapes, from conf/model or a HF config.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.fields import Num, number, require, section, text


@dataclass(frozen=True)
class ModelShape:
    """Decoder-only transformer shapes (Llama family); weight_bits covers ternary/1-bit models."""

    name: str
    n_layers: Num
    n_q_heads: Num
    n_kv_heads: Num
    head_dim: Num
    hidden_size: Num
    intermediate_size: Num
    vocab_size: Num
    weight_bits: Num

    @property
    def gqa_group(self) -> Num:
        """Query heads sharing one KV head."""
        return self.n_q_heads / self.n_kv_heads

    @property
    def proj_params_per_layer(self) -> Num:
        """Weights of Q, K, V and O projections of one layer."""
        q_and_o = 2 * self.hidden_size * self.n_q_heads * self.head_dim
        return q_and_o + 2 * self.hidden_size * self.n_kv_heads * self.head_dim

    @property
    def qkv_params_per_layer(self) -> Num:
        return self.hidden_size * (self.n_q_heads + 2 * self.n_kv_heads) * self.head_dim

    @property
    def o_params_per_layer(self) -> Num:
        return self.hidden_size * self.n_q_heads * self.head_dim

    @property
    def ffn_params_per_layer(self) -> Num:
        """Gated FFN (gate, up, down)."""
        return 3 * self.hidden_size * self.intermediate_size

    @property
    def lm_head_params(self) -> Num:
        return self.hidden_size * self.vocab_size

    @property
    def weight_bytes(self) -> Num:
        """All weights resident on the device running the projections (embedding table excluded)."""
        per_layer = self.qkv_params_per_layer + self.o_params_per_layer + self.ffn_params_per_layer
        return (self.n_layers * per_layer + self.lm_head_params) * self.weight_bits / 8


def build_model(cfg: Mapping[str, Any]) -> ModelShape:
    """Validate a conf/model dict; raise SpecError naming model.<field>."""
    cfg = section(cfg, "model")

    def count(key: str) -> Num:
        return number(cfg, key, "model", ge=1, integer=True)

    shape = ModelShape(
        name=text(cfg, "name", "model"),
        n_layers=count("n_layers"),
        n_q_heads=count("n_q_heads"),
        n_kv_heads=count("n_kv_heads"),
        head_dim=count("head_dim"),
        hidden_size=count("hidden_size"),
        intermediate_size=count("intermediate_size"),
        vocab_size=count("vocab_size"),
        weight_bits=number(cfg, "weight_bits", "model", gt=0, le=32),
    )
    require(
        shape.n_q_heads % shape.n_kv_heads == 0,
        "model.n_kv_heads",
        shape.n_kv_heads,
        "must divide n_q_heads",
    )
    return shape


def model_dict_from_hf_config(
    config: Mapping[str, Any], *, name: str, weight_bits: float = 16
) -> dict[str, Any]:
    """Translate a Hugging Face config.json (Llama/Mistral style) into a conf/model dict."""
    n_q = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    return {
        "name": name,
        "n_layers": int(config["num_hidden_layers"]),
        "n_q_heads": n_q,
        "n_kv_heads": int(config.get("num_key_value_heads", n_q)),
        "head_dim": int(config.get("head_dim") or hidden // n_q),
        "hidden_size": hidden,
        "intermediate_size": int(config["intermediate_size"]),
        "vocab_size": int(config["vocab_size"]),
        "weight_bits": weight_bits,
    }


def load_hf_config(path: str | Path, *, name: str | None = None, weight_bits: float = 16) -> dict[str, Any]:
    """Read a Hugging Face config.json file and return a conf/model dict (pass it to hw.build)."""
    path = Path(path)
    config = json.loads(path.read_text())
    return model_dict_from_hf_config(
        config, name=name or path.parent.name or "hf_model", weight_bits=weight_bits
    )
