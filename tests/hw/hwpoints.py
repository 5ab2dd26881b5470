"""Helpers for the hw tests: conf/ presets as plain dicts (as dse passes them), with overrides."""

from __future__ import annotations

from typing import Any

from hw.presets import CONF_DIR as CONF
from hw.presets import load_preset, preset_parts

__all__ = ["CONF", "load", "point"]

load = load_preset


def point(
    hw: str = "aqpim_hbm3", algo: str = "pq", model: str = "mistral_7b", **overrides: Any
) -> tuple[dict, dict, dict, dict]:
    """(hw, algo, model, workload) dicts; overrides like hw__pim__stacks=1 set nested keys."""
    return preset_parts(hw, algo, model, overrides, sep="__")
