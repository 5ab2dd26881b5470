"""What the report says about an objective or a trial: axis titles, display units, hover texts, the
command that reproduces a trial.

Values stay in their stored units (s, B, J, the accuracy record's unit) everywhere in the report's
data; a plot axis shows them in `dse.units.axis_unit` (ms, GiB, mJ), multiplied by `scale`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dse.results.explorer.studies import Report
from dse.results.labels import objective_title
from dse.results.report import format_param
from dse.search.objectives import Objective
from dse.units import AXIS_UNITS, axis_unit, format_quantity

LOG_AXIS_SPAN = 100.0
"""Use a log axis when an objective's largest value exceeds its smallest positive one by this factor."""

PROGRAM = "pimdse"
"""The command a trial's overrides are given to."""


@dataclass(frozen=True)
class Axis:
    """How one objective is shown: axis title (name, key or metric, unit, direction arrow), the
    short label of table headers and parallel coordinates, the factor from stored to shown units."""

    title: str
    short: str
    unit: str
    scale: float
    log: bool


def objective_axis(report: Report, o: Objective) -> Axis:
    """The axis of objective `o` over all complete trials of the report."""
    unit = axis_unit(o.unit)
    arrow = "↑" if o.direction == "maximize" else "↓"
    values = report.trials[o.name].dropna() if len(report.trials) else pd.Series(dtype=float)
    return Axis(
        title=f"{objective_title(report.trials, o, unit)} {arrow}",
        short=f"{o.name} ({unit}) {arrow}" if unit else f"{o.name} {arrow}",
        unit=unit,
        scale=AXIS_UNITS[o.unit][1] if o.unit in AXIS_UNITS else 1.0,
        log=is_wide(values),
    )


def is_wide(values: pd.Series) -> bool:
    """All positive and spanning more than LOG_AXIS_SPAN: a log axis reads better."""
    positive = values[values > 0]
    return bool(
        len(values) > 1 and len(positive) == len(values) and positive.max() > LOG_AXIS_SPAN * positive.min()
    )


def trial_overrides(row: pd.Series, params: Sequence[str]) -> list[str]:
    """The Hydra overrides that reproduce a trial: the stored `overrides`, or its params when the
    study was filled by something other than pimdse's sweeper."""
    stored = row.get("overrides")
    if isinstance(stored, list | tuple | np.ndarray) and len(stored):
        return [str(o) for o in stored]
    return [f"{p.removeprefix('params.')}={format_param(row[p])}" for p in params if not _missing(row[p])]


def command(overrides: Sequence[str]) -> str:
    """`pimdse algo=pq 'hw.pim.stacks=8'`: a shell command line that evaluates the trial's point."""
    return " ".join([PROGRAM, *(shlex.quote(o) for o in overrides)])


def hover_text(report: Report, row: pd.Series, overrides: Sequence[str]) -> str:
    """Study, trial, objectives, the constraints it broke and its whole configuration (overrides)."""
    study = report.studies[int(row["study"])].name
    lines = [f"<b>{study} · trial {int(row['number'])}</b>"]
    lines += [f"{o.name}: {format_quantity(row[o.name], o.unit)}" for o in report.objectives]
    if row["broke"]:
        lines.append(f"<b>infeasible</b>: broke {row['broke']}")
    lines += overrides
    return "<br>".join(lines)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))
