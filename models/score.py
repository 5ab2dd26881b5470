"""Public entry points: validate(algo, proxy) and score(algo, proxy) -> Accuracy."""

from __future__ import annotations

import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

import torch

from .cache import cached
from .capture import Q_TAIL
from .errors import SpecError
from .gguf_meta import read_metadata
from .locate import default_gguf
from .result import Accuracy
from .spec import AlgoSpec, PQSpec, ProxySpec, check_pair, parse_algo, parse_proxy


@cache
def _model_shape(source: str, path: str | None) -> tuple[int, int]:
    """(head_dim, n_layers) from model metadata only (no weights are read)."""
    if source == "gguf":
        p = Path(path) if path else default_gguf()
        if not p.is_file():
            raise SpecError("proxy.model.path", str(p), "GGUF file does not exist")
        keys = {"{arch}.embedding_length", "{arch}.attention.head_count", "{arch}.block_count"}
        try:
            meta = read_metadata(p, keys)
        except (ValueError, struct.error) as e:
            raise SpecError("proxy.model.path", str(p), f"not a readable GGUF file ({e})") from e
        if keys - meta.keys():
            raise SpecError("proxy.model.path", str(p), f"GGUF file lacks {sorted(keys - meta.keys())}")
        return (int(meta["{arch}.embedding_length"]) // int(meta["{arch}.attention.head_count"]),
                int(meta["{arch}.block_count"]))
    p = Path(path or "")
    if not (p / "config.json").is_file():
        raise SpecError("proxy.model.path", path, "must be a local Hugging Face model dir with config.json")
    c = json.loads((p / "config.json").read_text())
    return int(c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]), int(c["num_hidden_layers"])


def _parse(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> tuple[AlgoSpec, ProxySpec]:
    algo = parse_algo(algo_cfg)
    proxy = parse_proxy(proxy_cfg)
    head_dim, n_layers = _model_shape(proxy.model.source, proxy.model.path)
    check_pair(algo, proxy, head_dim)
    if proxy.layers and proxy.layers[-1] >= n_layers:
        raise SpecError("proxy.layers", list(proxy.layers), f"layer indices must be < {n_layers}")
    if isinstance(algo, PQSpec) and algo.importance_weighted and algo.importance_queries > Q_TAIL:
        raise SpecError("algo.importance_queries", algo.importance_queries, f"must be <= {Q_TAIL}")
    return algo, proxy


def validate(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> None:
    """Check both configs without loading the model; raises SpecError naming the field."""
    _parse(algo_cfg, proxy_cfg)


def _metric_value(name: str, metrics: dict[str, float]) -> float:
    return -metrics[name[4:]] if name.startswith("neg_") else metrics[name]


def _compute(algo: AlgoSpec, proxy: ProxySpec) -> Accuracy:
    torch.manual_seed(proxy.seed)
    if proxy.mode == "full":
        from .full import score_full

        res = score_full(algo, proxy)
    else:
        from .quick import score_quick

        res = score_quick(algo, proxy)
    return Accuracy(proxy.metric, _metric_value(proxy.metric, res.metrics), True, res.metrics,
                    res.refreshes, proxy.mode)


def score(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> Accuracy:
    """Accuracy of one algorithm point; deterministic for the same configs, cached on disk."""
    algo, proxy = _parse(algo_cfg, proxy_cfg)
    return cached(algo, proxy, lambda: _compute(algo, proxy))
