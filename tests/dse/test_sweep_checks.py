"""pimdse's own pre-trial checks (dse.app.sweep_checks) on its real conf/: the accuracy record's keys
and direction are known without scoring, so a wrong objective stops the sweep before any trial."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from dse.app.pimdse import CONF_DIR
from dse.app.sweep_checks import result_keys
from dse.search.checks import check_result_keys
from dse.search.objectives import ObjectiveDirectionError, parse_objectives


def keys_of(*overrides: str):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return result_keys(compose("config", overrides=list(overrides)))


@pytest.mark.parametrize(
    ("overrides", "record"),
    [
        ((), ("loss_increase_est", False, "nats/token", "quick")),
        (("proxy=full",), ("loss_increase", False, "nats/token", "full")),
        (("proxy.metric=ppl_increase_pct", "proxy=full"), ("ppl_increase_pct", False, "%", "full")),
        (("proxy.metric=neg_attn_loss",), ("neg_attn_loss", True, "", "quick")),
    ],
)
def test_the_unscored_record_has_the_metrics_name_direction_and_unit(overrides, record) -> None:
    keys = keys_of(*overrides)
    acc = keys.sample["accuracy"]
    assert (acc["name"], acc["higher_is_better"], acc["unit"], acc["mode"]) == record
    assert {"accuracy.value", "accuracy.unit", "accuracy.higher_is_better", "tokens_per_s"} <= keys.keys
    assert keys.has("accuracy.metrics.loss_increase_est")


def test_objective_against_the_metric_stops_before_any_trial() -> None:
    default = keys_of()
    check_result_keys(default, parse_objectives(["accuracy_loss", "latency", "tokens_per_s"]), ())
    with pytest.raises(ObjectiveDirectionError) as err:
        check_result_keys(default, parse_objectives(["accuracy", "latency"]), ())
    assert str(err.value) == (
        "objective accuracy: proxy.metric loss_increase_est is lower-is-better: use objective accuracy_loss"
    )
    # The old metric with the old objective still passes.
    check_result_keys(keys_of("proxy.metric=neg_attn_loss"), parse_objectives(["accuracy", "memory"]), ())
