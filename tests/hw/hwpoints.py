"""Helpers for the hw tests: load conf/ presets as plain dicts (as dse does) and apply overrides."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

CONF = Path(__file__).resolve().parents[2] / "conf"


@functools.cache
def _parsed(group: str, name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF / group / f"{name}.yaml").read_text())


def load(group: str, name: str) -> dict[str, Any]:
    """A fresh copy of conf/<group>/<name>.yaml (parsed once per session)."""
    return copy.deepcopy(_parsed(group, name))


def point(
    hw: str = "aqpim_hbm3", algo: str = "pq", model: str = "mistral_7b", **overrides: Any
) -> tuple[dict, dict, dict, dict]:
    """(hw, algo, model, workload) dicts; overrides like hw__pim__stacks=1 set nested keys."""
    parts = {
        "hw": load("hw", hw),
        "algo": load("algo", algo),
        "model": load("model", model),
        "workload": load("workload", "default"),
    }
    for dotted, value in overrides.items():
        keys = dotted.split("__")
        node = parts[keys[0]]
        for key in keys[1:-1]:
            node = node[key]
        node[keys[-1]] = value
    return tuple(copy.deepcopy(parts[k]) for k in ("hw", "algo", "model", "workload"))
