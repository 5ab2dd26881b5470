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
def _head_dim(source: str, path: str | None) -> int:
    """Head dim from model metadata only (no weights are read)."""
    if source == "gguf":
        p = Path(path) if path else default_gguf()
        if not p.is_file():
            raise SpecError("proxy.model.path", str(p), "GGUF file does not exist")
        keys = {"{arch}.embedding_length", "{arch}.attention.head_count"}
        try:
            meta = read_metadata(p, keys)
        except (ValueError, struct.error) as e:
            raise SpecError("proxy.model.path", str(p), f"not a readable GGUF file ({e})") from e
        if keys - meta.keys():
            raise SpecError("proxy.model.path", str(p), "GGUF file lacks embedding_length/head_count")
        return int(meta["{arch}.embedding_length"]) // int(meta["{arch}.attention.head_count"])
    p = Path(path or "")
    if not (p / "config.json").is_file():
        raise SpecError("proxy.model.path", path, "must be a local Hugging Face model dir with config.json")
    c = json.loads((p / "config.json").read_text())
    return int(c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"])


def _parse(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> tuple[AlgoSpec, ProxySpec]:
    algo = parse_algo(algo_cfg)
    proxy = parse_proxy(proxy_cfg)
    check_pair(algo, proxy, _head_dim(proxy.model.source, proxy.model.path))
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
