"""Write a report: the page to its HTML file and, when asked, each figure as PNG and SVG beside it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from dse.results.explorer.build import Explorer, build_explorer
from dse.results.explorer.images import Images, static_figures, write_images
from dse.results.explorer.page import page_data, render_html
from dse.results.explorer.points import POINTS_PER_STUDY, draw_points
from dse.results.explorer.studies import Report


@dataclass(frozen=True)
class ReportFiles:
    """The HTML file written and its size; the images (None when not asked for)."""

    html: Path
    size_bytes: int
    images: Images | None


def write_explorer(
    report: Report, html: Path, images: bool = True, points_per_study: int = POINTS_PER_STUDY
) -> ReportFiles:
    """Write the page to `html`, with the per-point figures (points.POINT_FIGURES) of up to
    `points_per_study` points a study, and with `images` every figure to `<html stem>.figures/`."""
    explorer = build_explorer(report, functools.partial(draw_points, per_study=points_per_study))
    return write_files(explorer, html, images)


def write_files(explorer: Explorer, html: Path, images: bool) -> ReportFiles:
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_html(page_data(explorer, html.stem)), encoding="utf-8")
    written = None
    if images:
        written = write_images(static_figures(explorer), html.parent / f"{html.stem}.figures")
    return ReportFiles(html, html.stat().st_size, written)
