"""The report's figures as plotly figures: what the static PNG/SVG files show, and the look
(`STYLE`) that the page's script uses when it redraws the fronts under its filters.

- `front_2d`: two objectives; each study's Pareto points (over all the report's objectives) in its
  colour, or coloured by a third objective when there is one study; its 2-D front as a step line;
  every other feasible trial faint behind; infeasible trials as crosses, one legend entry per
  constraint they broke.
- `front_3d`: the same over three objectives.
- `parallel`: parallel coordinates over the parameters and objectives of the feasible trials.
- `hypervolume_figure`: running hypervolume of each study by trial number.
- `importance_figure`: PED-ANOVA parameter importance of one study, one bar per objective.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from dse.results.explorer.studies import HypervolumeHistory, Importance, Report, StudyTrials
from dse.results.explorer.texts import Axis
from dse.results.report import format_param
from dse.search.pareto import nondominated_mask, to_minimization

STUDY_COLORS = qualitative.Plotly
"""Study i is drawn in STUDY_COLORS[i % len]."""

STYLE = {
    "dominated": {"size": 6, "opacity": 0.3},
    "pareto": {"size": 11, "line": {"width": 1, "color": "black"}},
    "infeasible": {"size": 7, "opacity": 0.6, "color": "#7f7f7f"},
    "infeasible_symbols": ["x", "cross", "triangle-up", "diamond", "square", "star"],
    "selected": {"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#d62728"}},
    "colorscale": "Viridis",
    "other_color": "#c7c7c7",
    # The 3-D front's view: farther than plotly's default, so the axis titles stay inside the figure.
    "camera": {"eye": {"x": 1.8, "y": 1.8, "z": 1.2}},
}
"""Marker look per role, shared with the page's script (which reads it from the page data)."""

TEMPLATE = "plotly_white"
MISSING = "(none)"
"""Parallel-coordinates label of a parameter a trial does not have (conditional parameters)."""

MAX_NUMERIC_TICKS = 8
"""A numeric parameter with at most this many values is drawn as categories (ticks at its values)."""


def study_color(index: int) -> str:
    return STUDY_COLORS[index % len(STUDY_COLORS)]


def shown(report: Report, axes: Sequence[Axis], i: int, rows: pd.DataFrame) -> np.ndarray:
    """Objective i of `rows` in its axis unit."""
    return rows[report.objectives[i].name].to_numpy(dtype=float) * axes[i].scale


def color_objective(n_objectives: int, on_axes: Sequence[int]) -> int | None:
    """The objective that colours a single study's Pareto points: the first one not on an axis."""
    return next((i for i in range(n_objectives) if i not in on_axes), None)


def front_2d(report: Report, axes: Sequence[Axis], hover: Sequence[str], x: int, y: int) -> go.Figure:
    """Objective y against objective x over all complete trials (see the module docstring)."""
    return _front(report, axes, hover, [x, y])


def front_3d(report: Report, axes: Sequence[Axis], hover: Sequence[str]) -> go.Figure:
    """The first three objectives in 3-D (needs three)."""
    return _front(report, axes, hover, [0, 1, 2])


