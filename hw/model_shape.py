"""What the LLM looks like to the cost model: layer shapes, from conf/model or a HF config.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.fields import Num, number, only, require, section, text

WEIGHT_OPERATORS = ("qkv_proj", "o_proj", "ffn", "lm_head")
"""Decode operators that read weights (attention reads the KV cache instead)."""


@dataclass(frozen=True)
class ModelShape:
    """Decoder-only transformer shapes (Llama family); weight_bits covers ternary/1-bit models.

    op_weight_bits: bits a weight of each operator in WEIGHT_OPERATORS (weight_bits unless the
    model overrides it, e.g. BitNet's 16-bit LM head next to ternary projections).
    """

    name: str
    n_layers: Num
    n_q_heads: Num
    n_kv_heads: Num
    head_dim: Num
    hidden_size: Num
    intermediate_size: Num
    vocab_size: Num
    weight_bits: Num
    op_weight_bits: dict[str, Num]

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

    def op_weight_bytes(self, op: str) -> Num:
        """Bytes of one operator's weights: one layer's for per-layer operators, the LM head's once."""
        params = {
            "qkv_proj": self.qkv_params_per_layer,
            "o_proj": self.o_params_per_layer,
            "ffn": self.ffn_params_per_layer,
            "lm_head": self.lm_head_params,
        }[op]
        return params * self.op_weight_bits[op] / 8

    def op_input_elems(self, op: str) -> Num:
        """Input activations one token feeds an operator's weights, one layer (gate and up share
        their input; down takes the intermediate activations)."""
        return {
            "qkv_proj": self.hidden_size,
            "o_proj": self.n_q_heads * self.head_dim,
            "ffn": self.hidden_size + self.intermediate_size,
            "lm_head": self.hidden_size,
        }[op]

    @property
    def weight_bytes(self) -> Num:
        """All weights resident on the device running the projections (embedding table excluded)."""
        per_layer = sum(self.op_weight_bytes(op) for op in WEIGHT_OPERATORS if op != "lm_head")
        return self.n_layers * per_layer + self.op_weight_bytes("lm_head")


def build_model(cfg: Mapping[str, Any]) -> ModelShape:
    """Validate a conf/model dict; raise SpecError naming model.<field>."""
    cfg = section(cfg, "model")

    def count(key: str) -> Num:
        return number(cfg, key, "model", ge=1, integer=True)

    weight_bits = number(cfg, "weight_bits", "model", gt=0, le=32)
    overrides = section(cfg.get("op_weight_bits"), "model.op_weight_bits", required=False)
    only(overrides, "model.op_weight_bits", WEIGHT_OPERATORS)
    op_bits = {
        op: number(overrides, op, "model.op_weight_bits", gt=0, le=32, default=weight_bits)
        for op in WEIGHT_OPERATORS
    }
    shape = ModelShape(
        name=text(cfg, "name", "model"),
        n_layers=count("n_layers"),
        n_q_heads=count("n_q_heads"),
        n_kv_heads=count("n_kv_heads"),
        head_dim=count("head_dim"),
        hidden_size=count("hidden_size"),
        intermediate_size=count("intermediate_size"),
        vocab_size=count("vocab_size"),
        weight_bits=weight_bits,
        op_weight_bits=op_bits,
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
