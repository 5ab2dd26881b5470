"""What the LLM looks like to the cost model: layer shapes, from conf/model or a HF config.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.fields import Num, count
from spec.fields import number, require, section, text

WEIGHT_OPERATORS = ("qkv_proj", "o_proj", "ffn", "lm_head")
"""Decode operators that read weights (attention reads the KV cache instead)."""


def _bits(doc: str, **kw: Any) -> Any:
    return number(doc, unit="bit", ge=0.25, le=32, **kw)


@dataclass(frozen=True, kw_only=True)
class OpWeightBits:
    """Per-operator overrides of the model's weight_bits (conf/model `op_weight_bits`)."""

    qkv_proj: Num | None = _bits("bits of a Q/K/V projection weight", default=None, default_doc="weight_bits")
    o_proj: Num | None = _bits("bits of an output projection weight", default=None, default_doc="weight_bits")
    ffn: Num | None = _bits("bits of an FFN weight", default=None, default_doc="weight_bits")
    lm_head: Num | None = _bits("bits of an LM head weight", default=None, default_doc="weight_bits")


@dataclass(frozen=True, kw_only=True)
class ModelShape:
    """Decoder-only transformer shapes (Llama family); weight_bits covers ternary/1-bit models.

    op_weight_bits: bits a weight of each operator in WEIGHT_OPERATORS (weight_bits unless the
    model overrides it, e.g. BitNet's 16-bit LM head next to ternary projections).
    """

    name: str = text("model name")
    n_layers: Num = count("decoder layers", le=1 << 14)
    n_q_heads: Num = count("query heads", le=1 << 12)
    n_kv_heads: Num = count("KV heads (divides n_q_heads)", le=1 << 12)
    head_dim: Num = count("dimension of one head", le=1 << 14)
    hidden_size: Num = count("model (residual) width", le=1 << 20)
    intermediate_size: Num = count("FFN width (gate and up outputs)", le=1 << 22)
    vocab_size: Num = count("vocabulary (LM head outputs)", unit="token", le=1 << 24)
    weight_bits: Num = _bits("bits of a weight (1.58 ternary, 16 FP16)")
    op_weight_bits: dict[str, Num] = section(
        "per-operator overrides of weight_bits (e.g. {lm_head: 16})",
        OpWeightBits,
        optional=True,
        default=None,
    )

    @classmethod
    def derive(cls, kw: dict[str, Any], path: str) -> dict[str, Any]:
        """op_weight_bits as a full operator -> bits dict, weight_bits where not overridden."""
        overrides = kw.get("op_weight_bits")
        bits = {op: getattr(overrides, op, None) for op in WEIGHT_OPERATORS}
        return kw | {"op_weight_bits": {op: kw["weight_bits"] if b is None else b for op, b in bits.items()}}

    def check(self, path: str) -> None:
        require(
            self.n_q_heads % self.n_kv_heads == 0,
            f"{path}.n_kv_heads",
            self.n_kv_heads,
            "must divide n_q_heads",
        )

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

    def op_gemvs(self, op: str) -> list[tuple[Num, Num]]:
        """(outputs, inputs) of each GEMV one token runs through an operator's weights, one layer
        (Q, K and V as one GEMV; gate and up as one, then down)."""
        d, h = self.head_dim, self.hidden_size
        return {
            "qkv_proj": [((self.n_q_heads + 2 * self.n_kv_heads) * d, h)],
            "o_proj": [(h, self.n_q_heads * d)],
            "ffn": [(2 * self.intermediate_size, h), (h, self.intermediate_size)],
            "lm_head": [(self.vocab_size, h)],
        }[op]

    @property
    def weight_bytes(self) -> Num:
        """All weights resident on the device running the projections (embedding table excluded)."""
        per_layer = sum(self.op_weight_bytes(op) for op in WEIGHT_OPERATORS if op != "lm_head")
        return self.n_layers * per_layer + self.op_weight_bytes("lm_head")

    def weight_bytes_on(self, devices: Mapping[str, str], device: str) -> Num:
        """Weights (all layers) of the operators `devices` maps to `device`: they live in its memory."""
        resident = 0.0
        for op in WEIGHT_OPERATORS:
            if devices[op] == device:
                resident = resident + self.op_weight_bytes(op) * (1.0 if op == "lm_head" else self.n_layers)
        return resident


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
