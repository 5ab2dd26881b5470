"""Samplers by name: budgets, grids, bad names."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from dse.search.samplers import GridSearch, grid_of, make_sampler, nsga2_population
from dse.search.space import Param, Space, SpaceError


def test_nsga2_population_fits_the_budget() -> None:
    assert [nsga2_population(n) for n in (5, 20, 97, 300, 1000)] == [8, 8, 16, 50, 50]


def test_grid_of_expands_finite_domains() -> None:
    space = Space(
        (
            Param("a", CategoricalDistribution(("x", "y"))),
            Param("b", IntDistribution(8, 24, step=8)),
            Param("c", FloatDistribution(0.5, 1.5, step=0.5)),
        )
    )
    assert grid_of(space) == {"a": ["x", "y"], "b": [8, 16, 24], "c": [0.5, 1.0, 1.5]}


def test_grid_search_is_exhausted_only_after_every_point() -> None:
    sampler = make_sampler("grid", 0, Space((Param("a", CategoricalDistribution((1, 2, 3))),)))
    assert isinstance(sampler, GridSearch) and sampler.size == 3
    study = optuna.create_study(sampler=sampler)
    seen = []
    while not sampler.is_exhausted(study):
        trial = study.ask()
        seen.append(trial.suggest_categorical("a", (1, 2, 3)))
        study.tell(trial, 0.0)
    assert sorted(seen) == [1, 2, 3]


def test_unknown_sampler_and_bad_options() -> None:
    space = Space((Param("a", CategoricalDistribution((1, 2))),))
    with pytest.raises(SpaceError, match="unknown sampler 'sobol'"):
        make_sampler("sobol", 0, space)
    with pytest.raises(SpaceError, match="bad sampler_options"):
        make_sampler("tpe", 0, space, {"no_such_option": 1})
