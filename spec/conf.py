"""Where the configs are: the repository's conf/, installed as the package `pimdse_conf` (read by the
Hydra app and by hw.presets, so both find the same files in a checkout and from a wheel).

setup.py maps conf/ to that name, so one lookup works in the editable checkout (it resolves to conf/
itself) and from a wheel (inside site-packages or wherever the wheel was unpacked). Outputs and caches
never go there: they stay relative to the current directory (conf/config.yaml, conf/proxy/).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CONF_PACKAGE = "pimdse_conf"


def conf_dir() -> Path:
    """The directory holding config.yaml and the config groups (hw, model, workload, algo, ...)."""
    # conf/ has no __init__.py, so pimdse_conf is a namespace package. importlib.resources.files() cannot
    # read one installed editable on Python 3.11 (setuptools adds a placeholder entry to its path that
    # is not a directory), so its path entries are searched directly.
    found = importlib.util.find_spec(CONF_PACKAGE)
    locations = [Path(p) for p in (found.submodule_search_locations or [])] if found else []
    for location in locations:
        if (location / "config.yaml").is_file():
            return location
    raise FileNotFoundError(f"no config.yaml in the package {CONF_PACKAGE} ({locations}): reinstall pimdse")
