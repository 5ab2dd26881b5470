"""One trial of a trials frame (`dse.results.frames.trials_frame`) read back as the numbers the
per-point figures draw: its kernels, its device roofs, its KV split.

A row is a pandas Series or a dict with the evaluation's keys flattened with dots
(`kernels.<name>.seconds`, `kv_bytes_split.codes`, `devices.pim.peak_flops`). A frame holds the union
of every trial's columns, so a kernel another trial has reads NaN here: NaN is "absent".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

KERNEL_PREFIX = "kernels."
DEVICE_PREFIX = "devices."
KV_SPLIT_PREFIX = "kv_bytes_split."

Row = pd.Series | Mapping[str, Any]
"""A trials-frame row, or the same keys in a dict."""


@dataclass(frozen=True)
class KernelRow:
    """One kernel of a trial: seconds (s), energy_j (J), bound, device; flops and bytes (None in a
    study stored before the cost model reported them)."""

    name: str
    seconds: float
    energy_j: float
    bound: str
    device: str
    flops: float | None
    bytes: float | None


@dataclass(frozen=True)
class Roof:
    """A device's roof: peak_flops (FLOP/s), bw_bytes_per_s (B/s; 0: it reads no memory)."""

    peak_flops: float
    bw_bytes_per_s: float


def value(row: Row, key: str) -> Any:
    """The row's value at `key`, None when the column is missing or NaN."""
    v = row.get(key)
    if v is None or (not isinstance(v, str | list | dict | tuple) and pd.isna(v)):
        return None
    return v


def trial_label(row: Row) -> str:
    """`trial 12` (or `this point` for a row without a trial number), for titles and errors."""
    number = value(row, "number")
    return "this point" if number is None else f"trial {int(number)}"


def require_complete(row: Row) -> None:
    """Raise ValueError naming the trial when it did not complete (with its failure reason)."""
    state = value(row, "state")
    if state is not None and state != "COMPLETE":
        reason = value(row, "fail_reason")
        because = f" ({reason})" if reason else ""
        raise ValueError(f"{trial_label(row)} is {state}{because}: it has no result to draw")


def number(row: Row, key: str) -> float:
    """The float at `key`; ValueError naming the missing key."""
    require_complete(row)
    v = value(row, key)
    if v is None:
        raise ValueError(f"{trial_label(row)} has no '{key}'")
    return float(v)


def kernels(row: Row) -> list[KernelRow]:
    """The trial's kernels in stored order (the decode step's order); ValueError when it has none."""
    require_complete(row)
    names = [k[len(KERNEL_PREFIX) : -len(".seconds")] for k in _keys(row) if _is_kernel_seconds(k)]
    out = []
    for name in names:
        base = f"{KERNEL_PREFIX}{name}."
        seconds = value(row, base + "seconds")
        if seconds is None:
            continue  # another trial's kernel
        flops, moved = value(row, base + "flops"), value(row, base + "bytes")
        out.append(
            KernelRow(
                name=name,
                seconds=float(seconds),
                energy_j=float(value(row, base + "energy_j") or 0.0),
                bound=str(value(row, base + "bound") or "?"),
                device=str(value(row, base + "device") or "?"),
                flops=None if flops is None else float(flops),
                bytes=None if moved is None else float(moved),
            )
        )
    if not out:
        raise ValueError(f"{trial_label(row)} has no per-kernel results ('kernels.<name>.seconds')")
    return out


def roofs(row: Row) -> dict[str, Roof]:
    """Each device's roof (`devices.<device>.*`); empty for a study stored without them."""
    out = {}
    for key in _keys(row):
        if key.startswith(DEVICE_PREFIX) and key.endswith(".peak_flops"):
            device = key[len(DEVICE_PREFIX) : -len(".peak_flops")]
            peak, bw = value(row, key), value(row, f"{DEVICE_PREFIX}{device}.bw_bytes_per_s")
            if peak is not None and bw is not None:
                out[device] = Roof(float(peak), float(bw))
    return out


def kv_split(row: Row) -> dict[str, float]:
    """The KV footprint's parts in bytes (`kv_bytes_split.<part>`); ValueError when absent."""
    require_complete(row)
    parts = {
        k[len(KV_SPLIT_PREFIX) :]: float(v)
        for k in _keys(row)
        if k.startswith(KV_SPLIT_PREFIX) and (v := value(row, k)) is not None
    }
    if not parts:
        raise ValueError(f"{trial_label(row)} has no KV footprint split ('kv_bytes_split.<part>')")
    return parts


def _keys(row: Row) -> list[str]:
    """The row's column names (a Series iterates its values, a dict its keys)."""
    return [k for k in (row.index if isinstance(row, pd.Series) else row) if isinstance(k, str)]


def _is_kernel_seconds(key: str) -> bool:
    return key.startswith(KERNEL_PREFIX) and key.endswith(".seconds") and key.count(".") == 2
