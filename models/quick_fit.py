"""Quick mode's calibrated estimate of the full-mode next-token loss increase (nats/token).

Full mode measures what an architect reads (loss increase over the exact cache); quick mode measures
attention fidelity on two layers in about a second. A power law with one exponent and one scale per
algorithm maps the quick feature x (`attn_loss`) to the full loss increase y:

    y_est = exp(log_scale[algorithm]) * x ** exponent

fitted by least squares in log-log space on a calibration set of algorithm points scored both ways
(`benchmarks/proxy_long.py --fit` writes `quick_fit.json`, shipped with the package; docs/proxy.md
"Calibrated estimate"). The scale is per algorithm because the same attention error costs the
next token differently by kind (PQ's errors are spread over all tokens, a sparse read drops whole
tokens); an algorithm absent from the calibration set uses the pooled scale. Points whose full-mode
increase is below `floor` (the noise of a near-lossless cache) are left out of the fit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

FIT_FILE = Path(__file__).with_name("quick_fit.json")
FEATURE = "attn_loss"
"""The quick metric the estimate reads: attention KL + squared relative output error (docs/proxy.md
"Calibrated estimate" compares it with the other quick metrics)."""


@dataclass(frozen=True)
class QuickFit:
    exponent: float
    log_scale: float  # pooled: one scale for every algorithm
    log_scale_by_algorithm: dict[str, float]
    floor: float  # nats/token: full-mode increases below this were not fitted
    points: int  # calibration points fitted
    source: dict[str, Any]  # what was fitted: proxy configs, point labels, the command

    def estimate(self, metrics: Mapping[str, float], algorithm: str) -> float:
        """Estimated full-mode loss increase (nats/token) of `algorithm` from its quick metrics; 0 for an
        exact cache."""
        x = metrics[FEATURE]
        scale = self.log_scale_by_algorithm.get(algorithm, self.log_scale)
        return math.exp(scale) * x ** self.exponent if x > 0 else 0.0


def fit_power_law(features: Sequence[float], targets: Sequence[float], algorithms: Sequence[str],
                  floor: float, source: dict[str, Any]) -> QuickFit:
    """Least squares of log(target) on log(feature) with one intercept per algorithm, over the points
    with target >= floor and feature > 0; the pooled intercept is the mean residual at that exponent."""
    x, y = np.asarray(features, dtype=float), np.asarray(targets, dtype=float)
    keep = (y >= floor) & (x > 0)
    if keep.sum() < 2:
        raise ValueError(f"need >= 2 calibration points with a loss increase >= {floor}; "
                         f"got {int(keep.sum())}")
    names = sorted({a for a, k in zip(algorithms, keep, strict=True) if k})
    algo = np.asarray(algorithms)[keep]
    design = np.column_stack([np.log(x[keep])] + [(algo == name).astype(float) for name in names])
    coef, *_ = np.linalg.lstsq(design, np.log(y[keep]), rcond=None)
    pooled = np.mean(np.log(y[keep]) - coef[0] * np.log(x[keep]))
    scales = {n: float(c) for n, c in zip(names, coef[1:], strict=True)}
    return QuickFit(float(coef[0]), float(pooled), scales, floor, int(keep.sum()), source)


def save_fit(fit: QuickFit, path: Path = FIT_FILE) -> None:
    path.write_text(json.dumps(asdict(fit), indent=1, sort_keys=True) + "\n")


@cache
def shipped_fit(path: Path = FIT_FILE) -> QuickFit:
    return QuickFit(**json.loads(path.read_text()))
