"""The quick -> full calibration: the power-law fit, the estimate it gives, and the shipped fit."""

import math

import pytest

from models.quick_fit import FIT_FILE, QuickFit, fit_power_law, save_fit, shipped_fit


def test_a_power_law_with_one_scale_per_algorithm_is_recovered_exactly() -> None:
    x = [0.01, 0.1, 0.4, 2.0, 0.05, 0.5]
    algos = ["pq", "pq", "pq", "uniform", "uniform", "uniform"]
    y = [(2.0 if a == "pq" else 0.5) * v**1.5 for v, a in zip(x, algos, strict=True)]
    fit = fit_power_law(x, y, algos, floor=0.0, source={})
    assert fit.exponent == pytest.approx(1.5)
    assert math.exp(fit.log_scale_by_algorithm["pq"]) == pytest.approx(2.0)
    assert math.exp(fit.log_scale_by_algorithm["uniform"]) == pytest.approx(0.5)
    assert math.exp(fit.log_scale) == pytest.approx(1.0)  # the mean residual: sqrt(2.0 * 0.5)
    assert fit.points == 6


def test_points_under_the_floor_are_not_fitted() -> None:
    """A near-lossless point (increase 1e-6, noise) would drag the line; below the floor it is left out."""
    x, y = [1e-4, 0.1, 1.0], [1e-6, 0.05, 0.5]
    fit = fit_power_law(x, y, ["pq"] * 3, floor=1e-3, source={})
    assert fit.points == 2 and fit.exponent == pytest.approx(1.0)
    with pytest.raises(ValueError, match="need >= 2"):
        fit_power_law(x, y, ["pq"] * 3, floor=0.1, source={})


def test_estimate_reads_attn_loss_with_the_algorithm_scale() -> None:
    fit = QuickFit(exponent=2.0, log_scale=math.log(0.5), log_scale_by_algorithm={"pq": math.log(0.25)},
                   floor=0.0, points=2, source={})
    metrics = {"attn_loss": 0.1, "rel_err": 99.0}
    assert fit.estimate(metrics, "pq") == pytest.approx(0.25 * 0.01)
    assert fit.estimate(metrics, "cluster_sparse") == pytest.approx(0.5 * 0.01)  # not calibrated: pooled
    assert fit.estimate({"attn_loss": 0.0}, "pq") == 0.0


def test_round_trip(tmp_path) -> None:
    fit = QuickFit(0.75, -1.25, {"pq": -2.0}, 1e-3, 7, {"points": ["a", "b"]})
    save_fit(fit, tmp_path / "fit.json")
    assert shipped_fit(tmp_path / "fit.json") == fit


def test_the_shipped_fit_is_increasing_and_says_what_it_was_fitted_on() -> None:
    fit = shipped_fit(FIT_FILE)
    assert fit.exponent > 0  # more attention error never estimates a smaller loss increase
    assert fit.points >= 10 and len(fit.source["points"]) >= fit.points
    assert {"pq", "uniform", "cluster_sparse"} <= fit.log_scale_by_algorithm.keys()
    assert fit.source["quick"]["seq_tokens"] == fit.source["full"]["seq_tokens"] == 4096
