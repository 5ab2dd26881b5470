"""Units and titles where people read a study: Pareto table cells, plot axes, the report's legend."""

from __future__ import annotations

import pandas as pd

from dse.results.explorer.figures import front_2d
from dse.results.explorer.page import default_axes
from dse.results.explorer.studies import StudyTrials, build_report
from dse.results.explorer.texts import hover_text, objective_axis
from dse.results.frames import pareto_mask
from dse.results.labels import accuracy_title, objective_legend, record_field, with_record_units
from dse.results.report import pareto_table
from dse.search.objectives import Objective, parse_objectives


def frame(objective: str, record: dict[str, list]) -> pd.DataFrame:
    """Three mutually non-dominated trials (accuracy objective, latency, memory) and one dominated."""
    df = pd.DataFrame(
        {
            "number": [0, 1, 2, 3],
            "state": ["COMPLETE"] * 4,
            objective: [0.0123, 0.002, 0.05, 0.06] if objective == "accuracy_loss" else [0.9, 0.95, 0.8, 0.7],
            "latency": [0.005, 0.008, 0.004, 0.006],
            "memory": [2**30, 2 * 2**30, 2**29, 3 * 2**30],
            "feasible": [True] * 4,
            **{f"accuracy.{k}": v for k, v in record.items()},
        }
    )
    df["pareto"] = pareto_mask(df, parse_objectives([objective, "latency", "memory"]))
    return df


def pareto_figure(df: pd.DataFrame, objectives: list[Objective]):
    """The report's 2-D front at its default axes (accuracy up, latency across) for a bare frame."""
    study = StudyTrials("t", "", None, df, tuple(with_record_units(df, objectives)))  # type: ignore[arg-type]
    report = build_report([study])
    axes = [objective_axis(report, o) for o in report.objectives]
    hover = [hover_text(report, row, []) for _, row in report.trials.iterrows()]
    return front_2d(report, axes, hover, *default_axes(report.objectives))


LOSS = {"name": ["loss_increase_est"] * 4, "unit": ["nats/token"] * 4}


def test_accuracy_titles_say_loss_and_estimate() -> None:
    assert accuracy_title("loss_increase_est", higher_is_better=False) == "accuracy loss, est."
    assert accuracy_title("loss_increase", higher_is_better=False) == "accuracy loss"
    assert accuracy_title("retrieval_acc", higher_is_better=True) == "accuracy"


def test_plot_axes_name_the_metric_and_its_unit() -> None:
    objectives = parse_objectives(["accuracy_loss", "latency", "memory"])
    df = frame("accuracy_loss", LOSS)
    fig = pareto_figure(df, objectives)
    assert fig.layout.yaxis.title.text == "accuracy loss, est. (loss_increase_est, nats/token) ↓"
    assert fig.layout.xaxis.title.text == "latency (latency_s, ms) ↓"
    front = next(t for t in fig.data if t.name == "t: Pareto set")
    assert front.marker.colorbar.title.text == "memory (kv_bytes, GiB) ↓"
    assert list(front.y) == [0.0123, 0.002, 0.05]  # nats/token as stored: no axis scaling
    assert "accuracy_loss: 0.0123 nats/token" in front.hovertext[0]


def test_old_accuracy_objective_and_metric_keep_their_titles() -> None:
    objectives = parse_objectives(["accuracy", "latency", "memory"])
    named = frame("accuracy", {"name": ["neg_attn_loss"] * 4, "unit": [""] * 4})
    assert pareto_figure(named, objectives).layout.yaxis.title.text == "accuracy (neg_attn_loss) ↑"
    # A study stored before records had a unit or a name: the key, as before.
    bare = frame("accuracy", {})
    assert pareto_figure(bare, objectives).layout.yaxis.title.text == "accuracy (accuracy.value) ↑"
    assert pareto_table(bare, objectives).splitlines()[1].split()[:2] == ["1", "0.95"]


def test_pareto_table_cells_carry_the_records_unit_and_the_legend_says_it() -> None:
    objectives = parse_objectives(["accuracy_loss", "latency", "memory"])
    df = frame("accuracy_loss", LOSS)
    lines = pareto_table(df, objectives).splitlines()
    assert lines[0].split()[:3] == ["trial", "accuracy_loss", "↓"]
    # Best loss first: trial 1 (0.002), then 0 (0.0123), then 2 (0.05); 3 is dominated.
    assert [line.split()[:5] for line in lines[1:]] == [
        ["1", "0.002", "nats/token", "8", "ms"],
        ["0", "0.0123", "nats/token", "5", "ms"],
        ["2", "0.05", "nats/token", "4", "ms"],
    ]
    shown = with_record_units(df, objectives)
    assert [o.unit for o in shown] == ["nats/token", "s", "B"]
    assert objective_legend(df, shown) == [
        "accuracy_loss: accuracy loss, est. (loss_increase_est, nats/token), lower is better"
    ]


def test_the_objectives_own_unit_wins_and_a_mixed_record_gives_none() -> None:
    own = parse_objectives(
        [{"name": "loss_pct", "key": "accuracy.value", "direction": "minimize", "unit": "%"}]
    )
    df = frame("accuracy_loss", LOSS)
    assert with_record_units(df, own)[0].unit == "%"
    mixed = frame("accuracy_loss", {"name": ["a", "a", "b", "a"], "unit": ["%", "%", "nats/token", "%"]})
    (loss,) = parse_objectives(["accuracy_loss"])
    assert record_field(mixed, loss, "unit") is None and record_field(mixed, loss, "name") is None
    # Failed trials do not count: only complete ones say what the metric is.
    mixed.loc[2, "state"] = "FAIL"
    assert record_field(mixed, loss, "unit") == "%"


def test_throughput_objectives_show_their_units() -> None:
    objectives = parse_objectives(["tokens_per_s", "tokens_per_j"])
    df = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["COMPLETE"] * 2,
            "tokens_per_s": [250.0, 125.0],
            "tokens_per_j": [10.0, 12.5],
            "feasible": [True] * 2,
        }
    )
    df["pareto"] = pareto_mask(df, objectives)
    lines = pareto_table(df, objectives).splitlines()
    assert [line.split() for line in lines[1:]] == [
        ["0", "250", "tokens/s", "10", "tokens/J"],
        ["1", "125", "tokens/s", "12.5", "tokens/J"],
    ]
    fig = pareto_figure(df, objectives)
    assert (fig.layout.yaxis.title.text, fig.layout.xaxis.title.text) == (
        "tokens_per_s (tokens_per_s, tokens/s) ↑",
        "tokens_per_j (tokens_per_j, tokens/J) ↑",
    )
