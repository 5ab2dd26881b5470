"""A self-contained interactive HTML of a study's Pareto front (plotly).

Accuracy (or accuracy loss) against latency, Pareto points coloured by KV memory, every other
complete trial grey behind them (infeasible ones as crosses); hovering a point shows its objectives
and configuration. With other objectives, the first is the y axis, the second the x axis, the third
the colour. Axis titles name the accuracy metric and its unit (dse.results.labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dse.results.frames import PARAM_PREFIX
from dse.results.labels import objective_title, with_record_units
from dse.results.report import format_param
from dse.search.objectives import ACCURACY_KEY, Objective
from dse.units import axis_unit, format_quantity, to_axis_unit

LOG_AXIS_SPAN = 100.0
"""Use a log axis when an objective's largest value exceeds its smallest positive one by this factor."""


def _axes(objectives: Sequence[Objective]) -> tuple[Objective, Objective | None, Objective | None]:
    by_name = {o.name: o for o in objectives}
    accuracy = next((o for o in objectives if o.key == ACCURACY_KEY), None)
    if accuracy is not None and "latency" in by_name:
        y, x = accuracy, by_name["latency"]
        rest = [o for o in objectives if o not in (y, x)]
        color = by_name.get("memory") or (rest[0] if rest else None)
        return y, x, color
    return (
        objectives[0],
        objectives[1] if len(objectives) > 1 else None,
        (objectives[2] if len(objectives) > 2 else None),
    )


def _label(df: pd.DataFrame, o: Objective) -> str:
    arrow = "↑" if o.direction == "maximize" else "↓"
    return f"{objective_title(df, o, axis_unit(o.unit))} {arrow}"


def _shown(o: Objective, values: pd.Series) -> pd.Series:
    return to_axis_unit(values, o.unit)


def _hover(df: pd.DataFrame, objectives: Sequence[Objective]) -> list[str]:
    params = [c for c in df.columns if c.startswith(PARAM_PREFIX)]
    texts = []
    for _, row in df.iterrows():
        lines = [f"<b>trial {row['number']}</b>"]
        lines += [f"{o.name}: {format_quantity(row[o.name], o.unit)}" for o in objectives]
        shown = [c for c in params if not _missing(row[c])]
        lines += [f"{c.removeprefix(PARAM_PREFIX)} = {format_param(row[c])}" for c in shown]
        for extra in ("fits", "config_hash"):
            if extra in row and not _missing(row[extra]):
                lines.append(f"{extra}: {row[extra]}")
        texts.append("<br>".join(lines))
    return texts


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _is_wide(values: pd.Series) -> bool:
    positive = values[values > 0]
    return (
        len(positive) == len(values) and len(values) > 1 and positive.max() > LOG_AXIS_SPAN * positive.min()
    )


def pareto_figure(df: pd.DataFrame, objectives: Sequence[Objective], title: str) -> go.Figure:
    """The figure: grey dominated/infeasible trials, then the Pareto set coloured by the third axis."""
    objectives = with_record_units(df, objectives)
    y, x, color = _axes(objectives)
    complete = df[df["state"] == "COMPLETE"] if len(df) else df
    fig = go.Figure()
    if x is None:
        complete = complete.assign(_index=np.arange(len(complete)))
    x_col = x.name if x is not None else "_index"
    for name, part, symbol in (
        ("dominated", complete[complete["feasible"] & ~complete["pareto"]], "circle"),
        ("infeasible", complete[~complete["feasible"]], "x"),
    ):
        if len(part):
            fig.add_trace(
                go.Scatter(
                    x=part[x_col] if x is None else _shown(x, part[x_col]),
                    y=_shown(y, part[y.name]),
                    mode="markers",
                    name=name,
                    marker={"color": "lightgrey", "symbol": symbol, "size": 7},
                    hovertext=_hover(part, objectives),
                    hoverinfo="text",
                )
            )
    front = complete[complete["pareto"]]
    if len(front):
        marker: dict = {"size": 11, "line": {"width": 1, "color": "black"}}
        if color is not None:
            marker.update(
                color=_shown(color, front[color.name]),
                colorscale="Viridis",
                showscale=True,
                colorbar={"title": {"text": _label(df, color)}},
            )
        fig.add_trace(
            go.Scatter(
                x=front[x_col] if x is None else _shown(x, front[x_col]),
                y=_shown(y, front[y.name]),
                mode="markers",
                name="Pareto set",
                marker=marker,
                hovertext=_hover(front, objectives),
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        xaxis_title=_label(df, x) if x else "trial",
        yaxis_title=_label(df, y),
        legend={"orientation": "h", "y": -0.15},
    )
    if x is not None and len(complete) and _is_wide(complete[x.name]):
        fig.update_xaxes(type="log")
    return fig


def write_pareto_html(df: pd.DataFrame, objectives: Sequence[Objective], path: Path, title: str) -> Path:
    """Write the figure as one HTML file that opens offline (plotly.js embedded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pareto_figure(df, objectives, title).write_html(path, include_plotlyjs=True, full_html=True)
    return path
