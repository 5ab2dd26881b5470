"""The report's figures of one selected trial, drawn from its trials-frame row (dse.results.point_row)
as plotly figures, every axis in a named unit:

- `latency_energy_breakdown`: the decode step's latency and energy stacked by kernel;
- `roofline`: each kernel at its arithmetic intensity and attained FLOP/s under its device's roof;
- `kv_footprint`: the KV cache's parts, against the PIM capacity, with what spills to host memory.

`dse.results.capacity_wall` draws the fourth, latency and fit against context length. Each raises a
one-line ValueError naming what the row lacks (a failed trial, a study stored before a field existed).
"""

from __future__ import annotations

import math
import zlib

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from dse.results.point_row import KernelRow, Row, kernels, kv_split, number, roofs, trial_label, value
from dse.units import format_quantity, scaled_text, scaled_unit, share_text, si_text

TEMPLATE = "plotly_white"

KERNEL_ORDER = (
    "qkv_proj",
    "o_proj",
    "ffn",
    "lm_head",
    "attention_gpu",
    "kv_host_transfer",
    "link_gpu_pim",
    "kv_append",
    "attn_fp_tokens",
    "attn_score",
    "attn_value",
    "pq_ip_table",
    "pq_table_movement",
    "pq_score_lookup",
    "pq_value_accumulate",
    "pq_encode",
    "pq_prefill_kmeans",
    "pq_codebook_refresh",
    "cs_centroid_score",
    "cs_select",
    "cs_cluster_reads",
    "cs_buffer_tokens",
    "cs_recluster",
    "cs_prefill_kmeans",
    "attn_softmax",
    "pim_data_movement",
    "attention_spill_gpu",
    "kv_spill_transfer",
)
"""The cost model's kernels: each keeps one colour in every figure of every point."""

PALETTE = qualitative.Dark24 + qualitative.Light24
STATIC_COLOR = "#7f7f7f"
DEVICE_SYMBOLS = {"gpu": "circle", "pim": "square", "link": "diamond", "xbar": "star"}
DEVICE_DASHES = {"gpu": "solid", "pim": "dash", "link": "dot", "xbar": "dashdot"}
KV_PART_COLORS = {"codes": "#1f77b4", "codebooks": "#2ca02c", "full_precision": "#ff7f0e"}
SPILL_COLOR = "#d62728"
CAPACITY_SCALE = 3.0
"""The PIM capacity is drawn as a line while it is at most this many times the tallest bar (else named)."""


def kernel_color(name: str) -> str:
    """The colour of kernel `name`: fixed for the cost model's kernels, a stable hash for others."""
    if name in KERNEL_ORDER:
        return PALETTE[KERNEL_ORDER.index(name)]
    spare = PALETTE[len(KERNEL_ORDER) :]
    return spare[zlib.crc32(name.encode()) % len(spare)]


def latency_energy_breakdown(row: Row) -> go.Figure:
    """Two stacked bars, the decode step's latency and its energy (in the s/ms/us and J/mJ/uJ that
    suit them), one segment per kernel (and the static power's energy); hover: kernel, device, bound,
    amount and share of the step. The segments sum to `latency_s` and `energy_j`.

    With `mapping.overlap` (the step takes the busiest device's time, not the sum) the latency bar
    splits by device and a dashed line marks the step."""
    ks = kernels(row)
    latency, energy = number(row, "latency_s"), number(row, "energy_j")
    overlapped = abs(sum(k.seconds for k in ks) - latency) > 1e-9 * latency
    scales = {"s": scaled_unit(latency, "s"), "J": scaled_unit(energy, "J")}
    totals = {"s": latency, "J": energy}
    fig = make_subplots(rows=1, cols=2, subplot_titles=("latency per decode step", "energy per decode step"))

    def segment(x: str, amount: float, unit: str, name: str, color: str, hover: str, legend: bool) -> None:
        col = 1 if unit == "s" else 2
        bar = go.Bar(
            x=[x],
            y=[amount / scales[unit][1]],
            name=name,
            legendgroup=name,
            showlegend=legend,
            marker_color=color,
            hovertext=[hover],
            hoverinfo="text",
        )
        fig.add_trace(bar, row=1, col=col)

    for k in ks:
        parts = [
            (k.device if overlapped else "decode step", k.seconds, "s"),
            ("decode step", k.energy_j, "J"),
        ]
        drawn = [(x, amount, unit) for x, amount, unit in parts if amount > 0]
        for i, (x, amount, unit) in enumerate(drawn):
            hover = _kernel_hover(k, _amount_text(amount, unit), amount / totals[unit])
            segment(x, amount, unit, k.name, kernel_color(k.name), hover, legend=i == 0)
    static = energy - sum(k.energy_j for k in ks)
    if static > 1e-12 * energy:
        hover = f"static power<br>{_amount_text(static, 'J')} ({share_text(static / energy)} of the step)"
        segment("decode step", static, "J", "static power", STATIC_COLOR, hover, legend=True)
    if overlapped:
        fig.add_hline(
            y=latency / scales["s"][1],
            line_dash="dash",
            row=1,
            col=1,
            annotation_text=f"step: the busiest device, {_amount_text(latency, 's')}",
        )
    fig.update_yaxes(title_text=f"time ({scales['s'][0]})", row=1, col=1)
    fig.update_yaxes(title_text=f"energy ({scales['J'][0]})", row=1, col=2)
    per_step = f"{_amount_text(latency, 's')} and {_amount_text(energy, 'J')} per decode step"
    fig.update_layout(
        barmode="stack",
        template=TEMPLATE,
        title=f"{trial_label(row)}: {per_step}, by kernel",
        legend_title_text="kernel",
    )
    return fig


