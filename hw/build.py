"""The one place where plain config dicts become typed hw specs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hw.kv_format import KvFormat, build_kv_format
from hw.model_shape import ModelShape
from hw.system import System
from hw.workload import Workload
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
    return system, kv, build_spec(Workload, workload_cfg, "workload", model=model)
