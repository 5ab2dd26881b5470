"""Everything a report shows, computed once: axes, hover texts and commands per trial, the running
hypervolume and importance figures, and the per-point figures of the selectable points. The page
(page.py) and the static images (images.py) both read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from dse.results.explorer.figures import hypervolume_figure, importance_figure
from dse.results.explorer.studies import Report, hypervolume_history, parameter_importance
from dse.results.explorer.texts import Axis, command, hover_text, objective_axis, trial_overrides

PointFigures = Mapping[str, "go.Figure | str"]
"""A selectable point's figures by id: the figure, or the one-line reason it could not be drawn."""


@dataclass(frozen=True)
class StudyImportance:
    """One study's importance figure (None without a result) and what the page says about it."""

    figure: go.Figure | None
    note: str


@dataclass(frozen=True)
class Explorer:
    """The report plus what is derived from it; row indices are those of `report.trials`."""

    report: Report
    axes: tuple[Axis, ...]
    overrides: tuple[tuple[str, ...], ...]
    hover: tuple[str, ...]
    hypervolume: go.Figure | None
    importance: tuple[StudyImportance, ...]
    points: Mapping[int, PointFigures]
    point_titles: tuple[tuple[str, str], ...]
    points_note: str

    def command(self, row: int) -> str:
        return command(self.overrides[row])


PointsBuilder = Callable[
    [Report, Sequence[Sequence[str]]], tuple[dict[int, PointFigures], tuple[tuple[str, str], ...], str]
]
"""(report, overrides per row) -> (figures per selectable row, (id, title) of each figure, note)."""


def build_explorer(report: Report, points: PointsBuilder | None = None) -> Explorer:
    """Derive everything the report shows; `points` computes the per-point figures (none without it)."""
    axes = tuple(objective_axis(report, o) for o in report.objectives)
    rows = list(report.trials.iterrows())
    overrides = tuple(tuple(trial_overrides(row, report.params)) for _, row in rows)
    hover = tuple(hover_text(report, row, o) for (_, row), o in zip(rows, overrides, strict=True))
    history = hypervolume_history(report)
    importance = []
    for s in report.studies:
        found = parameter_importance(s, report.objectives)
        figure = importance_figure(s, found) if found.by_objective else None
        importance.append(StudyImportance(figure, f"{s.name}: {found.note}" if found.note else ""))
    if points is not None:
        by_row, titles, note = points(report, overrides)
    else:
        by_row, titles, note = {}, (), "No per-point figures in this report."
    return Explorer(
        report=report,
        axes=axes,
        overrides=overrides,
        hover=hover,
        hypervolume=hypervolume_figure(report, history) if history is not None else None,
        importance=tuple(importance),
        points=by_row,
        point_titles=titles,
        points_note=note,
    )