def roofline(row: Row) -> go.Figure:
    """Each kernel that computes, at its arithmetic intensity (FLOP/byte) and attained FLOP/s, under
    the roof of its device (log-log): min(peak FLOP/s, bandwidth x intensity). A kernel that reads no
    memory (softmax on the buffer die, a crossbar) sits at the right edge (intensity unbounded);
    kernels with no FLOPs (transfers, data movement) are listed in the legend with their time and bytes.
    """
    ks = [k for k in kernels(row) if k.seconds > 0]
    device_roofs = roofs(row)
    if not device_roofs or any(k.flops is None or k.bytes is None for k in ks):
        raise ValueError(
            f"{trial_label(row)} has no per-kernel FLOPs/bytes or device roofs "
            "(stored before the cost model reported them: evaluate it again)"
        )
    computing = [k for k in ks if k.flops]
    if not computing:
        raise ValueError(f"{trial_label(row)}: no kernel does floating-point work")
    devices = list(dict.fromkeys(k.device for k in computing))
    missing = [d for d in devices if d not in device_roofs]
    if missing:
        raise ValueError(
            f"{trial_label(row)} has no roof for device '{missing[0]}' ('devices.{missing[0]}.*')"
        )
    placed = [k.flops / k.bytes for k in computing if k.bytes]
    ridges = [
        device_roofs[d].peak_flops / device_roofs[d].bw_bytes_per_s
        for d in devices
        if device_roofs[d].bw_bytes_per_s > 0
    ]
    lo, hi = min(placed + ridges, default=1.0) / 4, max(placed + ridges, default=1.0) * 4
    fig = go.Figure()
    for d in devices:
        roof = device_roofs[d]
        xs = sorted({lo, hi, *([roof.peak_flops / roof.bw_bytes_per_s] if roof.bw_bytes_per_s > 0 else [])})
        xs = [x for x in xs if lo <= x <= hi]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[_attainable(roof.peak_flops, roof.bw_bytes_per_s, x) for x in xs],
                mode="lines",
                line={"color": "#444444", "dash": DEVICE_DASHES.get(d, "solid"), "width": 2},
                name=f"{d} roof: {si_text(roof.peak_flops, 'FLOP/s')}, {si_text(roof.bw_bytes_per_s, 'B/s')}",
                legendgroup="roofs",
                legendgrouptitle_text="device roofs",
                hoverinfo="name",
            )
        )
    labels = _marker_labels(computing, hi)
    for k in computing:
        roof = device_roofs[k.device]
        attained = k.flops / k.seconds
        intensity = k.flops / k.bytes if k.bytes else None
        share = attained / _attainable(roof.peak_flops, roof.bw_bytes_per_s, intensity)
        hover = _kernel_hover(k, f"{si_text(attained, 'FLOP/s')} ({share_text(share)} of its roof)")
        hover += (
            f"<br>intensity: {intensity:.3g} FLOP/byte"
            if intensity
            else "<br>intensity: unbounded (no memory read)"
        )
        work = f"{si_text(k.flops, 'FLOP')}, {format_quantity(k.bytes, 'B')}"
        hover += f"<br>{work} in {format_quantity(k.seconds, 's')}"
        fig.add_trace(
            go.Scatter(
                x=[intensity if intensity else hi],
                y=[attained],
                mode="markers+text",
                text=[labels[k.name]],
                textposition="top center" if intensity else "top left",
                marker={
                    "color": kernel_color(k.name),
                    "size": 12,
                    "line": {"width": 1, "color": "black"},
                    "symbol": DEVICE_SYMBOLS.get(k.device, "circle") if intensity else "triangle-right",
                },
                name=k.name,
                legendgroup="kernels",
                legendgrouptitle_text="kernels",
                hovertext=[hover],
                hoverinfo="text",
            )
        )
    for k in ks:
        if not k.flops:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker={"color": kernel_color(k.name), "symbol": "x"},
                    name=f"{k.name}: {format_quantity(k.seconds, 's')}, {format_quantity(k.bytes, 'B')}",
                    legendgroup="moves",
                    legendgrouptitle_text="no FLOPs (data movement)",
                )
            )
    fig.update_xaxes(type="log", exponentformat="SI", title_text="arithmetic intensity (FLOP/byte)")
    fig.update_yaxes(type="log", exponentformat="SI", title_text="attained performance (FLOP/s)")
    fig.update_layout(template=TEMPLATE, title=f"{trial_label(row)}: kernels on their devices' rooflines")
    return fig


