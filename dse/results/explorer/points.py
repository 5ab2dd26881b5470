"""Per-point figures for the points a reader can select, computed when the report is written.

Figures cost page size, so only some points carry them: per study, its Pareto set (over the
report's objectives; an evenly spread subset by the first objective when the set is larger than
POINTS_PER_STUDY), then its other feasible trials in order of Pareto rank (the ones that join the
front first when the page's sliders remove better points), up to POINTS_PER_STUDY in all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dse.results.capacity_wall import capacity_wall
from dse.results.explorer.build import PointFigures
from dse.results.explorer.studies import Report, minimised, nondomination_rank
from dse.results.point_figures import kv_footprint, latency_energy_breakdown, roofline

POINTS_PER_STUDY = 40
"""Selectable points with figures per study (the page says so for the others)."""


@dataclass(frozen=True)
class PointFigure:
    """One per-point figure: id, title, and the function drawing it from a trials-frame row and the
    trial's overrides (raises ValueError with a one-line reason when it cannot)."""

    id: str
    title: str
    draw: Callable[[pd.Series, Sequence[str]], go.Figure]


POINT_FIGURES = (
    PointFigure("breakdown", "Latency and energy by kernel", lambda row, _: latency_energy_breakdown(row)),
    PointFigure("roofline", "Each kernel on its device's roofline", lambda row, _: roofline(row)),
    PointFigure("kv", "KV footprint: codes, codebooks, exact part", lambda row, _: kv_footprint(row)),
    PointFigure(
        "capacity",
        "Capacity wall: latency and fit against context",
        lambda row, overrides: capacity_wall(overrides, label=f"trial {int(row['number'])}"),
    ),
)
"""The per-point figures of the report (dse.results.point_figures, dse.results.capacity_wall)."""


def selectable_rows(report: Report, per_study: int = POINTS_PER_STUDY) -> list[int]:
    """Rows of `report.trials` that get per-point figures (see the module docstring)."""
    trials = report.trials
    chosen: list[int] = []
    if trials.empty:
        return chosen
    first = report.objectives[0]
    for index in range(len(report.studies)):
        feasible = trials[(trials["study"] == index) & trials["feasible"].astype(bool)]
        if feasible.empty:
            continue
        ranks = nondomination_rank(minimised(feasible, report.objectives))
        order = feasible.assign(_rank=ranks).sort_values(
            ["_rank", first.name], ascending=[True, first.direction == "minimize"], kind="stable"
        )
        front = order[order["_rank"] == 0]
        if len(front) > per_study:
            spread = np.unique(np.linspace(0, len(front) - 1, per_study).round().astype(int))
            chosen += front.index[spread].tolist()
        else:
            chosen += order.index[:per_study].tolist()
    return chosen


def draw_points(
    report: Report,
    overrides: Sequence[Sequence[str]],
    figures: Sequence[PointFigure] = POINT_FIGURES,
    per_study: int = POINTS_PER_STUDY,
) -> tuple[dict[int, PointFigures], tuple[tuple[str, str], ...], str]:
    """Each selectable row's figures (a ValueError's message in place of a figure it could not draw)."""
    by_row: dict[int, PointFigures] = {}
    for row in selectable_rows(report, per_study):
        drawn: dict[str, go.Figure | str] = {}
        for f in figures:
            try:
                drawn[f.id] = f.draw(report.trials.loc[row], overrides[row])
            except ValueError as err:
                drawn[f.id] = str(err).strip().splitlines()[0] if str(err).strip() else "cannot be drawn"
        by_row[row] = drawn
    note = (
        f"Per-point figures are in this report for each study's Pareto set and its next-best feasible "
        f"trials, up to {per_study} points a study; this trial is not one of them. "
        "Its command above evaluates it (python -m dse.eval with the same overrides prints its breakdown)."
    )
    return by_row, tuple((f.id, f.title) for f in figures), note
