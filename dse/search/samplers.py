"""Optuna samplers by name, seeded.

Constraints need no wiring here: Optuna 5 samplers read each trial's constraint values (set with
`Trial.set_constraint` before the trial is told), which replaced the deprecated constraints_func.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import optuna

from dse.search.space import Space, SpaceError

SAMPLERS = ("nsga2", "tpe", "gp", "random", "grid", "qmc")


def make_sampler(
    name: str,
    seed: int,
    space: Space,
    options: Mapping[str, Any] | None = None,
    n_trials: int | None = None,
) -> optuna.samplers.BaseSampler:
    """The sampler `name` (one of SAMPLERS) with `options` passed to its constructor.

    With `n_trials`, NSGA-II's population (unless given in `options`) fits the budget.

    NSGA-II, TPE and GP steer by the trials' constraints; random, grid and QMC ignore them
    (infeasible trials are still recorded, and never enter the Pareto set).
    """
    opts = dict(options or {})
    try:
        if name == "nsga2":
            if n_trials is not None:
                opts.setdefault("population_size", nsga2_population(n_trials))
            return optuna.samplers.NSGAIISampler(seed=seed, **opts)
        if name == "tpe":
            # Multivariate TPE models parameters jointly; `group` keeps that joint model for
            # conditional spaces (PQ's params only under pq) instead of falling back to
            # independent sampling for them.
            opts.setdefault("multivariate", True)
            opts.setdefault("group", True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.TPESampler(seed=seed, **opts)
        if name == "gp":
            return optuna.samplers.GPSampler(seed=seed, **opts)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed, **opts)
        if name == "qmc":
            # QMC draws the continuous params; conditional ones fall back to a seeded random sampler.
            opts.setdefault("independent_sampler", optuna.samplers.RandomSampler(seed=seed))
            opts.setdefault("warn_independent_sampling", False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.QMCSampler(seed=seed, **opts)
        if name == "grid":
            return GridSearch(grid_of(space), seed=seed, **opts)
    except SpaceError:
        raise
    except (TypeError, ValueError) as err:
        # Optuna's own message names the option (unexpected keyword, wrong type or range).
        first = " ".join(str(err).split()) or type(err).__name__
        raise SpaceError(f"sampler '{name}': bad sampler_options {sorted(opts)}: {first}") from err
    raise SpaceError(f"unknown sampler '{name}': use one of {', '.join(SAMPLERS)}")


def nsga2_population(n_trials: int) -> int:
    """NSGA-II population for a budget: about six generations, between 8 and Optuna's default 50.

    Optuna's fixed 50 makes any sweep under 50 trials pure random sampling (the first generation
    is random), and a 100-trial budget only two generations; benchmarks/sweep_sample_efficiency.py
    measures the difference (docs/search.md).
    """
    return max(8, min(50, n_trials // 6))


class GridSearch(optuna.samplers.GridSampler):
    """Optuna's GridSampler for ask-and-tell.

    It does not stop the study at the end of the grid (GridSampler calls Study.stop, only valid
    inside Study.optimize); the sweep loop asks `is_exhausted` instead, which here skips
    GridSampler's scan of every trial (O(trials x grid) a call) while fewer trials than grid
    points exist.
    """

    def __init__(self, search_space: Mapping[str, list[Any]], seed: int | None = None) -> None:
        super().__init__(search_space, seed=seed)
        self.size = math.prod(len(v) for v in search_space.values())

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state, values) -> None:  # noqa: ANN001
        return None

    def is_exhausted(self, study: optuna.Study) -> bool:
        if len(study.get_trials(deepcopy=False)) < self.size:
            return False
        return super().is_exhausted(study)


def grid_of(space: Space) -> dict[str, list[Any]]:
    """Every value of every parameter; grid search needs finite, unconditional domains."""
    grid: dict[str, list[Any]] = {}
    for p in space.params:
        if p.when:
            raise SpaceError(f"sampler 'grid': parameter '{p.name}' is conditional; grid needs a flat space")
        dist = p.distribution
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            grid[p.name] = list(dist.choices)
        elif isinstance(dist, optuna.distributions.IntDistribution) and not dist.log:
            grid[p.name] = list(range(dist.low, dist.high + 1, dist.step))
        elif isinstance(dist, optuna.distributions.FloatDistribution) and dist.step is not None:
            count = round((dist.high - dist.low) / dist.step) + 1
            grid[p.name] = [dist.low + i * dist.step for i in range(count)]
        else:
            raise SpaceError(f"sampler 'grid': parameter '{p.name}' is continuous; use choice() or range()")
    return grid
