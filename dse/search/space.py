"""Search spaces: which config keys vary, over what values, and under which conditions.

A space is an ordered list of parameters. Each parameter is a dotted config key (`hw.banks`) or a
config group (`algo`), a domain (a choice, an int range or a float interval, optionally log-scaled
or stepped) and an optional condition (`when`): the parameter exists only when other keys hold
given values, e.g. PQ's `algo.subvector_dim` only when `algo` is `pq`.

Spaces come from two places that use one syntax, Hydra's sweep grammar:
- a space config (conf/space/*.yaml, merged into `hydra.sweeper.params`):
      params:
        hw.pim.placement: choice(bank, bank_group)
        algo:
          sweep: choice(pq, uniform)
          children:
            pq: {algo.subvector_dim: choice(2, 4, 8)}
        workload.batch: {sweep: "range(1, 9)", when: {algo: uniform}}
- command-line sweep overrides: `'algo.n_centroids=choice(64,256)'`, `'hw.clock=interval(0.5,2)'`,
  `'x=tag(log, interval(1e-3, 1))'`, `'hw.banks=range(8,64,step=8)'` (stop excluded, as in Hydra).
A command-line parameter replaces the config one of the same name.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.errors import HydraException

Value = str | int | float | bool | None


class SpaceError(ValueError):
    """A search space that cannot be sampled: the message is one line and names the parameter."""


@dataclass(frozen=True)
class Param:
    """One varying key: its Optuna distribution and the condition under which it exists.

    `when` maps another key to the values it must hold for this parameter to be sampled.
    `is_group` marks a config-group choice (`algo=pq` selects conf/algo/pq.yaml).
    """

    name: str
    distribution: optuna.distributions.BaseDistribution
    when: Mapping[str, tuple[Value, ...]] = field(default_factory=dict)
    is_group: bool = False

    @property
    def choices(self) -> tuple[Value, ...] | None:
        if isinstance(self.distribution, optuna.distributions.CategoricalDistribution):
            return tuple(self.distribution.choices)
        return None

    def applies(self, values: Mapping[str, Value]) -> bool:
        """True when every key in `when` holds one of its allowed values in `values`."""
        return all(values.get(key) in allowed for key, allowed in self.when.items())

    def describe(self) -> str:
        """The parameter in Hydra's sweep syntax, with its condition (for logs and study attrs)."""
        dist = self.distribution
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            text = f"choice({', '.join(map(str, dist.choices))})"
        else:
            step = f", step={dist.step}" if dist.step is not None else ""
            text = f"{'int' if isinstance(dist, optuna.distributions.IntDistribution) else 'float'}"
            text += f"[{dist.low}, {dist.high}{step}]" + (" log" if dist.log else "")
        cond = " when " + ", ".join(f"{k} in {list(v)}" for k, v in self.when.items()) if self.when else ""
        return f"{self.name}={text}{cond}"


