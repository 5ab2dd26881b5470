"""dse.search.checks and dse.search.claims as functions: the values a sweep validates, result keys,
worker seeds, worker numbers and claims in a real SQLite file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from dse.search.checks import ResultKeys, check_result_keys, extreme_values, value_points
from dse.search.claims import StudyClaims, worker_seed
from dse.search.objectives import ObjectiveError, parse_constraints, parse_objectives
from dse.search.space import Param, Space


def test_extreme_values_are_each_choice_and_both_bounds() -> None:
    assert extreme_values(CategoricalDistribution((4, 8, 16))) == (4, 8, 16)
    # range(8, 64, step=8) -> IntDistribution(8, 56, step=8): 56 is the largest value produced
    assert extreme_values(IntDistribution(8, 56, step=8)) == (8, 56)
    assert extreme_values(FloatDistribution(0.5, 2.0, log=True)) == (0.5, 2.0)


def test_value_points_put_each_child_value_in_each_option_it_applies_to() -> None:
    space = Space(
        (
            Param("hw.stacks", CategoricalDistribution((4, 8))),
            Param("algo", CategoricalDistribution(("pq", "uniform", "fp16")), is_group=True),
            Param("algo.bits", IntDistribution(2, 8), when={"algo": ("uniform",)}),
            # no condition under a swept group: it exists in every option, checked in each
            Param("algo.seed", CategoricalDistribution((1,))),
            # a condition on a fixed key that does not hold: never sampled, never checked
            Param("workload.batch", CategoricalDistribution((1, 2)), when={"model": ("big",)}),
        )
    )
    points = list(value_points(space, {"model": "small"}))
    assert points == [
        {"hw.stacks": 4},
        {"hw.stacks": 8},
        {"algo": "pq"},
        {"algo": "uniform"},
        {"algo": "fp16"},
        {"algo": "uniform", "algo.bits": 2},
        {"algo": "uniform", "algo.bits": 8},
        {"algo": "pq", "algo.seed": 1},
        {"algo": "uniform", "algo.seed": 1},
        {"algo": "fp16", "algo.seed": 1},
    ]


def test_result_keys_accept_nested_and_open_keys_and_name_the_closest() -> None:
    keys = ResultKeys.of(
        {"latency_s": 1.0, "fits": True, "accuracy": {"value": 0.9, "metrics": {}}},
        open_keys=("accuracy.metrics",),
    )
    assert keys.keys == {"latency_s", "fits", "accuracy", "accuracy.value", "accuracy.metrics"}
    assert keys.has("accuracy.metrics.cosine") and keys.has("accuracy.value")
    assert not keys.has("accuracy.valu") and not keys.has("fitz")
    check_result_keys(
        keys, parse_objectives(["accuracy", "latency"]), parse_constraints([{"key": "fits", "equals": True}])
    )
    with pytest.raises(ObjectiveError, match=r"^objective memory: no key 'kv_bytes' in the evaluation"):
        check_result_keys(keys, parse_objectives(["memory"]), ())
    with pytest.raises(ObjectiveError) as err:
        check_result_keys(keys, (), parse_constraints([{"key": "accuracy.valeu", "min": 0.5}]))
    assert str(err.value) == (
        "constraint accuracy.valeu: no key 'accuracy.valeu' in the evaluation "
        "(closest: accuracy.value, accuracy, accuracy.metrics)"
    )


def test_worker_seeds_are_reproducible_distinct_and_keep_the_first_workers_seed() -> None:
    assert worker_seed(7, 0) == 7
    seeds = [worker_seed(7, i) for i in range(1, 50)]
    assert seeds == [worker_seed(7, i) for i in range(1, 50)]
    assert len(set(seeds + [7])) == 50
    assert all(0 <= s < 2**32 for s in seeds)
    assert worker_seed(8, 1) != worker_seed(7, 1)


def test_workers_are_numbered_in_start_order_and_each_config_is_claimed_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    a, b = StudyClaims(url, "s"), StudyClaims(url, "s")
    other_study = StudyClaims(url, "t")
    assert [a.register("w0"), b.register("w1"), a.register("w2")] == [0, 1, 2]
    assert other_study.register("w3") == 0
    assert a.claim("h1", "w0") is True
    assert b.claim("h1", "w1") is False
    assert a.claim("h1", "w0") is False  # a worker's own claim counts too
    assert other_study.claim("h1", "w3") is True


def test_concurrent_claims_have_exactly_one_winner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    claims = [StudyClaims(url, "s", {"connect_args": {"timeout": 30}}) for _ in range(4)]
    wins: list[tuple[int, str]] = []

    def run(i: int) -> None:
        for h in range(25):
            if claims[i].claim(f"h{h}", f"w{i}"):
                wins.append((i, f"h{h}"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(h for _, h in wins) == sorted(f"h{h}" for h in range(25))
