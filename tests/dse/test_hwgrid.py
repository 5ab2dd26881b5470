"""Hardware-grid mode: each sampled algorithm point gets the exact front of its hardware grid."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import load, sweep_args
from hydra import compose, initialize_config_dir
from hydra._internal.hydra import Hydra
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from dse.app.pimdse import CONF_DIR, main
from dse.app.point import evaluate_point, score_hw_grid
from dse.search.hwgrid import GridPoint, HwGrid, _index, front
from dse.search.ledger import ATTR_FRONT_RANK
from dse.search.loop import Scoring
from dse.search.objectives import parse_constraints, parse_objectives
from dse.search.space import Param, Space, SpaceError

Cat = optuna.distributions.CategoricalDistribution


def test_split_keeps_hardware_params_for_the_grid() -> None:
    space = Space(
        (
            Param("hw.a", Cat((1, 2))),
            Param("algo", Cat(("pq", "uniform")), is_group=True),
            Param("hw.b", optuna.distributions.IntDistribution(8, 24, step=8)),
        )
    )
    grid, rest = HwGrid.split(space, score_hw_grid)
    assert rest.names == ("algo",)
    assert grid.points() == [{"hw.a": a, "hw.b": b} for a in (1, 2) for b in (8, 16, 24)]
    with pytest.raises(SpaceError, match="continuous"):
        HwGrid.split(
            Space((Param("hw.x", optuna.distributions.FloatDistribution(0, 1)), Param("a", Cat((1,))))),
            score_hw_grid,
        )
    with pytest.raises(SpaceError, match="no hw"):
        HwGrid.split(Space((Param("a", Cat((1,))),)), score_hw_grid)


def test_evaluate_hands_the_scorer_the_grid_as_arrays() -> None:
    @dataclasses.dataclass(frozen=True)
    class Cost:
        seconds: object

        def to_dict(self) -> dict:
            return {"latency_s": self.seconds}

    seen = {}

    def scorer(cfg, hw_cfg):  # noqa: ANN001, ANN202
        seen.update(hw_cfg)
        return Cost(hw_cfg["a"] * hw_cfg["n"]["b"]), {"accuracy": cfg.acc}

    grid = HwGrid((Param("hw.a", Cat((1, 2))), Param("hw.n.b", Cat((10, 30)))), scorer)
    points = grid.evaluate(OmegaConf.create({"acc": 0.5, "hw": {"a": 0, "n": {"b": 0}, "c": 7}}))
    assert seen["c"] == 7 and list(seen["a"]) == [1, 1, 2, 2] and list(seen["n"]["b"]) == [10, 30, 10, 30]
    assert [(p.hw_values, p.result) for p in points] == [
        ({"hw.a": a, "hw.n.b": b}, {"latency_s": a * b, "accuracy": 0.5}) for a in (1, 2) for b in (10, 30)
    ]
    with pytest.raises(SpaceError, match="'hw.x' is not a key"):
        HwGrid((Param("hw.x", Cat((1,))),), scorer).evaluate(OmegaConf.create({"acc": 0, "hw": {}}))


def test_index_takes_one_point_of_a_grid_result() -> None:
    from hw.roofline import KernelCost

    k = KernelCost(seconds=np.array([1.0, 2.0]), energy_j=3.0, bound_code=np.array([0, 1]), device="pim")
    assert _index({"k": k, "fits": np.array([True, False])}, 1, 2) == {
        "k": KernelCost(2.0, 3.0, 1, "pim"),
        "fits": False,
    }


def test_front_keeps_feasible_nondominated_points() -> None:
    scoring = Scoring(
        parse_objectives(["latency", "memory"]), parse_constraints([{"key": "fits", "equals": True}])
    )
    pts = [
        GridPoint({"hw.a": i}, {"latency_s": lat, "kv_bytes": mem, "fits": fits})
        for i, (lat, mem, fits) in enumerate([(1, 5, True), (2, 2, True), (3, 3, True), (0.5, 1, False)])
    ]
    assert [p.hw_values["hw.a"] for p, _, _ in front(pts, scoring)] == [0, 1]
    # No feasible point: the least violating one stands for the algorithm point.
    assert [p.hw_values["hw.a"] for p, _, _ in front(pts[3:], scoring)] == [3]


SMALL_FULL_PROXY = [
    "proxy=full",
    "proxy.text.source=lee",
    "proxy.text.calib_seqs=1",
    "proxy.seq_tokens=320",
    "proxy.prefill_tokens=256",
    "proxy.n_seqs=1",
]
"""The real proxy kept small (one 320-token news sequence) in full mode: the default objective
accuracy_loss minimises its default metric, the next-token loss increase (nats/token)."""


def test_hw_grid_sweep_stores_exact_fronts_of_the_real_cost_model(tmp_path: Path) -> None:
    hw_sweep = ["hw.pim.stacks=choice(2,4,8)", "hw.pim.pe.bank.lanes=choice(8,16,32)"]
    overrides = [
        *SMALL_FULL_PROXY,
        "hydra.sweeper.hw_grid=true",
        "hydra.sweeper.n_trials=2",
        "~space",
        "algo=uniform",
        "algo.bits=choice(2,4)",
        "hydra.sweeper.sampler=grid",
        *hw_sweep,
    ]
    hydra = Hydra.create_main_hydra_file_or_module(
        calling_file=None, calling_module="dse.app.pimdse", config_path=str(CONF_DIR), job_name="app"
    )
    try:
        hydra.multirun(
            config_name="config",
            task_function=inspect.unwrap(main),
            overrides=sweep_args(tmp_path, "grid", overrides),
            with_log_configuration=False,
        )
    finally:
        GlobalHydra.instance().clear()
    trials = load(tmp_path, "grid").get_trials()
    assert sorted({t.params["algo.bits"] for t in trials}) == [2, 4]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for bits in (2, 4):
            group = [t for t in trials if t.params["algo.bits"] == bits]
            assert sorted(t.user_attrs[ATTR_FRONT_RANK] for t in group) == list(range(len(group)))
            # Every grid point costed one at a time: the stored front is exactly its Pareto set.
            points = []
            for stacks in (2, 4, 8):
                for lanes in (8, 16, 32):
                    r = evaluate_point(
                        compose(
                            "config",
                            overrides=[
                                *SMALL_FULL_PROXY,
                                "algo=uniform",
                                f"algo.bits={bits}",
                                f"hw.pim.stacks={stacks}",
                                f"hw.pim.pe.bank.lanes={lanes}",
                            ],
                        )
                    )
                    if r["fits"]:
                        points.append(
                            ((stacks, lanes), (r["accuracy"]["value"], r["latency_s"], r["kv_bytes"]))
                        )
            best = {
                p
                for p, v in points
                if not any(all(a <= b for a, b in zip(w, v, strict=True)) and w != v for _, w in points)
            }
            stored = {(t.params["hw.pim.stacks"], t.params["hw.pim.pe.bank.lanes"]) for t in group}
            assert len({t.user_attrs["config_hash"] for t in group}) == len(group)
            assert len({t.user_attrs["hw_grid.sampled_config_hash"] for t in group}) == 1
            assert stored == best
            for t in group:
                stacks, lanes = t.params["hw.pim.stacks"], t.params["hw.pim.pe.bank.lanes"]
                expected = dict(points)[(stacks, lanes)]
                assert t.values == pytest.approx(list(expected), rel=1e-12)
