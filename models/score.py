"""Public entry points: validate(algo, proxy) and score(algo, proxy) -> Accuracy.

One line from config to number: the algorithm spec (`spec.algo`) and the proxy spec are parsed, the
KV format that runs the algorithm is checked against the proxy geometry and the machine, then the
scoring mode fits and compresses it (`models.formats`) and scores the result.
"""

from __future__ import annotations

from typing import Any

import torch

from spec.algo import parse_algo

from .cache import cached
from .checks import check_machine
from .formats import KvFormat, format_for
from .result import Accuracy
from .spec import parse_proxy


def _parse(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> KvFormat:
    fmt = format_for(parse_algo(algo_cfg), parse_proxy(proxy_cfg))
    fmt.check_proxy()
    fmt.check_model(check_machine(fmt.proxy).head_dim)
    return fmt


def validate(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> None:
    """Check both configs without loading the model; raises SpecError naming the field."""
    _parse(algo_cfg, proxy_cfg)


def _metric_value(name: str, metrics: dict[str, float]) -> float:
    return -metrics[name[4:]] if name.startswith("neg_") else metrics[name]


def _compute(fmt: KvFormat) -> Accuracy:
    proxy = fmt.proxy
    torch.manual_seed(proxy.seed)
    if proxy.mode == "full":
        from .full import score_full

        res = score_full(fmt, proxy)
    else:
        from .quick import score_quick

        res = score_quick(fmt, proxy)
    return Accuracy(proxy.metric, _metric_value(proxy.metric, res.metrics), True, res.metrics,
                    res.refreshes, proxy.mode)


def score(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> Accuracy:
    """Accuracy of one algorithm point; deterministic for the same configs, cached on disk."""
    fmt = _parse(algo_cfg, proxy_cfg)
    return cached(fmt, fmt.proxy, lambda: _compute(fmt))
