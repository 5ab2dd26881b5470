"""The capacity wall of a design point: decode-step latency and fit against context length, for the
point and the points it is compared with (by default the same hardware with an FP16 KV cache and
AttAcc!'s FP16 preset, at the same model and batch).

Each curve is the point's config (composed from its Hydra overrides as `pimdse` composes them,
dse.app.compose) costed by hw alone (no accuracy model) at every context of the grid in one
vectorised `hw.evaluate`. Where the KV cache no longer fits, hw prices the spill to host memory: the
curve goes on, dashed. `max_context_tokens` (the largest context that fits) marks each wall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from plotly.colors import qualitative

import hw
from dse.app.compose import compose_cached
from dse.units import format_quantity, scaled_unit

TEMPLATE = "plotly_white"
CONTEXTS = np.geomspace(1 << 10, 1 << 22, 25).round()
"""Default context grid (tokens): 1K to 4M, two points an octave (an FP16 cache of a 7B model on
128 GiB of PIM meets its wall at 1M)."""

HW_PARTS = ("hw", "algo", "model", "workload")
COLORS = qualitative.Plotly


@dataclass(frozen=True)
class CapacityCurve:
    """One point's latency against context: contexts (tokens, ascending, the wall's two sides
    included when in range), latency_s (s) and fits there; spill_bytes (KV read from host memory,
    B); max_context_tokens (the wall); point_context (the context the point was evaluated at)
    and point_latency_s there."""

    label: str
    contexts: np.ndarray
    latency_s: np.ndarray
    fits: np.ndarray
    spill_bytes: np.ndarray
    max_context_tokens: float
    point_context: float
    point_latency_s: float


def default_comparisons(overrides: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The same hardware with an FP16 KV cache, and AttAcc!'s FP16 preset, at the point's model,
    workload and everything else."""
    return [
        ("same hardware, FP16 KV", replace_groups(overrides, algo="fp16")),
        ("AttAcc! FP16 (attacc_hbm3_bank)", replace_groups(overrides, hw="attacc_hbm3_bank", algo="fp16")),
    ]


