"""A job config from Hydra overrides, as `pimdse` composes it from the packaged conf/, outside a run.

`compose_config` is Hydra's own composition (tens to hundreds of milliseconds: it reads every YAML
file of the chosen options). `compose_cached` gives the same config faster when many configs share
their config-group choices (the report's per-point figures): each combination of group choices
(`hw=...`, `algo=...`) is composed once, and the value overrides (`algo.n_centroids=256`) are applied
to a copy by Hydra's own override code, as Hydra applies them after composing the defaults.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from dse.app.groups import group_options
from spec.conf import conf_dir


def compose_config(overrides: Sequence[str]) -> DictConfig:
    """The job config of `overrides` (without the `hydra` node). Raises HydraException on bad input."""
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def compose_cached(overrides: Sequence[str]) -> DictConfig:
    """The same config as `compose_config(overrides)`, from a cached composition of its group
    choices; a new object the caller may modify."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    at_composition = [_at_composition(o.key_or_group) for o in parsed]
    picks = tuple(o.input_line for o, early in zip(parsed, at_composition, strict=True) if early)
    values = [o for o, early in zip(parsed, at_composition, strict=True) if not early]
    cfg = copy.deepcopy(_composed(picks))
    OmegaConf.set_readonly(cfg, False)
    ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
    return cfg


def _at_composition(key: str) -> bool:
    """Whether an override of `key` acts while Hydra composes (a group choice, a hydra.* setting)."""
    return key in _groups() or key.startswith("hydra.")


@functools.cache
def _groups() -> frozenset[str]:
    return frozenset(group_options(conf_dir()))


@functools.lru_cache(maxsize=32)
def _composed(group_choices: tuple[str, ...]) -> DictConfig:
    cfg = compose_config(group_choices)
    OmegaConf.set_readonly(cfg, True)  # shared by every caller: copied before use
    return cfg
