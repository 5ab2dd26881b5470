"""The accuracy record handed to the search, and what a scoring mode returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import METRICS


@dataclass(frozen=True)
class ModeResult:
    """What a scoring mode (quick, full or retrieval) returns: every metric, and refreshes per codebook."""

    metrics: dict[str, float]
    refreshes: int


@dataclass(frozen=True)
class Accuracy:
    """name/value: the metric the search optimises, its direction and unit (models.spec.METRICS);
    metrics: every metric computed; refreshes: codebook (or cluster) rebuilds after prefill, per
    codebook, for the cost model."""

    name: str
    value: float
    higher_is_better: bool
    metrics: dict[str, float] = field(default_factory=dict)
    refreshes: int = 0
    mode: str = "quick"
    unit: str = ""  # "nats/token", "%", "dB", ... ("" for ratios and shares)
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "higher_is_better": self.higher_is_better,
                "unit": self.unit, "metrics": dict(self.metrics), "refreshes": self.refreshes,
                "mode": self.mode}

    @classmethod
    def from_dict(cls, d: dict[str, Any], cached: bool = False) -> Accuracy:
        """The inverse of to_dict; a record written before `unit` existed takes its metric's unit."""
        known = METRICS.get(d["name"])
        unit = d.get("unit", known.unit if known else "")
        return cls(d["name"], float(d["value"]), bool(d["higher_is_better"]),
                   {k: float(x) for k, x in d["metrics"].items()}, int(d["refreshes"]), d["mode"], unit,
                   cached)
