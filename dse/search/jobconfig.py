"""Job configs without recomposing: one Hydra composition per combination of config-group choices.

Hydra composes a job config from its overrides in tens of milliseconds, and even copying a
composed DictConfig of a few hundred keys takes ~10 ms. A sweep only ever uses a few combinations
of group choices (algo=pq, hw=...), so each is composed once through Hydra and cached; a job's
value parameters (algo.subvector_dim=4) are then written into that cached config in place, every
swept key reset to its composed value first, so the config equals Hydra's own composition of the
job's overrides (tests/dse check this). The cached config is read-only between writes: a task
that tried to modify it would fail loudly rather than leak state into the next job.
The cached compositions also answer "does this key exist under this option?" for validation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hydra.core.config_loader import ConfigLoader
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from dse.search.space import Space, SpaceError, Value, override_string


class JobConfigs:
    """Builds job configs and override lists for parameter values of one sweep."""

    def __init__(
        self, loader: ConfigLoader, master: DictConfig, space: Space, fixed: Sequence[str] = ()
    ) -> None:
        """`fixed` are the sweep's non-swept command-line overrides, part of every job."""
        self._loader = loader
        self._master = master
        self._space = space
        self.fixed = list(fixed)
        self._templates: dict[tuple[tuple[str, str], ...], DictConfig] = {}
        self._choices: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self._originals: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}

    def group_options(self, group: str) -> list[str]:
        """The options of config group `group` (empty when `group` is not a group)."""
        return list(self._loader.get_group_options(group))

    def base_values(self) -> dict[str, Value]:
        """Values of keys the space's conditions refer to, as the master config fixes them."""
        base = self.template({})
        choices = self._choices[()]
        keys = {k for p in self._space.params for k in p.when} | {p.name for p in self._space.params}
        values: dict[str, Value] = {}
        for key in keys:
            if key in choices:
                values[key] = choices[key]
            else:
                values[key] = OmegaConf.select(base, key, default=None, throw_on_missing=False)
        return values

    def overrides(self, params: Mapping[str, Value]) -> list[str]:
        """The Hydra overrides of a job: group choices first (they pick files), then values."""
        groups = [override_string(k, v) for k, v in params.items() if self._is_group(k)]
        values = [override_string(k, v) for k, v in params.items() if not self._is_group(k)]
        return self.fixed + groups + values

    def config(self, params: Mapping[str, Value]) -> DictConfig:
        """The job config (without the `hydra` node) for sampled `params`.

        It is the cached composition, rewritten in place: valid until the next call. Copy it
        (e.g. with OmegaConf.to_container) to keep it longer.
        """
        groups = {k: str(v) for k, v in params.items() if self._is_group(k)}
        cfg = self.template(groups)
        with read_write(cfg):
            for key, original in self._originals[tuple(sorted(groups.items()))].items():
                OmegaConf.update(cfg, key, params.get(key, original), merge=False)
        return cfg

    def template(self, group_choices: Mapping[str, str]) -> DictConfig:
        """Hydra's composition for these group choices, cached, without the `hydra` node."""
        key = tuple(sorted(group_choices.items()))
        if key not in self._templates:
            overrides = self.fixed + [override_string(g, o) for g, o in key]
            cfg = self._loader.load_sweep_config(master_config=self._master, sweep_overrides=overrides)
            self._choices[key] = dict(OmegaConf.to_container(cfg.hydra.runtime.choices))
            with open_dict(cfg):
                del cfg["hydra"]
            self._originals[key] = {
                p.name: _raw(cfg, p.name)
                for p in self._space.params
                if not p.is_group and _has_key(cfg, p.name)
            }
            OmegaConf.set_readonly(cfg, True)
            self._templates[key] = cfg
        return self._templates[key]

    def key_in_option(self, group: str, option: str, key: str) -> bool:
        """Whether `key` exists in the job config when `group` is `option`."""
        return _has_key(self.template({group: option}), key)

    def check_keys(self) -> None:
        """Raise SpaceError naming the first value parameter missing from a config it applies to.

        A key under a swept group (algo.bits under algo) is checked in each option it applies to;
        any other key in the master composition.
        """
        groups = {p.name: [str(c) for c in p.choices or ()] for p in self._space.groups}
        for p in self._space.params:
            if p.is_group:
                continue
            head = p.name.split(".", 1)[0]
            options = [str(o) for o in p.when.get(head, groups.get(head, []))]
            for combo in [{head: o} for o in options] or [{}]:
                if not _has_key(self.template(combo), p.name):
                    fixed_choice = self._choices[()].get(head) if not combo else None
                    where = f" when {head}={combo[head]}" if combo else ""
                    where += f" (with {head}={fixed_choice})" if fixed_choice else ""
                    raise SpaceError(f"unknown parameter '{p.name}': not a key of the composed config{where}")

    def check_groups(self) -> None:
        """Raise SpaceError for a group choice that names no file of its group."""
        for p in self._space.groups:
            options = set(self.group_options(p.name))
            for choice in p.choices or ():
                if str(choice) not in options:
                    raise SpaceError(
                        f"parameter '{p.name}': no config '{choice}' in group {p.name} "
                        f"(have: {', '.join(sorted(options))})"
                    )

    def _is_group(self, name: str) -> bool:
        param = self._space.get(name)
        return param is not None and param.is_group


def _has_key(cfg: DictConfig, key: str) -> bool:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return False
        node = node._get_node(part)
    return True


def _raw(cfg: DictConfig, key: str) -> Any:
    """The value at `key` as written in the config (an interpolation stays `${...}`)."""
    node: Any = cfg
    for part in key.split("."):
        node = node._get_node(part)
    return node._value()


def config_hash(container: Mapping[str, Any]) -> str:
    """A 16-hex-digit SHA-256 of a job config (as an unresolved container): equal configs, equal hashes.

    Unresolved, so hashing costs ~0.1 ms; interpolations are hashed as written, which is the same
    for equal configs.
    """
    text = json.dumps(container, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
