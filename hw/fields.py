"""Field declarations of the hw specs: spec.fields' typed fields with hw's conventions, and `Num`.

Every hw quantity is a float or a float ndarray (a grid of design points): whole-number keys
(counts, cycles) are read as floats too, so grid arithmetic never meets fixed-width integers.
"""

from __future__ import annotations

from dataclasses import MISSING
from typing import Any

from spec.fields import Num, number, require

__all__ = ["MAX_CYCLES", "Num", "count", "cycles", "require"]

MAX_CYCLES = 1 << 20
"""Upper bound of any DRAM timing or interval in cycles (~1 ms at 1 GHz)."""


def count(
    doc: str, *, le: float, ge: float = 1, unit: str = "", default: Any = MISSING, default_doc: str = ""
) -> Any:
    """A whole number of things in [ge, le] (held as a float)."""
    return number(
        doc, unit=unit, ge=ge, le=le, integer=True, as_float=True, default=default, default_doc=default_doc
    )


def cycles(doc: str, *, ge: float = 1, default: Any = MISSING, default_doc: str = "") -> Any:
    """A DRAM timing in memory-clock cycles (tCK), whole, in [ge, MAX_CYCLES]."""
    return count(doc, ge=ge, le=MAX_CYCLES, unit="cycle", default=default, default_doc=default_doc)
