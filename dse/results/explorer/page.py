"""The report as one self-contained HTML page: plotly.js, the page's script and style, and the
report's data as JSON, all inline (no network, no server).

The data holds every complete trial once, column by column (values in stored units, the axis
scale per objective, formatted cells, hover text, the reproducing command), the sliders' steps,
the static figures (hypervolume, importance) and the per-point figures of the selectable points.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
import plotly.offline
from plotly.graph_objects import Figure

from dse.results.explorer.build import Explorer
from dse.results.explorer.figures import STUDY_COLORS, STYLE, TEMPLATE, parallel_dimensions
from dse.results.explorer.studies import Report
from dse.results.labels import record_field
from dse.results.report import format_param
from dse.search.objectives import ACCURACY_KEY, Objective
from dse.units import format_quantity

EXTRA_FILTERS = (
    Objective("latency", "latency_s", "minimize", "s"),
    Objective("accuracy", ACCURACY_KEY, "maximize"),
    Objective("memory", "kv_bytes", "minimize", "B"),
)
"""Keys the page offers a slider for even when the studies do not optimise them (direction and unit
of the accuracy one come from the trials' record)."""

FILTER_LABELS = {"latency_s": "max latency", "kv_bytes": "memory budget (KV bytes)"}

METRIC_LINES = (
    ("latency_s", "s", "decode-step latency"),
    ("energy_j", "J", "energy per step"),
    ("kv_bytes", "B", "KV-cache bytes"),
    ("power_w", "W", "power"),
    ("tokens_per_s", "tokens/s", "throughput"),
    ("max_context_tokens", "tokens", "largest context that fits"),
    ("fits", "", "fits in PIM memory"),
    ("config_hash", "", "config hash"),
    ("code_version", "", "code version"),
)
"""Metrics the details panel lists for the selected point (when its trial stored them)."""

MARKER = re.compile(r"<!--(TITLE|CSS|PLOTLY|DATA|SCRIPT)-->")


@dataclass(frozen=True)
class Slider:
    """One filter of the page: a bound on an objective or another key, moved over its distinct values."""

    id: str
    label: str
    bound: str
    objective: int | None
    steps: list[float]
    labels: list[str]


def figure_json(fig: Figure) -> dict:
    """A figure as plain JSON without its template (the page applies one template to all)."""
    data = json.loads(pio.to_json(fig, validate=False))
    data.get("layout", {}).pop("template", None)
    return data


def page_data(explorer: Explorer, file_stem: str) -> dict[str, Any]:
    """Everything the page's script reads (see the module docstring); `file_stem` names the CSV download."""
    report = explorer.report
    trials = report.trials
    sliders = filter_sliders(report)
    extra = [s for s in sliders if s.objective is None]
    rows = [row for _, row in trials.iterrows()]
    return {
        "title": report.title,
        "fileStem": file_stem,
        "emptyMessage": empty_message(report),
        "studies": [study_summary(report, i) for i in range(len(report.studies))],
        "studyColors": list(STUDY_COLORS),
        "objectives": [{"name": o.name, "direction": o.direction} for o in report.objectives],
        "axes": [asdict(a) for a in explorer.axes],
        "defaultAxes": default_axes(report.objectives),
        "filters": [asdict(s) for s in sliders],
        "params": [p.removeprefix("params.") for p in report.params],
        "rows": {
            "study": trials["study"].astype(int).tolist(),
            "number": trials["number"].astype(int).tolist(),
            "feasible": trials["feasible"].astype(bool).tolist(),
            "pareto": trials["pareto"].astype(bool).tolist(),
            "values": [_floats(trials[o.name]) for o in report.objectives],
            "cells": [[format_quantity(v, o.unit) for v in trials[o.name]] for o in report.objectives],
            "filterValues": {s.id: _floats(trials[_filter_column(s.id)]) for s in extra},
            "params": {
                p.removeprefix("params."): [str(format_param(v)) for v in trials[p]] for p in report.params
            },
            "broke": trials["broke"].astype(str).tolist(),
            # Plain lines: the script joins them with <br> for plotly's hover and lists them in the details.
            "hover": [h.replace("<br>", "\n").replace("<b>", "").replace("</b>", "") for h in explorer.hover],
            "metrics": [metric_lines(row, {o.key for o in report.objectives}) for row in rows],
            "command": [explorer.command(i) for i in range(len(rows))],
        },
        "parallel": [asdict(d) for d in parallel_dimensions(report, explorer.axes)],
        "figures": {
            "hypervolume": (
                {"figure": figure_json(explorer.hypervolume), "note": ""}
                if explorer.hypervolume is not None
                else {"figure": None, "note": "No feasible complete trial: no hypervolume."}
            ),
            "importance": [
                {"figure": figure_json(i.figure) if i.figure is not None else None, "note": i.note}
                for i in explorer.importance
            ],
        },
        "points": {
            str(row): {k: figure_json(f) if isinstance(f, Figure) else {"error": f} for k, f in figs.items()}
            for row, figs in explorer.points.items()
        },
        "pointFigures": [{"id": i, "title": t} for i, t in explorer.point_titles],
        "pointsNote": explorer.points_note,
        "style": STYLE,
        "template": pio.templates[TEMPLATE].to_plotly_json(),
    }


def _floats(values: pd.Series) -> list[float | None]:
    """JSON numbers, null for a missing value (JSON has no NaN)."""
    return [None if pd.isna(v) else float(v) for v in pd.to_numeric(values, errors="coerce")]


def _filter_column(slider_id: str) -> str:
    return slider_id.removeprefix("key:")


def default_axes(objectives: Sequence[Objective]) -> list[int]:
    """[x, y]: latency across and accuracy up when both are objectives, else the second against the first."""
    names = [o.name for o in objectives]
    accuracy = next((i for i, o in enumerate(objectives) if o.key == ACCURACY_KEY), None)
    if accuracy is not None and "latency" in names:
        return [names.index("latency"), accuracy]
    return [1, 0] if len(objectives) > 1 else [0, 0]


def filter_sliders(report: Report) -> list[Slider]:
    """One slider per objective, then latency, accuracy and KV memory when no objective reads them."""
    trials = report.trials
    sliders = []
    for i, o in enumerate(report.objectives):
        sliders.append(_slider(f"objective:{i}", _filter_label(report, o), o, i, trials[o.name]))
    keys = {o.key for o in report.objectives}
    for o in EXTRA_FILTERS:
        if o.key in keys or o.key not in trials:
            continue
        if o.key == ACCURACY_KEY:
            higher = record_field(trials, o, "higher_is_better")
            if higher is None:
                continue
            unit = record_field(trials, o, "unit")
            o = Objective(
                "accuracy" if higher else "accuracy loss",
                o.key,
                "maximize" if higher else "minimize",
                unit if isinstance(unit, str) else "",
            )
        sliders.append(_slider(f"key:{o.key}", _filter_label(report, o), o, None, trials[o.key]))
    return sliders


def _filter_label(report: Report, o: Objective) -> str:
    if o.key in FILTER_LABELS:
        return FILTER_LABELS[o.key]
    name = o.name.replace("_", " ")
    return f"{'min' if o.direction == 'maximize' else 'max'} {name}"


def _slider(slider_id: str, label: str, o: Objective, objective: int | None, values: pd.Series) -> Slider:
    steps = sorted({float(v) for v in pd.to_numeric(values, errors="coerce").dropna()})
    return Slider(
        slider_id,
        label,
        "max" if o.direction == "minimize" else "min",
        objective,
        steps,
        [format_quantity(v, o.unit) for v in steps],
    )


def study_summary(report: Report, index: int) -> dict[str, Any]:
    """The study's line at the top of the page: counts and what is odd about it."""
    s = report.studies[index]
    complete, failed = s.count("COMPLETE"), s.count("FAIL")
    others = len(s.df) - complete - failed
    front = (
        int(report.trials.loc[report.trials["study"] == index, "pareto"].sum()) if len(report.trials) else 0
    )
    counts = f"{len(s.df)} trials: {complete} complete ({s.n_infeasible} infeasible), {failed} failed"
    counts += f", {others} running or pruned" if others else ""
    counts += f"; {front} on its Pareto set"
    notes = []
    if not len(s.df):
        notes.append("The study holds no trial yet.")
    elif complete == 0:
        notes.append("No trial completed: nothing to plot.")
    elif s.n_infeasible == complete:
        broke = sorted(set(report.trials.loc[report.trials["study"] == index, "broke"]))
        notes.append(
            f"Every complete trial is infeasible (broke {'; '.join(broke)}): the Pareto set is empty."
        )
    if failed and "fail_reason" in s.df:
        reasons = s.df.loc[s.df["state"] == "FAIL", "fail_reason"].fillna("no reason stored").value_counts()
        listed = "; ".join(f"{reason} (x{n})" for reason, n in reasons.head(3).items())
        notes.append(f"Failed: {listed}" + (f"; {len(reasons) - 3} more reasons" if len(reasons) > 3 else ""))
    dropped = [o.name for o in s.objectives if o.name not in {r.name for r in report.objectives}]
    if dropped:
        notes.append(f"Not shown (not shared by every study): {', '.join(dropped)}")
    return {"name": s.name, "storage": s.storage, "counts": counts, "notes": notes}


def empty_message(report: Report) -> str:
    return "No complete trial in " + ", ".join(s.name for s in report.studies) + ": nothing to plot."


def metric_lines(row: pd.Series, shown: set[str]) -> str:
    """The selected point's metrics but the `shown` keys (its objectives), one `name: value` per line."""
    lines = []
    for key, unit, label in METRIC_LINES:
        value = None if key in shown else row.get(key)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, bool | str | np.bool_):
            lines.append(f"{label}: {value}")
        else:
            lines.append(f"{label}: {format_quantity(float(value), unit)}")
    return "\n".join(lines)


def render_html(data: Mapping[str, Any]) -> str:
    """The whole page: the template with plotly.js, style, script and data inlined."""
    here = files("dse.results.explorer")
    parts = {
        "TITLE": html.escape(str(data["title"])),
        "CSS": here.joinpath("page.css").read_text(),
        "PLOTLY": plotly.offline.get_plotlyjs(),
        # JSON inside <script>: "<" escaped so no text in the data can close the element.
        "DATA": json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c"),
        "SCRIPT": here.joinpath("page.js").read_text(),
    }
    return MARKER.sub(lambda m: parts[m.group(1)], here.joinpath("page.html").read_text())
