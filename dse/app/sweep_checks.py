"""What `pimdse -m` checks before its first trial (dse.search.checks): pimdse's cheap validator and the
keys of its evaluations. Found by the sweeper as `PIMDSE_SWEEP_CHECKS` of dse.app.pimdse."""

from __future__ import annotations

from omegaconf import DictConfig

import hw
import models
from dse.app.point import PointConfig, unscored_datapath, validate_point
from dse.search.checks import ResultKeys, SweepChecks
from models.spec import METRICS, parse_proxy

ACCURACY_OPEN_KEYS = ("accuracy.metrics",)
"""The metric names under accuracy.metrics depend on the proxy's mode: any of them is accepted."""


def validate_job(cfg: DictConfig) -> None:
    """Raise hw.SpecError or models.SpecError (one line) for an invalid job config; loads no model."""
    validate_point(PointConfig.from_cfg(cfg))


def result_keys(cfg: DictConfig) -> ResultKeys:
    """The keys of `evaluate_point(cfg)` without scoring accuracy: the hardware cost of the point
    (fast), and the accuracy record's fields (an Accuracy built by hand, no model) with the proxy
    metric's name, direction and unit, so an objective against the metric's direction is caught here."""
    point = PointConfig.from_cfg(cfg)
    system, kv_format, workload = hw.build(point.hw, point.algo, point.model, point.workload)
    result = hw.evaluate(system, kv_format, workload).to_dict()
    result["accuracy"] = unscored_accuracy(point.proxy).to_dict()
    result.update(unscored_datapath(point))
    return ResultKeys.of(result, ACCURACY_OPEN_KEYS)


def unscored_accuracy(proxy_cfg: dict) -> models.Accuracy:
    """The record `models.score` returns under `proxy_cfg`, but for its value (0) and metrics (none)."""
    proxy = parse_proxy(proxy_cfg)
    metric = METRICS[proxy.metric]
    return models.Accuracy(
        name=proxy.metric,
        value=0.0,
        higher_is_better=metric.higher_is_better,
        mode=proxy.mode,
        unit=metric.unit,
    )


SWEEP_CHECKS = SweepChecks(validate_job, result_keys, (hw.SpecError, models.SpecError))
