"""conf/ presets as the plain dicts `hw.build` takes, for scripts and tests that run without Hydra.

Reads the YAML files as they are (no interpolation): hw, algo, model and workload presets hold plain
values only. Hydra users get the same dicts from the composed config.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

import yaml

from hw.system import OPERATORS
from spec.conf import conf_dir

CONF_DIR = conf_dir()


@functools.cache
def _parsed(group: str, name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF_DIR / group / f"{name}.yaml").read_text())


def load_preset(group: str, name: str) -> dict[str, Any]:
    """A fresh copy of conf/<group>/<name>.yaml (each file is parsed once per process)."""
    return copy.deepcopy(_parsed(group, name))


def preset_parts(
    hw: str = "aqpim_hbm3",
    algo: str = "pq",
    model: str = "mistral_7b",
    overrides: Mapping[str, Any] | None = None,
    sep: str = ".",
) -> tuple[dict, dict, dict, dict]:
    """(hw, algo, model, workload) dicts with `overrides` set at nested paths ("hw.pim.stacks": 1)."""
    parts = {
        "hw": load_preset("hw", hw),
        "algo": load_preset("algo", algo),
        "model": load_preset("model", model),
        "workload": load_preset("workload", "default"),
    }
    for path, value in (overrides or {}).items():
        keys = path.split(sep)
        node = parts[keys[0]]
        for key in keys[1:-1]:
            node = node[key]
        node[keys[-1]] = copy.deepcopy(value)
    return parts["hw"], parts["algo"], parts["model"], parts["workload"]


def isolated_mapping(**devices: str) -> dict[str, Any]:
    """A conf/hw `mapping` that runs only the given operators (operator=device), every other one on
    "none", with no GPU/PIM overlap and the KV in PIM: one kernel costed alone."""
    return {**dict.fromkeys(OPERATORS, "none"), **devices, "overlap": False, "kv_home": "pim"}