@dataclass(frozen=True)
class Space:
    """Ordered parameters; a condition may only refer to a parameter listed before it."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for p in self.params:
            if p.name in seen:
                raise SpaceError(f"parameter '{p.name}' is defined twice")
            seen.add(p.name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def get(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def groups(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.is_group)

    def suggest(self, trial: optuna.Trial, base: Mapping[str, Value]) -> dict[str, Value]:
        """Sample every parameter whose condition holds, in order (define-by-run).

        `base` gives the values of keys that are not sampled (e.g. the algorithm chosen on the
        command line) so that conditions on fixed keys resolve too.
        """
        values: dict[str, Value] = dict(base)
        chosen: dict[str, Value] = {}
        for p in self.params:
            if not p.applies(values):
                continue
            values[p.name] = chosen[p.name] = suggest(trial, p.name, p.distribution)
        return chosen

    def with_params(self, params: Sequence[Param]) -> Space:
        """This space with `params` replacing same-named ones (or appended), keeping the order."""
        by_name = {p.name: p for p in params}
        kept = [by_name.pop(p.name, p) for p in self.params]
        return Space(tuple(kept) + tuple(by_name.values()))

    def resolve_conditions(self, key_in_option: Callable[[str, str, str], bool]) -> Space:
        """Infer `when` for keys under a swept config group that carry no explicit condition.

        `algo.subvector_dim` under a swept `algo` applies to the options whose composed config has
        that key; `key_in_option(group, option, key)` answers that. A key no option has is an error.
        """
        groups = {p.name: p for p in self.groups}
        resolved = []
        for p in self.params:
            head = p.name.split(".", 1)[0]
            if p.is_group or p.when or head not in groups:
                resolved.append(p)
                continue
            options = tuple(o for o in groups[head].choices or () if key_in_option(head, str(o), p.name))
            if not options:
                raise SpaceError(
                    f"unknown parameter '{p.name}': no option of '{head}' "
                    f"({', '.join(map(str, groups[head].choices or ()))}) has this key"
                )
            when = {head: options} if len(options) < len(groups[head].choices or ()) else {}
            resolved.append(Param(p.name, p.distribution, when, p.is_group))
        return Space(tuple(resolved))

    def check_order(self) -> None:
        """Raise if a condition refers to a parameter defined after it (it could never resolve)."""
        for i, p in enumerate(self.params):
            later = {q.name for q in self.params[i:]}
            for key in p.when:
                if key in later:
                    raise SpaceError(f"parameter '{p.name}' depends on '{key}', which is defined after it")


def suggest(trial: optuna.Trial, name: str, dist: optuna.distributions.BaseDistribution) -> Value:
    """Ask `trial` for `name` through the public suggest API matching `dist`."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, optuna.distributions.FloatDistribution)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def distribution_from_sweep(name: str, sweep: Any) -> optuna.distributions.BaseDistribution:
    """Map a parsed Hydra sweep (choice/range/interval, maybe tagged `log`) to an Optuna distribution."""
    log = "log" in getattr(sweep, "tags", set())
    if isinstance(sweep, ChoiceSweep):
        choices = tuple(sweep.list)
        if not choices:
            raise SpaceError(f"parameter '{name}': empty choice()")
        if len(set(map(repr, choices))) != len(choices):
            raise SpaceError(f"parameter '{name}': choice() lists a value twice")
        for c in choices:
            if not isinstance(c, str | int | float | bool) and c is not None:
                raise SpaceError(f"parameter '{name}': choice value {c!r} is not a scalar")
        return optuna.distributions.CategoricalDistribution(choices)
    if isinstance(sweep, RangeSweep):
        return _range_distribution(name, sweep, log)
    if isinstance(sweep, IntervalSweep):
        low, high = sweep.start, sweep.end
        if low is None or high is None or not low < high:
            raise SpaceError(f"parameter '{name}': interval({low}, {high}) is empty or inverted")
        if log and low <= 0:
            raise SpaceError(f"parameter '{name}': a log interval needs a low bound > 0, got {low}")
        if isinstance(low, int) and isinstance(high, int):
            return optuna.distributions.IntDistribution(low, high, log=log)
        return optuna.distributions.FloatDistribution(float(low), float(high), log=log)
    raise SpaceError(f"parameter '{name}': unsupported sweep {sweep!r}")


def _range_distribution(name: str, sweep: RangeSweep, log: bool) -> optuna.distributions.BaseDistribution:
    """range(start, stop, step) excludes stop, as Python and Hydra's basic sweeper do."""
    start, stop, step = sweep.start, sweep.stop, sweep.step
    if step is None or step <= 0:
        raise SpaceError(f"parameter '{name}': range() needs a step > 0, got {step}")
    if start is None or stop is None or not start < stop:
        raise SpaceError(f"parameter '{name}': range({start}, {stop}) is empty or inverted")
    count = math.ceil((stop - start) / step)
    if log:
        raise SpaceError(f"parameter '{name}': a stepped range cannot be log-scaled; use interval()")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return optuna.distributions.IntDistribution(start, start + (count - 1) * step, step=step)
    high = start + (count - 1) * step
    if count == 1:
        return optuna.distributions.CategoricalDistribution((float(start),))
    return optuna.distributions.FloatDistribution(float(start), float(high), step=float(step))


