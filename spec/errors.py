"""The one error type of pimdse: a bad specification, reported on one line."""

from __future__ import annotations

import math

import numpy as np


class SpecError(ValueError):
    """Invalid hardware, algorithm, model, workload, proxy or search input.

    The message is one line: the dotted field path, the offending value and what is allowed.
    """

    def __init__(self, path: str, value: object, allowed: str) -> None:
        self.path = path
        self.field = path
        self.value = value
        self.allowed = allowed
        super().__init__(f"{path}={show(value)}: {allowed}")


def show(value: object) -> str:
    """The value as the user wrote it, short: 3.0 typed as 3 shows as 3, 1e300 as 1e+300, a long
    list or mapping is cut, and a value that has no readable form says so."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 20 else f"{text[:6]}...({len(text)} digits)"
    if isinstance(value, float | np.floating):
        x = float(value)
        if math.isfinite(x) and x.is_integer() and abs(x) < 1e16:
            return str(int(x))
        return f"{x:.6g}"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, list | tuple | dict | np.ndarray):
        text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
        return text if len(text) <= 80 else text[:77] + "..."
    return f"<{type(value).__name__}>"