def replace_groups(overrides: Sequence[str], **choices: str) -> list[str]:
    """`overrides` with each group of `choices` set to its option: the group's own overrides
    (`algo=pq`, `algo.n_centroids=256`) are dropped, as they belong to the option replaced."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    kept = [o.input_line for o in parsed if o.key_or_group.split(".", 1)[0] not in choices]
    return kept + [f"{group}={option}" for group, option in choices.items()]


def capacity_curves(
    overrides: Sequence[str],
    compare: Sequence[tuple[str, Sequence[str]]] | None = None,
    contexts: Sequence[float] | np.ndarray = CONTEXTS,
    label: str = "this point",
) -> list[CapacityCurve]:
    """The curve of the point `overrides` (labelled `label`), then of each (label, overrides) of
    `compare` (default: `default_comparisons`). Raises ValueError (one line) naming the curve whose
    config cannot be composed or costed."""
    try:
        others = default_comparisons(overrides) if compare is None else compare
    except HydraException as err:
        raise ValueError(f"capacity wall: cannot read the overrides: {' '.join(str(err).split())}") from None
    grid = np.asarray(contexts, dtype=float)
    return [_curve(name, list(ovr), grid) for name, ovr in [(label, list(overrides)), *others]]


def capacity_wall(
    overrides: Sequence[str],
    compare: Sequence[tuple[str, Sequence[str]]] | None = None,
    contexts: Sequence[float] | np.ndarray = CONTEXTS,
    label: str = "this point",
) -> go.Figure:
    """Decode-step latency against context length (log-log) for the point and its comparisons
    (see `capacity_curves`): solid where the KV cache fits, dashed where it spills to host memory,
    a dotted vertical line at each curve's largest context that fits, a ring at the point's own
    context. Hover: context, latency, fit or spilled bytes."""
    curves = capacity_curves(overrides, compare, contexts, label)
    unit, size = scaled_unit(max(float(np.max(c.latency_s)) for c in curves), "s")
    lo, hi = min(c.contexts[0] for c in curves), max(c.contexts[-1] for c in curves)
    fig = go.Figure()
    for i, c in enumerate(curves):
        color = COLORS[i % len(COLORS)]
        in_range = lo <= c.max_context_tokens <= hi
        where = "" if in_range else " (beyond the range shown)"
        name = f"{c.label}: fits up to {int(c.max_context_tokens):,} tokens{where}"
        hover = [
            _hover(c.label, x, s, ok, sp)
            for x, s, ok, sp in zip(c.contexts, c.latency_s, c.fits, c.spill_bytes, strict=True)
        ]
        fits = np.asarray(c.fits, dtype=bool)
        # The dashed part starts at the last fitting context so the two parts join.
        spilled = ~fits | (np.r_[~fits[1:], False] & fits)
        for part, dash, show in ((fits, "solid", True), (spilled, "dash", not fits.any())):
            if part.any():
                fig.add_trace(
                    go.Scatter(
                        x=c.contexts[part],
                        y=c.latency_s[part] / size,
                        mode="lines+markers",
                        line={"color": color, "dash": dash},
                        marker={"size": 5},
                        name=name,
                        legendgroup=c.label,
                        showlegend=show,
                        hovertext=np.asarray(hover, dtype=object)[part].tolist(),
                        hoverinfo="text",
                    )
                )
        if in_range:
            fig.add_vline(x=c.max_context_tokens, line={"color": color, "dash": "dot", "width": 1})
        if i == 0:
            fig.add_trace(
                go.Scatter(
                    x=[c.point_context],
                    y=[c.point_latency_s / size],
                    mode="markers",
                    marker={"size": 14, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": color}},
                    name=f"{c.label} as evaluated: {int(c.point_context):,} tokens",
                    hovertext=[
                        f"{c.label} as evaluated<br>{_hover_body(c.point_context, c.point_latency_s)}"
                    ],
                    hoverinfo="text",
                )
            )
    fig.update_xaxes(type="log", exponentformat="SI", title_text="context (tokens)")
    fig.update_yaxes(type="log", title_text=f"decode-step latency ({unit})")
    fig.update_layout(
        template=TEMPLATE,
        title="capacity wall: latency against context (dashed: the KV cache spills to host memory)",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _curve(label: str, overrides: list[str], contexts: np.ndarray) -> CapacityCurve:
    try:
        cfg = compose_cached(overrides)
        parts = {p: OmegaConf.to_container(cfg[p], resolve=True) for p in HW_PARTS}
        at_point = hw.evaluate(*hw.build(parts["hw"], parts["algo"], parts["model"], parts["workload"]))
        wall = float(at_point.max_context_tokens)
        sides = [x for x in (wall, wall + 1) if contexts[0] <= x <= contexts[-1] and x >= 1]
        grid = np.unique(np.concatenate([contexts, sides]))
        workload = dict(parts["workload"], context_tokens=grid)
        cost = hw.evaluate(*hw.build(parts["hw"], parts["algo"], parts["model"], workload))
    except (HydraException, hw.SpecError) as err:
        raise ValueError(f"capacity wall, {label}: {' '.join(str(err).split())}") from None
    return CapacityCurve(
        label=label,
        contexts=grid,
        latency_s=np.broadcast_to(cost.latency_s, grid.shape).astype(float),
        fits=np.broadcast_to(cost.fits, grid.shape).astype(bool),
        spill_bytes=np.broadcast_to(cost.spill_bytes, grid.shape).astype(float),
        max_context_tokens=wall,
        point_context=float(parts["workload"]["context_tokens"]),
        point_latency_s=float(at_point.latency_s),
    )


def _hover(label: str, context: float, latency: float, fits: bool, spill: float) -> str:
    if fits:
        fit = "fits"
    elif spill > 0:
        fit = f"does not fit: {format_quantity(spill, 'B')} of KV read from host memory"
    else:
        fit = "does not fit (weights or crossbar tiles over capacity)"
    return f"{label}<br>{_hover_body(context, latency)}<br>{fit}"


def _hover_body(context: float, latency: float) -> str:
    return f"{int(context):,} tokens: {format_quantity(latency, 's')} a step"
