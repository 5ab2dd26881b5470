"""The end-of-sweep summary: the Pareto set as a readable table, hypervolume, and where files are."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dse.results.frames import PARAM_PREFIX, pareto_frame
from dse.results.labels import with_record_units
from dse.search.objectives import Objective
from dse.units import format_number, format_quantity


def pareto_table(df: pd.DataFrame, objectives: Sequence[Objective], max_rows: int = 40) -> str:
    """The Pareto trials, best first by the first objective: objectives (with their units, an accuracy
    objective's from the trials' record), then the params that vary."""
    objectives = with_record_units(df, objectives)
    front = pareto_frame(df)
    if front.empty:
        return "(no feasible complete trial: the Pareto set is empty)"
    first = objectives[0]
    front = front.sort_values(first.name, ascending=first.direction == "minimize")
    repeats = 0
    if "config_hash" in front:
        # One row per configuration: a config run twice (skip_duplicates off) is listed once.
        unique = front.drop_duplicates("config_hash")
        repeats, front = len(front) - len(unique), unique
    params = [c for c in df.columns if c.startswith(PARAM_PREFIX)]
    table = pd.DataFrame({"trial": front["number"].to_numpy()})
    for o in objectives:
        table[f"{o.name} {'↑' if o.direction == 'maximize' else '↓'}"] = [
            format_quantity(v, o.unit) for v in front[o.name]
        ]
    for col in params:
        table[col[len(PARAM_PREFIX) :]] = [format_param(v) for v in front[col]]
    text = table.head(max_rows).to_string(index=False)
    if repeats:
        text += f"\n({repeats} more Pareto trials repeat a configuration listed above)"
    if len(table) > max_rows:
        text += f"\n... {len(table) - max_rows} more Pareto trials in the exported table"
    return text


def format_param(v: object) -> object:
    """Conditional params are NaN where absent (shown blank), which also turns ints into floats."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, float):
        return format_number(v)
    return v
