"""The one place where plain config dicts become typed hw specs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from hw.kv_format import KvFormat, build_kv_format
from hw.model_shape import ModelShape
from hw.system import System
from hw.workload import Workload
from spec.errors import SpecError
from spec.fields import build as build_spec


def build(
    hw_cfg: Mapping[str, Any],
    algo_cfg: Mapping[str, Any],
    model_cfg: Mapping[str, Any],
    workload_cfg: Mapping[str, Any],
) -> tuple[System, KvFormat, Workload]:
    """Validate the four config parts and return (system, kv_format, workload).

    Numeric leaves may be numpy arrays (they broadcast). Raises SpecError (one line: field, value,
    what is allowed) on bad input; a design that does not fit is not an error.
    """
    system = build_spec(System, hw_cfg, "hw")
    model = build_spec(ModelShape, model_cfg, "model")
    kv = build_kv_format(algo_cfg, model)
    workload = build_spec(Workload, workload_cfg, "workload", model=model)
    check_grid_shapes({"hw": hw_cfg, "algo": algo_cfg, "model": model_cfg, "workload": workload_cfg})
    return system, kv, workload


def check_grid_shapes(parts: Mapping[str, Any]) -> None:
    """Raise SpecError naming the first array leaf whose shape does not broadcast with the array
    leaves before it (the parts are already validated, so they hold only known keys)."""
    shape: tuple[int, ...] = ()
    for path, arr in _array_leaves(parts, ""):
        try:
            shape = np.broadcast_shapes(shape, arr.shape)
        except ValueError:
            allowed = f"shape {arr.shape} does not broadcast with the other array leaves' {shape}"
            raise SpecError(path, arr, allowed) from None


def _array_leaves(tree: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, np.ndarray]]:
    for key, value in tree.items():
        if isinstance(value, np.ndarray):
            if value.ndim:
                yield f"{prefix}{key}", value
        elif not isinstance(value, float | int | str) and isinstance(value, Mapping):  # ABC check last: slow
            yield from _array_leaves(value, f"{prefix}{key}.")
