"""Score one design point: cost it with hw/ and score its accuracy with models/.

This is the one place where the composed Hydra config becomes the plain dicts the two scorers take;
each scorer validates its own part and builds its own typed specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

import hw
import models
from dse.app.finite import check_finite
from models.analog import DatapathAccuracy, score_datapath, validate_datapath


@dataclass(frozen=True)
class PointConfig:
    """The parts of a composed config that define a design point, as plain containers."""

    hw: dict[str, Any]
    algo: dict[str, Any]
    model: dict[str, Any]
    workload: dict[str, Any]
    proxy: dict[str, Any]
    datapath: dict[str, Any] | None = None  # the analog-datapath emulation (conf `datapath`; None: defaults)

    @classmethod
    def from_cfg(cls, cfg: DictConfig) -> PointConfig:
        def part(name: str) -> dict[str, Any]:
            return OmegaConf.to_container(cfg[name], resolve=True)  # type: ignore[return-value]

        datapath = part("datapath") if "datapath" in cfg else None
        return cls(part("hw"), part("algo"), part("model"), part("workload"), part("proxy"), datapath)

    @property
    def xbar_operators(self) -> tuple[str, ...]:
        """The operators the hardware maps to the analog crossbar: they run through its emulation."""
        mapping = self.hw.get("mapping") or {}
        return tuple(op for op, device in mapping.items() if device == "xbar")


def validate_point(point: PointConfig) -> None:
    """Raise hw.SpecError or models.SpecError (one line) if any part of the point is invalid.

    Cheap: builds the hardware specs and checks the algorithm against the proxy, loads no model.
    """
    hw.build(point.hw, point.algo, point.model, point.workload)
    models.validate(point.algo, point.proxy)
    if point.xbar_operators:
        validate_datapath(point.hw.get("xbar"), point.xbar_operators, point.proxy, point.datapath)


def evaluate_point(cfg: DictConfig | PointConfig) -> dict[str, Any]:
    """Cost and score one design point; returns the JSON-ready result of `python -m dse.eval`.

    Keys: latency_s (decode step, s), energy_j (per decode step, J), kv_bytes, kv_bytes_split,
    fits, max_context_tokens (tokens), breakdown (kernel -> s), kernels (kernel -> seconds, energy_j,
    bound, device, flops, bytes), devices (device -> peak_flops, bw_bytes_per_s), accuracy (name,
    value, higher_is_better, metrics, refreshes), and with operators on a crossbar datapath
    (name, value: KL in nats/token, lower is better, metrics; models.analog).
    Raises SpecError naming the key of a NaN or infinite number (dse.app.finite).
    """
    point = cfg if isinstance(cfg, PointConfig) else PointConfig.from_cfg(cfg)
    validate_point(point)
    system, kv_format, workload = hw.build(point.hw, point.algo, point.model, point.workload)
    result = hw.evaluate(system, kv_format, workload).to_dict()
    result["accuracy"] = models.score(point.algo, point.proxy).to_dict()
    if point.xbar_operators:
        result["datapath"] = score_datapath(point.hw["xbar"], point.xbar_operators, point.proxy,
                                            point.datapath).to_dict()
    check_finite(result)
    return result


def unscored_datapath(point: PointConfig) -> dict[str, Any]:
    """{"datapath": its record's keys} for a point with crossbar operators (no model run), else {}."""
    if not point.xbar_operators:
        return {}
    return {"datapath": DatapathAccuracy.unscored(point.xbar_operators).to_dict()}


def score_hw_grid(cfg: DictConfig, hw_grid: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The `hw_grid` scorer (dse.search.hwgrid.GridScorer) of the algorithm point in `cfg`.

    `hw_grid` is its `hw` part with arrays over the grid: one vectorised `hw.evaluate` costs every
    grid point; the accuracy, which depends only on the algorithm, is scored once for all of them.
    """
    point = PointConfig.from_cfg(cfg)
    system, kv_format, workload = hw.build(hw_grid, point.algo, point.model, point.workload)
    cost = hw.evaluate(system, kv_format, workload)
    shared = {"accuracy": models.score(point.algo, point.proxy).to_dict()}
    if point.xbar_operators:  # one datapath for the grid: its keys must not vary (models.analog says which)
        shared["datapath"] = score_datapath(hw_grid["xbar"], point.xbar_operators, point.proxy,
                                            point.datapath).to_dict()
    check_finite(shared)
    return cost, shared