def _parse(name: str, text: Any) -> Override:
    parser = OverridesParser.create()
    try:
        return parser.parse_override(f"{name}={text}")
    except HydraException as err:
        raise SpaceError(f"parameter '{name}': cannot parse '{text}': {str(err).splitlines()[0]}") from err


def param_from_override(override: Override, is_group: bool = False) -> Param:
    """A Param from a parsed command-line sweep override (`key=choice(...)`, `key=a,b`, ...)."""
    if override.is_add() or override.is_delete() or override.is_force_add():
        raise SpaceError(f"parameter '{override.key_or_group}': +/~ overrides cannot be swept")
    name = override.get_key_element()
    return Param(name, distribution_from_sweep(name, override.value()), is_group=is_group)


def params_from_config(
    params: Mapping[str, Any] | None, is_group: Callable[[str], bool] = lambda _: False
) -> list[Param]:
    """Params from a space config mapping (see the module docstring for the accepted forms)."""
    out: list[Param] = []
    for name, spec in (params or {}).items():
        out.extend(_params_from_entry(str(name), spec, {}, is_group))
    return out


def _params_from_entry(
    name: str, spec: Any, when: Mapping[str, tuple[Value, ...]], is_group: Callable[[str], bool]
) -> list[Param]:
    children: Mapping[str, Any] = {}
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"sweep", "when", "children"}
        if unknown or "sweep" not in spec:
            raise SpaceError(
                f"parameter '{name}': a mapping needs 'sweep' and may have 'when', 'children'; "
                f"got {sorted(map(str, spec))}"
            )
        extra = {str(k): _as_tuple(v) for k, v in (spec.get("when") or {}).items()}
        when = {**when, **extra}
        children = spec.get("children") or {}
        spec = spec["sweep"]
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        spec = "choice(" + ", ".join(_literal(v) for v in spec) + ")"
    override = _parse(name, spec)
    if not override.is_sweep_override():
        raise SpaceError(f"parameter '{name}': '{spec}' is a single value, not choice/range/interval")
    param = Param(name, distribution_from_sweep(name, override.value()), dict(when), is_group(name))
    out = [param]
    for option, child_params in children.items():
        if param.choices is None or option not in param.choices:
            raise SpaceError(f"parameter '{name}': children given for '{option}', which is not a choice")
        for child_name, child_spec in (child_params or {}).items():
            child_when = {**when, name: (option,)}
            out.extend(_params_from_entry(str(child_name), child_spec, child_when, is_group))
    return _merge_children(out)


def _merge_children(params: list[Param]) -> list[Param]:
    """One param per name: a key listed under several options applies when any of them is chosen."""
    merged: dict[str, Param] = {}
    for p in params:
        if p.name not in merged:
            merged[p.name] = p
            continue
        q = merged[p.name]
        if q.distribution != p.distribution:
            raise SpaceError(f"parameter '{p.name}' has different domains under different options")
        when = dict(q.when)
        for key, allowed in p.when.items():
            when[key] = tuple(dict.fromkeys(when.get(key, ()) + allowed))
        merged[p.name] = Param(p.name, p.distribution, when, p.is_group)
    return list(merged.values())


def _as_tuple(v: Any) -> tuple[Value, ...]:
    return tuple(v) if isinstance(v, Sequence) and not isinstance(v, str) else (v,)


@functools.lru_cache(maxsize=4096)
def _string_literal(v: str) -> str:
    """`v` bare when Hydra reads it back as the same string (pq, bank_group), else quoted."""
    try:
        if OverridesParser.create().parse_override(f"k={v}").value() == v:
            return v
    except HydraException:
        pass
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal(v: Any) -> str:
    """A scalar in Hydra override syntax, such that Hydra parses it back to the same value."""
    if isinstance(v, str):
        return _string_literal(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return repr(v) if isinstance(v, float) else str(v)


def override_string(name: str, value: Value) -> str:
    """`name=value` as a Hydra override that parses back to `value`."""
    return f"{name}={_literal(value)}"