def _front(report: Report, axes: Sequence[Axis], hover: Sequence[str], on: list[int]) -> go.Figure:
    trials = report.trials
    hover = np.asarray(hover, dtype=object)
    scatter = go.Scatter3d if len(on) == 3 else go.Scatter
    names = ("x", "y", "z")

    def coords(rows: pd.DataFrame) -> dict:
        return {names[k]: shown(report, axes, i, rows) for k, i in enumerate(on)}

    fig = go.Figure()
    single = len(report.studies) == 1
    colour_by = color_objective(len(report.objectives), on) if single else None
    feasible = trials["feasible"].astype(bool).to_numpy() if len(trials) else np.zeros(0, bool)
    pareto = trials["pareto"].astype(bool).to_numpy() if len(trials) else np.zeros(0, bool)
    for index, s in enumerate(report.studies):
        mine = (trials["study"] == index).to_numpy() if len(trials) else np.zeros(0, bool)
        colour = study_color(index)
        rows = trials[mine & feasible & ~pareto]
        if len(rows):
            fig.add_trace(
                scatter(
                    **coords(rows),
                    mode="markers",
                    name=f"{s.name}: other feasible",
                    legendgroup=s.name,
                    marker={**STYLE["dominated"], "color": STYLE["other_color"] if single else colour},
                    hovertext=hover[rows.index],
                    hoverinfo="text",
                )
            )
        rows = trials[mine & pareto]
        if len(rows):
            marker = {**STYLE["pareto"], "color": colour}
            if colour_by is not None:
                marker.update(
                    color=shown(report, axes, colour_by, rows),
                    colorscale=STYLE["colorscale"],
                    showscale=True,
                    colorbar={"title": {"text": axes[colour_by].title}},
                )
            fig.add_trace(
                scatter(
                    **coords(rows),
                    mode="markers",
                    name=f"{s.name}: Pareto set",
                    legendgroup=s.name,
                    marker=marker,
                    hovertext=hover[rows.index],
                    hoverinfo="text",
                )
            )
        if len(on) == 2:
            line = step_front(report, axes, trials[mine & feasible], on[0], on[1])
            if line is not None:
                fig.add_trace(
                    go.Scatter(
                        x=line[0],
                        y=line[1],
                        mode="lines",
                        name=f"{s.name}: 2-D front",
                        legendgroup=s.name,
                        line={
                            "color": colour,
                            "width": 1.5,
                            "dash": "dot",
                            "shape": "hv" if report.objectives[on[0]].direction == "minimize" else "vh",
                        },
                        hoverinfo="skip",
                    )
                )
    broke = trials.loc[~feasible, "broke"] if len(trials) else pd.Series(dtype=str)
    for k, what in enumerate(sorted(set(broke))):
        rows = trials[~feasible & (trials["broke"] == what).to_numpy()]
        symbol = STYLE["infeasible_symbols"][k % len(STYLE["infeasible_symbols"])]
        fig.add_trace(
            scatter(
                **coords(rows),
                mode="markers",
                name=f"infeasible: broke {what}",
                marker={**STYLE["infeasible"], "symbol": symbol},
                hovertext=hover[rows.index],
                hoverinfo="text",
            )
        )
    layout: dict = {"template": TEMPLATE, "legend": {"orientation": "h", "y": -0.2}, "margin": {"t": 30}}
    if len(on) == 2:
        layout["xaxis"] = _axis(axes[on[0]])
        layout["yaxis"] = _axis(axes[on[1]])
    else:
        # Short titles in 3-D: a long one runs past the scene, which clips it.
        layout["scene"] = {f"{n}axis": _axis(axes[i], short=True) for n, i in zip(names, on, strict=True)}
        layout["scene"]["camera"] = STYLE["camera"]
    fig.update_layout(**layout)
    return fig


def _axis(a: Axis, short: bool = False) -> dict:
    return {"title": {"text": a.short if short else a.title}, "type": "log" if a.log else "linear"}


