"""How objectives and the accuracy record are named where people read them: table rows, Pareto table
cells, plot axes.

An objective at `X.value` (the accuracy objectives read `accuracy.value`) takes its unit from the
record its trials stored (`X.unit`, e.g. `nats/token`) when the objective itself names none, and the
accuracy objectives are titled from the record's metric: `accuracy loss, est. (loss_increase_est,
nats/token)` rather than `accuracy (accuracy.value)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from dse.search.objectives import ACCURACY_KEY, Objective

ESTIMATE_SUFFIX = "_est"
"""A metric named `<m>_est` is a calibrated estimate of `<m>` (quick mode's loss_increase_est)."""


def accuracy_title(metric: str, higher_is_better: bool) -> str:
    """`accuracy` for a higher-is-better metric, `accuracy loss` for a lower-is-better one;
    `, est.` when the metric is an estimate (quick mode's calibrated loss_increase_est)."""
    title = "accuracy" if higher_is_better else "accuracy loss"
    return title + (", est." if metric.endswith(ESTIMATE_SUFFIX) else "")


def record_field(df: pd.DataFrame, o: Objective, field: str) -> object | None:
    """The one value of the record field `X.<field>` that the complete trials of an objective at
    `X.value` stored (frame column `X.<field>`); None when absent, or when the trials disagree."""
    if not o.key.endswith(".value") or not len(df) or "state" not in df:
        return None
    column = f"{o.key[: -len('.value')]}.{field}"
    if column not in df:
        return None
    values = df.loc[df["state"] == "COMPLETE", column].dropna().unique()
    return values[0] if len(values) == 1 else None


def with_record_units(df: pd.DataFrame, objectives: Sequence[Objective]) -> list[Objective]:
    """The objectives, each without a unit of its own given the unit its trials' record states."""
    out = []
    for o in objectives:
        unit = o.unit or record_field(df, o, "unit")
        out.append(dataclasses.replace(o, unit=unit) if isinstance(unit, str) and unit else o)
    return out


def objective_title(df: pd.DataFrame, o: Objective, shown_unit: str) -> str:
    """`accuracy loss, est. (loss_increase_est, nats/token)` for an accuracy objective whose trials
    name their metric; `latency (latency_s, ms)` (name, key, unit) otherwise."""
    metric = record_field(df, o, "name") if o.key == ACCURACY_KEY else None
    unit = f", {shown_unit}" if shown_unit else ""
    if isinstance(metric, str) and metric:
        return f"{accuracy_title(metric, o.direction == 'maximize')} ({metric}{unit})"
    return f"{o.name} ({o.key}{unit})"


def objective_legend(df: pd.DataFrame, objectives: Sequence[Objective]) -> list[str]:
    """One line per accuracy objective: its metric, unit and direction, for the study report."""
    lines = []
    for o in objectives:
        metric = record_field(df, o, "name") if o.key == ACCURACY_KEY else None
        if isinstance(metric, str) and metric:
            better = "higher" if o.direction == "maximize" else "lower"
            lines.append(f"{o.name}: {objective_title(df, o, o.unit)}, {better} is better")
    return lines
