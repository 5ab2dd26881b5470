"""Exact hardware fronts: for one sampled algorithm point, cost the whole hardware grid at once.

Accuracy depends only on the algorithm, and the hardware cost model (hw/) is cheap and vectorised:
so with `hw_grid: true` the sampler only proposes the non-hardware parameters; the hardware
parameters (`hw.*`, finite domains) are expanded to their full grid, costed in one call of the
grid's scorer on arrays, and the grid's non-dominated feasible points are stored as trials. The
hardware axis then has no sampling error: each algorithm point comes with its exact hardware front.
The scorer (the app's `dse.app.point.score_hw_grid`) is passed in: the search imports no cost model.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from omegaconf import DictConfig, OmegaConf

from dse.search.objectives import ObjectiveError, objective_values
from dse.search.pareto import nondominated_mask, to_minimization
from dse.search.samplers import grid_of
from dse.search.space import Param, Space, SpaceError, Value

HW_PREFIX = "hw."

GridScorer = Callable[[DictConfig, dict[str, Any]], tuple[Any, dict[str, Any]]]
"""Scores one algorithm point over a hardware grid: (its composed config, its `hw` part as a plain dict
in which each grid parameter is an array over the grid) -> (the vectorised cost, whose element `i` has
`.to_dict()`, and the entries every grid point shares, e.g. the point's accuracy)."""


@dataclass(frozen=True)
class GridPoint:
    """One costed hardware point: its hardware parameter values and its evaluation dict."""

    hw_values: dict[str, Value]
    result: dict[str, Any]


@dataclass(frozen=True)
class HwGrid:
    """The hardware parameters of a space, expanded to every combination of their values."""

    params: tuple[Param, ...]
    score: GridScorer

    @classmethod
    def split(cls, space: Space, score: GridScorer) -> tuple[HwGrid, Space]:
        """The grid of the space's `hw.*` parameters and the space of everything else."""
        hw_params = tuple(p for p in space.params if p.name.startswith(HW_PREFIX))
        if not hw_params:
            raise SpaceError("hw_grid: the space has no hw.* parameter to cost as a grid")
        grid_of(Space(hw_params))  # raises for conditional or continuous hardware params
        rest = Space(tuple(p for p in space.params if not p.name.startswith(HW_PREFIX)))
        if any(key.startswith(HW_PREFIX) for p in rest.params for key in p.when):
            raise SpaceError("hw_grid: a parameter's condition refers to a hardware parameter")
        if not rest.params:
            raise SpaceError("hw_grid: nothing left to sample besides the hardware grid; use sampler=grid")
        return cls(hw_params, score), rest

    def points(self) -> list[dict[str, Value]]:
        """Every combination of the hardware values, in a fixed order."""
        values = grid_of(Space(self.params))
        names = list(values)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]

    def evaluate(self, cfg: DictConfig) -> list[GridPoint]:
        """Cost every hardware point of the grid for the algorithm point in `cfg` (one scorer call)."""
        combos = self.points()
        hw_cfg: dict[str, Any] = OmegaConf.to_container(cfg["hw"], resolve=True)  # type: ignore[assignment]
        for p in self.params:
            _set(hw_cfg, p.name[len(HW_PREFIX) :], np.array([c[p.name] for c in combos]))
        cost, shared = self.score(cfg, hw_cfg)
        out = []
        for i, combo in enumerate(combos):
            result = _index(cost, i, len(combos)).to_dict()
            result.update(shared)
            out.append(GridPoint(combo, result))
        return out

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {p.name: p.distribution for p in self.params}


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree[part]
    if leaf not in tree:
        raise SpaceError(f"hw_grid: 'hw.{dotted}' is not a key of the hardware config")
    tree[leaf] = value


def _index(obj: Any, i: int, n: int) -> Any:
    """Element `i` of a grid result: arrays (or scalars broadcast over the grid) become scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(
            obj, **{f.name: _index(getattr(obj, f.name), i, n) for f in dataclasses.fields(obj)}
        )
    if isinstance(obj, Mapping):
        return {k: _index(v, i, n) for k, v in obj.items()}
    if isinstance(obj, np.ndarray | np.generic | int | float):
        return np.broadcast_to(np.asarray(obj), (n,))[i].item()
    return obj


def front(points: Sequence[GridPoint], scoring: Any) -> list[tuple[GridPoint, list[float], dict[str, float]]]:
    """The grid's feasible non-dominated points with their objective values and violations.

    Points whose objectives cannot be read are skipped. With no feasible point, the point of
    least total violation is kept, so the algorithm point is still recorded (as infeasible).
    """
    scored = []
    for p in points:
        try:
            values = objective_values(p.result, scoring.objectives)
        except ObjectiveError:
            continue
        scored.append((p, values, scoring.violations(p.result)))
    if not scored:
        return []
    feasible = [s for s in scored if all(v <= 0 for v in s[2].values())]
    if not feasible:
        return [min(scored, key=lambda s: sum(max(v, 0.0) for v in s[2].values()))]
    directions = [o.direction for o in scoring.objectives]
    mask = nondominated_mask(to_minimization(np.array([s[1] for s in feasible]), directions))
    return [s for s, keep in zip(feasible, mask, strict=True) if keep]
