"""The last check before a result is printed, stored or returned: every number in it is finite.

hw/ guards its own costs, but a result also carries the accuracy proxy's numbers and the config;
one NaN would print as `nan mJ`, crash `json.dump(allow_nan=False)` or enter a study as a value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from spec.errors import SpecError

NOT_FINITE = "not a finite number: this design point has no usable result (nothing was printed or stored)"


def check_finite(result: Mapping[str, Any], path: str = "result") -> None:
    """Raise SpecError naming the dotted key (`result.latency_s`) of the first NaN or infinity in
    `result`, searched through nested mappings, lists and numpy arrays."""
    for key, value in result.items():
        _check(value, f"{path}.{key}")


def _check(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        check_finite(value, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        bad = ~np.isfinite(value)
        if bad.any():
            raise SpecError(path, value[bad].reshape(-1)[0].item(), NOT_FINITE)
    elif isinstance(value, float | np.floating) and not math.isfinite(value):
        raise SpecError(path, float(value), NOT_FINITE)
