"""Numbers with readable units, for every printed table, log line and plot axis of dse/.

Values are stored in SI units (seconds, bytes, joules); these functions only choose how to show them.
Each keeps the precision its output has always had (tests and the README compare the text).
"""

from __future__ import annotations

import math

import pandas as pd

BYTE_UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))
"""Binary byte units, largest first: (name, bytes)."""

TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6))
"""Time units, largest first: (name, seconds)."""

ENERGY_UNITS = (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6))
"""Energy units, largest first: (name, joules)."""

SI_PREFIXES = (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))
"""Decimal prefixes, largest first: (prefix, factor), for rates such as FLOP/s and B/s."""

AXIS_UNITS = {"s": ("ms", 1e3), "B": ("GiB", 2.0**-30), "J": ("mJ", 1e3)}
"""Stored unit -> (unit a plot axis shows, factor to it); plotly would write 1.2e9 bytes as "1.2B"."""


def _largest(magnitude: float, units: tuple[tuple[str, float], ...]) -> tuple[str, float] | None:
    """The first (largest) unit that `magnitude` reaches, or None below all of them."""
    return next(((name, size) for name, size in units if magnitude >= size), None)


def bytes_text(n: float) -> str:
    """`1.50 MiB`, or whole bytes below 1 KiB (`512 B`): the single-point table."""
    unit = _largest(n, BYTE_UNITS)
    return f"{n / unit[1]:.2f} {unit[0]}" if unit else f"{n:.0f} B"


def seconds_text(s: float) -> str:
    """`1.234 ms`: three decimals in s, ms, us or ns: the single-point table."""
    name, scale = _largest(s, TIME_UNITS) or ("ns", 1e-9)
    return f"{s / scale:.3f} {name}"


def millijoules_text(j: float) -> str:
    """An energy in J as `12.345 mJ`: the single-point table."""
    return f"{j * 1e3:.3f} mJ"


def tokens_text(n: int) -> str:
    """`7,452,655 tokens`: a context length in the single-point table."""
    return f"{n:,} tokens"


def share_text(fraction: float) -> str:
    """`48.4%`: a part of a whole (a kernel's share of the step), one decimal."""
    return f"{fraction:.1%}"


def score_text(v: float) -> str:
    """Six significant digits, no unit: the accuracy proxy's value and the hypervolume (whose unit,
    the product of the objectives' units, has no readable name)."""
    return f"{v:.6g}"


def format_quantity(value: float, unit: str) -> str:
    """Four significant digits with a readable unit (seconds below 1 s as ms/us, bytes as KiB/MiB/GiB);
    `-` for a missing value: the Pareto table, hover texts and the hypervolume's reference point."""
    if pd.isna(value):
        return "-"
    if unit == "s" and abs(value) < 1:
        return f"{value * 1e3:.4g} ms" if abs(value) >= 1e-3 else f"{value * 1e6:.4g} us"
    if unit == "B":
        scaled = _largest(abs(value), BYTE_UNITS)
        if scaled:
            return f"{value / scaled[1]:.4g} {scaled[0]}"
    return f"{value:.4g}{' ' + unit if unit else ''}"


def format_number(v: float) -> str:
    """Four significant digits; zero, inf and nan as Python writes them: the sweep's log lines."""
    if v == 0 or not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def axis_unit(unit: str) -> str:
    """The unit a plot axis shows for values stored in `unit`."""
    return AXIS_UNITS[unit][0] if unit in AXIS_UNITS else unit


def to_axis_unit(values: pd.Series, unit: str) -> pd.Series:
    """`values` (stored in `unit`) converted to `axis_unit(unit)`."""
    return values * AXIS_UNITS[unit][1] if unit in AXIS_UNITS else values


def si_text(value: float, unit: str) -> str:
    """`12.34 TFLOP/s`: four significant digits with a decimal SI prefix (FLOPs, FLOP/s, B/s; a rate
    of bytes is decimal, as bandwidths are quoted); `-` for a missing value."""
    if pd.isna(value):
        return "-"
    prefix, factor = _largest(abs(value), SI_PREFIXES) or ("", 1.0)
    return f"{value / factor:.4g} {prefix}{unit}"


def scaled_unit(largest: float, unit: str) -> tuple[str, float]:
    """(name, size) of the unit to show values up to `largest` (stored in `unit`: "s", "J" or "B")
    in: the largest of s/ms/us, J/mJ/uJ or GiB/MiB/KiB that `largest` reaches (bars of a few MiB
    read better in MiB than in 0.00x GiB); any other unit as it is."""
    units = {"s": TIME_UNITS, "J": ENERGY_UNITS, "B": BYTE_UNITS}.get(unit)
    if units is None:
        return unit, 1.0
    return _largest(abs(largest), units) or units[-1]


def scaled_text(value: float, unit: str) -> str:
    """`11.32 J`, `867.8 mJ`, `1.25 GiB`: four significant digits in `scaled_unit(value, unit)`."""
    name, size = scaled_unit(value, unit)
    return f"{value / size:.4g} {name}"