def kv_footprint(row: Row) -> go.Figure:
    """The KV cache's parts (`kv_bytes_split`: codes, codebooks, full precision) as one stacked bar
    in MiB or GiB, the part that spills to host memory beside it, and the PIM capacity (after the
    PE logic's area cost) as a line, or named when it is far above the bars."""
    parts = kv_split(row)
    total = sum(parts.values())
    spill = float(value(row, "spill_bytes") or 0.0)
    capacity = float(value(row, "pim_capacity_bytes") or 0.0)
    capacity_on_scale = 0 < capacity <= CAPACITY_SCALE * total
    unit, size = scaled_unit(max(total, capacity if capacity_on_scale else 0.0), "B")
    fig = go.Figure()
    for part, amount in parts.items():
        if amount <= 0 < total:
            continue  # a part this format does not have (FP16 has no codes)
        hover = f"{part}<br>{format_quantity(amount, 'B')} ({share_text(amount / total if total else 0.0)})"
        fig.add_trace(
            go.Bar(
                x=["KV cache"],
                y=[amount / size],
                width=0.5,
                name=part,
                marker_color=KV_PART_COLORS.get(part),
                hovertext=[hover],
                hoverinfo="text",
            )
        )
    if spill > 0:
        fig.add_trace(
            go.Bar(
                x=["spilled to host memory"],
                y=[spill / size],
                width=0.5,
                name="spilled to host memory",
                marker={"color": SPILL_COLOR, "pattern": {"shape": "/"}},
                hovertext=[f"read from host memory every step: {format_quantity(spill, 'B')}"],
                hoverinfo="text",
            )
        )
    if capacity_on_scale:
        fig.add_hline(
            y=capacity / size,
            line_dash="dash",
            annotation_text=f"PIM capacity {format_quantity(capacity, 'B')}",
        )
    elif capacity > 0:
        fig.add_annotation(
            text=f"PIM capacity {format_quantity(capacity, 'B')}: {capacity / total:.3g}x the KV cache",
            xref="paper",
            yref="paper",
            x=1,
            y=1.02,
            showarrow=False,
            xanchor="right",
        )
    fits = value(row, "fits")
    wall = value(row, "max_context_tokens")
    status = "" if fits is None else (" (fits)" if bool(fits) else " (does not fit)")
    limit = "" if wall is None else f", fits up to {int(wall):,} tokens"
    fig.update_yaxes(title_text=f"KV cache ({unit})")
    fig.update_layout(
        barmode="stack",
        template=TEMPLATE,
        legend_title_text="part",
        title=f"{trial_label(row)}: KV cache {format_quantity(total, 'B')}{status}{limit}",
    )
    return fig


def _marker_labels(computing: list[KernelRow], right_edge: float) -> dict[str, str]:
    """Marker text per kernel: kernels drawn at the same spot (the GPU's FP16 GEMVs all sit at one
    FLOP per byte and the same rate) share one label on the first of them."""
    labels: dict[str, str] = {}
    first_at: dict[tuple[float, float], str] = {}
    for k in computing:
        x = k.flops / k.bytes if k.bytes else right_edge
        spot = (round(math.log10(x), 2), round(math.log10(k.flops / k.seconds), 2))
        first = first_at.setdefault(spot, k.name)
        labels[k.name] = ""
        labels[first] = f"{labels[first]}, {k.name}" if labels[first] else k.name
    return labels


def _attainable(peak: float, bw: float, intensity: float | None) -> float:
    """The roof at `intensity` (None: unbounded, only the peak limits)."""
    if intensity is None or bw <= 0:
        return peak
    return min(peak, bw * intensity)


def _amount_text(amount: float, unit: str) -> str:
    """A time or energy for hover and titles: `1.234 ms`, `11.32 J`."""
    return format_quantity(amount, unit) if unit == "s" else scaled_text(amount, unit)


def _kernel_hover(k: KernelRow, amount: str, share: float | None = None) -> str:
    share_part = "" if share is None else f" ({share_text(share)} of the step)"
    return f"{k.name}<br>device: {k.device}<br>bound: {k.bound}<br>{amount}{share_part}"
