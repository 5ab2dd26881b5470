"""Sample efficiency: the share of the exhaustive grid's Pareto hypervolume that NSGA-II, TPE and
random search reach with 10 % of the grid's evaluations.

The space (pimdse's conf/, Mistral-7B on the AQPIM HBM3-PIM preset): the KV algorithm (PQ with
subvector dim x codebook size, or uniform with bits: 12 algorithm points) times four hardware
knobs (stacks, bank-PE lanes, banks per PE, PE clock: 81 points) = 972 design points. The whole
grid is costed with the real cost model (vectorised per algorithm point) and the cached accuracy
proxy; objectives are pimdse's defaults (accuracy loss min, latency min, KV memory min), with the
`fits` constraint. Each sampler then proposes points one at a time through pimdse's own space
(conditional parameters, Optuna 5 constraints) and is scored from the precomputed table; as in
the sweeper, a repeated proposal is answered from what was already evaluated and does not count.
Hypervolumes share one reference point: the nadir of the grid's true Pareto front moved out by
10 % of the front's range (a reference just past the front; one far behind it, e.g. past the
worst design, lets any spread of points score close to 1 and hides the differences).

    .venv/bin/python benchmarks/sweep_sample_efficiency.py [--seeds 5] [--fraction 0.1]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import Any

import numpy as np
import optuna
from hydra import compose, initialize_config_dir
from optuna.distributions import CategoricalDistribution as Cat

from dse.app.pimdse import CONF_DIR
from dse.app.point import score_hw_grid
from dse.search.hwgrid import HwGrid
from dse.search.loop import Scoring
from dse.search.objectives import parse_constraints, parse_objectives
from dse.search.pareto import hypervolume, nondominated_mask, reference_point, to_minimization
from dse.search.samplers import make_sampler, nsga2_population
from dse.search.space import Param, Space

HW = {
    "hw.pim.stacks": (2, 4, 8),
    "hw.pim.pe.bank.lanes": (8, 16, 32),
    "hw.pim.pe.bank.banks_per_pe": (1, 2, 4),
    "hw.pim.pe.bank.clock_hz": (333.0e6, 666.0e6, 1.0e9),
}
ALGO = {
    "pq": {"algo.subvector_dim": (2, 4, 8), "algo.n_centroids": (64, 256, 512)},
    "uniform": {"algo.bits": (2, 4, 8)},
}
SCORING = Scoring(
    parse_objectives(["accuracy_loss", "latency", "memory"]),
    parse_constraints([{"key": "fits", "equals": True}]),
)


def space() -> Space:
    params = [Param("algo", Cat(tuple(ALGO)), is_group=True)]
    for algo, knobs in ALGO.items():
        params += [Param(k, Cat(v), {"algo": (algo,)}) for k, v in knobs.items()]
    params += [Param(k, Cat(v)) for k, v in HW.items()]
    return Space(tuple(params))


def algo_points() -> list[dict[str, Any]]:
    out = []
    for algo, knobs in ALGO.items():
        for combo in itertools.product(*knobs.values()):
            out.append({"algo": algo, **dict(zip(knobs, combo, strict=True))})
    return out


def exhaustive_grid() -> dict[tuple, tuple[list[float], dict[str, float]]]:
    """Design point (sorted param items) -> (objective values, constraint violations)."""
    grid = HwGrid(tuple(Param(k, Cat(v)) for k, v in HW.items()), score_hw_grid)
    table = {}
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for algo in algo_points():
            cfg = compose("config", overrides=[f"{k}={v}" for k, v in algo.items()])
            for point in grid.evaluate(cfg):
                values = [
                    float(v) for v in np.asarray([_value(point.result, o.key) for o in SCORING.objectives])
                ]
                table[_key({**algo, **point.hw_values})] = (values, SCORING.violations(point.result))
    return table


def _value(result: dict, key: str) -> float:
    node: Any = result
    for part in key.split("."):
        node = node[part]
    return node


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


def feasible_points(entries: list[tuple[list[float], dict[str, float]]]) -> np.ndarray:
    pts = [v for v, c in entries if all(x <= 0 for x in c.values())]
    return to_minimization(np.array(pts), [o.direction for o in SCORING.objectives])


def search(sampler_name: str, seed: int, budget: int, table: dict, options: dict) -> list[tuple]:
    """Run one sampler until `budget` distinct design points are evaluated; return them."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sp = space()
    study = optuna.create_study(
        directions=[o.direction for o in SCORING.objectives],
        sampler=make_sampler(sampler_name, seed, sp, options, n_trials=budget),
    )
    evaluated: dict[tuple, tuple] = {}
    asks = 0
    while len(evaluated) < budget and asks < 50 * budget:
        asks += 1
        trial = study.ask()
        values, violations = table[_key(sp.suggest(trial, {}))]
        for key, v in violations.items():
            trial.set_constraint(key, v)
        study.tell(trial, values)
        evaluated[_key(trial.params)] = (values, violations)
    return list(evaluated.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument(
        "--samplers", default="nsga2,nsga2-50,tpe,random", help="also: gp (slow, ~3 s a trial)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    table = exhaustive_grid()
    grid_pts = feasible_points(list(table.values()))
    ref = reference_point(grid_pts[nondominated_mask(grid_pts)])
    full = hypervolume(grid_pts, ref)
    budget = round(args.fraction * len(table))
    print(
        f"grid: {len(table)} design points ({len(grid_pts)} feasible), costed in "
        f"{time.perf_counter() - start:.1f} s; budget {budget} evaluations ({args.fraction:.0%})"
    )
    known = {
        "nsga2": ("nsga2", {}),
        "nsga2-50": ("nsga2", {"population_size": 50}),
        "tpe": ("tpe", {}),
        "tpe-nogroup": ("tpe", {"group": False}),
        "gp": ("gp", {"warn_independent_sampling": False}),
        "random": ("random", {}),
    }
    cases = [known[name] for name in args.samplers.split(",")]
    print(f"{'sampler':<28} {'HV fraction: median':>20} {'min':>7} {'max':>7}   per seed")
    for name, options in cases:
        fractions = []
        for seed in range(args.seeds):
            found = feasible_points(search(name, seed, budget, table, options))
            fractions.append(hypervolume(found, ref) / full if len(found) else 0.0)
        label = name + (f" {options}" if options else "")
        if name == "nsga2" and not options:
            label += f" (population {nsga2_population(budget)})"
        print(
            f"{label:<28} {statistics.median(fractions):20.4f} {min(fractions):7.4f} {max(fractions):7.4f}   "
            + " ".join(f"{f:.3f}" for f in fractions),
            flush=True,
        )


if __name__ == "__main__":
    main()
