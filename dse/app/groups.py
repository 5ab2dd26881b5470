"""Config-group mistakes on the command line, caught before Hydra composes anything.

Hydra reports `hw=null` and `~hw` with a traceback (exit 1) and an unknown option with its whole
search path; `pimdse` and `python -m dse.eval` turn each into one line and exit status 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

POINT_GROUPS = ("hw", "model", "workload", "algo", "proxy")
"""The groups every design point needs one option of (dse.app.point.PointConfig)."""


def group_options(conf: Path) -> dict[str, list[str]]:
    """Each config group under `conf` (a directory of YAML files) -> its option names, sorted."""
    return {
        d.name: sorted(f.stem for f in d.glob("*.yaml"))
        for d in sorted(conf.iterdir())
        if d.is_dir() and any(d.glob("*.yaml"))
    }


def group_error(argv: Sequence[str], conf: Path) -> str | None:
    """The first override of `argv` that removes a design point's group, sets a group to null or
    names an option the group does not have, as one line; None when there is none.

    Hydra's flags, sweeps (`hw=a,b`, checked by the sweeper) and overrides that do not parse
    (reported by hydra_plugins.pimdse_sweeper.command_line) are skipped."""
    groups = group_options(conf)
    # Another config directory may hold options conf/ has not: then only null and removal are checked.
    more_configs = any(a.startswith(("-cd", "--config-dir", "hydra.searchpath")) for a in argv)
    parser = OverridesParser.create()
    for arg in argv:
        if arg.startswith("-") or ("=" not in arg and not arg.startswith("~")):
            continue
        try:
            (override,) = parser.parse_overrides([arg])
        except HydraException:
            continue
        group = override.key_or_group
        if group not in groups or override.package is not None or override.is_sweep_override():
            continue
        options = ", ".join(groups[group])
        if override.is_delete() and group in POINT_GROUPS:
            return f"{arg}: every design point needs a '{group}' config; choose one of {options}"
        if override.is_delete():
            continue
        value = override.value()
        if value is None:
            return f"{arg}: the config group '{group}' needs an option: one of {options}"
        if isinstance(value, str) and value not in groups[group] and not more_configs:
            return f"{arg}: no '{value}' in config group '{group}': one of {options}"
    return None