def step_front(
    report: Report, axes: Sequence[Axis], rows: pd.DataFrame, x: int, y: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows non-dominated in objectives x and y alone, sorted by x (shown units); None if none."""
    if rows.empty:
        return None
    pair = [report.objectives[x], report.objectives[y]]
    points = to_minimization(rows[[o.name for o in pair]].to_numpy(dtype=float), [o.direction for o in pair])
    front = rows[nondominated_mask(points)]
    order = np.argsort(shown(report, axes, x, front), kind="stable")
    return shown(report, axes, x, front)[order], shown(report, axes, y, front)[order]


@dataclass(frozen=True)
class Dimension:
    """One axis of the parallel coordinates: a numeric column, or a category coded 0..n-1."""

    label: str
    values: list[float | None]
    ticktext: list[str] | None = None


def parallel_dimensions(report: Report, axes: Sequence[Axis]) -> list[Dimension]:
    """The parameters, then the objectives, for every complete trial of the report (row order).

    A parameter with text values, or missing on some trials, is coded as categories (sorted,
    `–` for missing) with its values as tick labels."""
    trials = report.trials
    dims = []
    for column in report.params:
        values = trials[column]
        missing = values.isna()
        numeric = pd.to_numeric(values, errors="coerce")
        label = column.removeprefix("params.")
        if not missing.any() and numeric.notna().all() and numeric.nunique() > MAX_NUMERIC_TICKS:
            dims.append(Dimension(label, [float(v) for v in numeric]))
            continue
        shown_values = [MISSING if m else str(format_param(v)) for v, m in zip(values, missing, strict=True)]
        categories = sorted(set(shown_values) - {MISSING}, key=_natural) + (
            [MISSING] if missing.any() else []
        )
        code = {c: i for i, c in enumerate(categories)}
        dims.append(Dimension(label, [float(code[v]) for v in shown_values], categories))
    for i in range(len(report.objectives)):
        dims.append(Dimension(axes[i].short, [float(v) for v in shown(report, axes, i, trials)]))
    return dims


def _natural(text: str) -> tuple:
    """Numbers in numeric order, before words."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def parallel(report: Report, dims: Sequence[Dimension]) -> go.Figure:
    """Parallel coordinates of the feasible trials: Pareto sets highlighted (one study) or one
    colour per study."""
    trials = report.trials
    rows = np.flatnonzero(trials["feasible"].astype(bool).to_numpy()) if len(trials) else np.zeros(0, int)
    single = len(report.studies) == 1
    if single:
        colour = trials["pareto"].astype(float).to_numpy()[rows]
        scale = [[0, STYLE["other_color"]], [1, study_color(0)]]
    else:
        colour = trials["study"].to_numpy(dtype=float)[rows]
        scale = _discrete_scale(len(report.studies))
    fig = go.Figure(
        go.Parcoords(
            dimensions=[_parcoords_dimension(d, rows) for d in dims],
            line={"color": colour, "colorscale": scale, "cmin": 0, "cmax": max(1, len(report.studies) - 1)},
        )
    )
    fig.update_layout(template=TEMPLATE, margin={"l": 60, "r": 60, "t": 60})
    return fig


def _parcoords_dimension(d: Dimension, rows: np.ndarray) -> dict:
    values = [d.values[r] for r in rows]
    out: dict = {"label": d.label, "values": values}
    if d.ticktext is not None:
        out.update(
            tickvals=list(range(len(d.ticktext))), ticktext=d.ticktext, range=[0, max(1, len(d.ticktext) - 1)]
        )
    return out


def _discrete_scale(n: int) -> list[list]:
    """A colorscale that maps the integers 0..n-1 to the study colours."""
    if n == 1:
        return [[0, study_color(0)], [1, study_color(0)]]
    return [[i / (n - 1), study_color(i)] for i in range(n)]


def hypervolume_figure(report: Report, history: HypervolumeHistory) -> go.Figure:
    """Each study's running hypervolume against its trial numbers (one reference point for all)."""
    fig = go.Figure()
    for index, s in enumerate(report.studies):
        fig.add_trace(
            go.Scatter(
                x=history.numbers[index],
                y=history.shares[index],
                mode="lines",
                name=s.name,
                line={"shape": "hv", "color": study_color(index)},
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        margin={"t": 30},
        legend={"orientation": "h", "y": -0.25},
        xaxis_title="trial number",
        yaxis={"title": {"text": "hypervolume (share of the ideal-to-reference box)"}, "rangemode": "tozero"},
    )
    return fig


def importance_figure(s: StudyTrials, importance: Importance) -> go.Figure:
    """One bar per (parameter, objective): the parameter's share of the objective's importance."""
    fig = go.Figure()
    params = sorted({p for shares in importance.by_objective.values() for p in shares})
    for k, (name, shares) in enumerate(importance.by_objective.items()):
        fig.add_trace(
            go.Bar(
                y=params,
                x=[shares.get(p, 0.0) for p in params],
                name=name,
                orientation="h",
                marker={"color": STUDY_COLORS[(k + 3) % len(STUDY_COLORS)]},
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="group",
        margin={"t": 40},
        title={"text": s.name, "font": {"size": 13}},
        xaxis={"title": {"text": "importance (PED-ANOVA, share per objective)"}, "range": [0, 1]},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
