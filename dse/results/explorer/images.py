"""Static PNG and SVG files of the report's figures, for papers and mail (kaleido, which drives the
system's Chromium through choreographer).

The fronts and parallel coordinates are drawn over every complete trial (no filter); the per-point
figures are those of the default point: the first Pareto point of the first study by its first
objective, among the points the page has figures for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from dse.results.explorer.build import Explorer
from dse.results.explorer.figures import front_2d, front_3d, parallel, parallel_dimensions
from dse.results.explorer.page import default_axes

FORMATS = ("png", "svg")
SIZE = {"width": 1000, "height": 640}
"""Pixels of every image (PNG at scale 2)."""


@dataclass(frozen=True)
class Images:
    """The image files written, or why none were."""

    files: tuple[Path, ...]
    skipped: str


def static_figures(explorer: Explorer) -> dict[str, go.Figure]:
    """The figures to export, by file stem."""
    report = explorer.report
    figures: dict[str, go.Figure] = {}
    if len(report.trials):
        x, y = default_axes(report.objectives)
        if len(report.objectives) > 1:
            figures["front-2d"] = front_2d(report, explorer.axes, explorer.hover, x, y)
        if len(report.objectives) > 2:
            figures["front-3d"] = front_3d(report, explorer.axes, explorer.hover)
        if report.trials["feasible"].any():
            figures["parallel"] = parallel(report, parallel_dimensions(report, explorer.axes))
    if explorer.hypervolume is not None:
        figures["hypervolume"] = explorer.hypervolume
    for s, item in zip(report.studies, explorer.importance, strict=True):
        if item.figure is not None:
            figures[f"importance-{s.name}"] = item.figure
    row = default_point(explorer)
    if row is not None:
        for name, fig in explorer.points[row].items():
            if isinstance(fig, go.Figure):
                figures[f"point-{name}"] = fig
    return figures


def default_point(explorer: Explorer) -> int | None:
    """The row the images show per-point figures of (see the module docstring)."""
    if not explorer.points:
        return None
    trials = explorer.report.trials.loc[list(explorer.points)]
    first = explorer.report.objectives[0]
    ordered = trials.sort_values(
        ["study", "pareto", first.name], ascending=[True, False, first.direction == "minimize"]
    )
    return int(ordered.index[0])


def write_images(figures: dict[str, go.Figure], folder: Path) -> Images:
    """Each figure as `<folder>/<stem>.png` and `.svg`; Images.skipped says why when none could be."""
    if not figures:
        return Images((), "no figure to export")
    try:
        import kaleido  # noqa: F401 - only to say clearly when it is missing
    except ImportError:
        return Images((), "kaleido is not installed (pip install kaleido)")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{_safe(stem)}.{fmt}" for stem in figures for fmt in FORMATS]
    figs = [fig for fig in figures.values() for _ in FORMATS]
    browser_log = logging.getLogger("choreographer")
    level = browser_log.level
    # Its one warning, "Resorting to unclean kill browser.", comes when Chromium is slow to close on a
    # loaded machine, after the files are written: not the reader's concern.
    browser_log.setLevel(logging.ERROR)
    try:
        pio.write_images(figs, paths, width=SIZE["width"], height=SIZE["height"], scale=[2, 1] * len(figures))
    except Exception as err:  # noqa: BLE001 - the HTML is the report; any failure of the browser only skips images
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return Images((), f"{type(err).__name__}: {first}")
    finally:
        browser_log.setLevel(level)
    return Images(tuple(paths), "")


def _safe(stem: str) -> str:
    """A file name from a study or figure name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
