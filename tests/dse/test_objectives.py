"""Objectives and constraints read from an evaluation dict."""

from __future__ import annotations

import math

import pytest

from dse.search.objectives import (
    Constraint,
    ObjectiveDirectionError,
    ObjectiveError,
    lookup,
    objective_values,
    parse_constraints,
    parse_objectives,
)

RESULT = {
    "latency_s": 2e-3,
    "kv_bytes": 1000,
    "fits": True,
    "power_w": 70.0,
    "energy_j": None,
    "accuracy": {"name": "snr", "value": 20.5, "higher_is_better": True},
}


def test_builtin_names_and_custom_objectives() -> None:
    objs = parse_objectives(
        ["accuracy", "latency", {"name": "power", "key": "power_w", "direction": "minimize"}]
    )
    assert [(o.key, o.direction) for o in objs] == [
        ("accuracy.value", "maximize"),
        ("latency_s", "minimize"),
        ("power_w", "minimize"),
    ]
    assert objective_values(RESULT, objs) == [20.5, 2e-3, 70.0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["speed"], "unknown objective 'speed'"),
        ([{"key": "x", "direction": "up"}], "direction"),
        ([], "no objectives"),
        (["latency", "latency"], "twice"),
    ],
)
def test_bad_objective_specs(spec: list, message: str) -> None:
    with pytest.raises(ObjectiveError, match=message):
        parse_objectives(spec)


def test_missing_or_nan_objective_values_fail_with_the_key_named() -> None:
    with pytest.raises(ObjectiveError, match="energy_j"):
        objective_values(RESULT, parse_objectives(["energy"]))
    with pytest.raises(ObjectiveError, match="latency_s' is nan"):
        objective_values({**RESULT, "latency_s": math.nan}, parse_objectives(["latency"]))


LOSS = {
    **RESULT,
    "tokens_per_s": 250.0,
    "tokens_per_j": 12.5,
    "accuracy": {
        "name": "loss_increase_est",
        "value": 0.0123,
        "higher_is_better": False,
        "unit": "nats/token",
    },
}


def test_accuracy_loss_minimises_the_metric_and_throughput_objectives_maximise() -> None:
    objs = parse_objectives(["accuracy_loss", "tokens_per_s", "tokens_per_j"])
    assert [(o.key, o.direction, o.unit) for o in objs] == [
        ("accuracy.value", "minimize", ""),  # the unit is the record's (dse.results.labels)
        ("tokens_per_s", "maximize", "tokens/s"),
        ("tokens_per_j", "maximize", "tokens/J"),
    ]
    assert objective_values(LOSS, objs) == [0.0123, 250.0, 12.5]


def test_old_higher_is_better_metric_keeps_the_accuracy_objective() -> None:
    old = {**RESULT, "accuracy": {"name": "neg_attn_loss", "value": -0.0344, "higher_is_better": True}}
    assert objective_values(old, parse_objectives(["accuracy"])) == [-0.0344]


@pytest.mark.parametrize(
    ("objective", "record", "message"),
    [
        (
            "accuracy",
            {"name": "loss_increase_est", "higher_is_better": False},
            "objective accuracy: proxy.metric loss_increase_est is lower-is-better: "
            "use objective accuracy_loss",
        ),
        (
            "accuracy_loss",
            {"name": "retrieval_acc", "higher_is_better": True},
            "objective accuracy_loss: proxy.metric retrieval_acc is higher-is-better: use objective accuracy",
        ),
        # A record without its metric's name: the key is named.
        (
            "accuracy",
            {"higher_is_better": False},
            "objective accuracy: 'accuracy.value' is lower-is-better: use objective accuracy_loss",
        ),
    ],
)
def test_direction_contradicting_the_metric_names_the_objective_to_use(
    objective: str, record: dict, message: str
) -> None:
    result = {**RESULT, "accuracy": {"value": 0.3, **record}}
    with pytest.raises(ObjectiveDirectionError) as err:
        objective_values(result, parse_objectives([objective]))
    assert str(err.value) == message


def test_direction_of_another_record_names_the_direction_to_use() -> None:
    result = {"fidelity": {"value": 0.9, "higher_is_better": True}}
    objective = parse_objectives([{"name": "fid", "key": "fidelity.value", "direction": "minimize"}])
    with pytest.raises(ObjectiveDirectionError) as err:
        objective_values(result, objective)
    assert str(err.value) == "objective fid: 'fidelity.value' is higher-is-better: use direction maximize"


def test_constraint_violations_follow_optunas_sign_convention() -> None:
    fits, power, ctx = parse_constraints(
        [{"key": "fits", "equals": True}, {"key": "power_w", "max": 60}, {"key": "ctx", "min": 4096}]
    )
    assert fits.violation(RESULT) == 0.0
    assert fits.violation({**RESULT, "fits": False}) == 1.0
    assert power.violation(RESULT) == pytest.approx(10.0)
    assert power.violation({**RESULT, "power_w": 50}) == 0.0
    assert ctx.violation({"ctx": 1000}) == 3096.0
    assert ctx.violation({}) == 1.0  # a missing value is not feasible
    with pytest.raises(ObjectiveError, match="exactly one"):
        parse_constraints([{"key": "x", "max": 1, "min": 0}])
    assert Constraint("x", max=1.0).violation({"x": math.nan}) == 1.0


def test_lookup_walks_dotted_keys() -> None:
    assert lookup(RESULT, "accuracy.value") == 20.5
    assert lookup(RESULT, "accuracy.nope") is None
    assert lookup(RESULT, "latency_s.x") is None


def test_trial_log_line_takes_the_records_unit_for_an_objective_without_one() -> None:
    from dse.search.loop import format_values

    objectives = parse_objectives(["accuracy_loss", "latency"])
    result = {"accuracy": {"value": 0.0123, "unit": "nats/token"}, "latency_s": 0.002}
    line = format_values(objectives, [0.0123, 0.002], result)
    assert line == "accuracy_loss=0.0123 nats/token latency=0.002s"
    assert format_values(objectives, [0.0123, 0.002]) == "accuracy_loss=0.0123 latency=0.002s"
