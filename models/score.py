"""Public entry points: validate(algo, proxy) and score(algo, proxy) -> Accuracy.

One line from config to number: the algorithm spec (`spec.algo`) and the proxy spec are parsed, the
KV format that runs the algorithm is checked against the proxy geometry and the machine, then the
scoring mode fits and compresses it (`models.formats`) and scores the result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from spec.algo import parse_algo

from .cache import cached
from .checks import check_machine
from .formats import KvFormat, format_for
from .result import Accuracy, ModeResult
from .spec import METRICS, ProxySpec, metric_value, parse_proxy


def _parse(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> KvFormat:
    fmt = format_for(parse_algo(algo_cfg), parse_proxy(proxy_cfg))
    fmt.check_proxy()
    if fmt.proxy.mode == "retrieval":
        _check_shortest_prompt(fmt)
    fmt.check_model(check_machine(fmt.proxy).head_dim)
    return fmt


def _check_shortest_prompt(fmt: KvFormat) -> None:
    """Retrieval mode compresses each prompt but its last token (models/retrieval.py): the format's
    geometry rules (centroids, sinks + window, importance queries <= prefill) must hold at the shortest
    prompt, and are monotone in the prefill, so that one check covers every length."""
    shortest = replace(fmt.proxy, prefill_tokens=fmt.proxy.retrieval.lengths[0] - 1)
    format_for(fmt.algo, shortest).check_proxy()


def validate(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> None:
    """Check both configs without loading the model; raises SpecError naming the field."""
    _parse(algo_cfg, proxy_cfg)


def _run_mode(fmt: KvFormat, proxy: ProxySpec) -> ModeResult:
    """The scoring mode's metrics; each mode's module is imported only when it runs."""
    if proxy.mode == "full":
        from .full import score_full

        return score_full(fmt, proxy)
    if proxy.mode == "retrieval":
        from .retrieval import score_retrieval

        return score_retrieval(fmt, proxy)
    from .quick import score_quick

    return score_quick(fmt, proxy)


def _compute(fmt: KvFormat) -> Accuracy:
    proxy = fmt.proxy
    torch.manual_seed(proxy.seed)
    res = _run_mode(fmt, proxy)
    metric = METRICS[proxy.metric]
    return Accuracy(proxy.metric, metric_value(proxy.metric, res.metrics), metric.higher_is_better,
                    res.metrics, res.refreshes, proxy.mode, metric.unit)


def score(algo_cfg: dict[str, Any], proxy_cfg: dict[str, Any]) -> Accuracy:
    """Accuracy of one algorithm point; deterministic for the same configs, cached on disk."""
    fmt = _parse(algo_cfg, proxy_cfg)
    return cached(fmt, fmt.proxy, lambda: _compute(fmt))
