"""Checks an app hands the sweeper, run before the first trial: every value a sweep can produce is valid,
and every objective and constraint names a key an evaluation returns.

The search engine imports no cost model: the app passes its cheap validator and the key set of its
evaluations in a `SweepChecks`, found as the attribute `PIMDSE_SWEEP_CHECKS` of the task function's
module (dse.app.sweep_checks for pimdse). An app without it gets the generic checks only.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from omegaconf import DictConfig

from dse.search.jobconfig import JobConfigs
from dse.search.objectives import Constraint, Objective, ObjectiveError, check_direction
from dse.search.space import Param, Space, SpaceError, Value

CHECKS_ATTR = "PIMDSE_SWEEP_CHECKS"
"""Attribute of a task function's module holding its SweepChecks."""


@dataclass(frozen=True)
class ResultKeys:
    """The dotted keys an evaluation returns (parents of nested keys too); under an `open` key any
    sub-key is accepted (e.g. `accuracy.metrics`, whose metric names depend on the scoring mode).
    `sample` is the evaluation they were read from: its records' directions (`X.higher_is_better`,
    known before scoring) are checked against the objectives' directions."""

    keys: frozenset[str]
    open: frozenset[str] = frozenset()
    sample: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, result: Mapping[str, Any], open_keys: Sequence[str] = ()) -> ResultKeys:
        """The keys of one evaluation dict."""
        return cls(frozenset(_dotted_keys(result, "")), frozenset(open_keys), result)

    def has(self, key: str) -> bool:
        return key in self.keys or any(key.startswith(k + ".") for k in self.open)

    def closest(self, key: str) -> list[str]:
        """Up to three valid keys that look like `key` (difflib), for the error message."""
        return difflib.get_close_matches(key, sorted(self.keys), n=3, cutoff=0.5)


def _dotted_keys(node: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, Mapping):
            yield from _dotted_keys(value, dotted + ".")


@dataclass(frozen=True)
class SweepChecks:
    """What an app lets the sweeper check before any trial runs.

    `validate(cfg)` raises one of `errors` (one line: field, value, what is allowed) for a job config
    the task would reject; it must be cheap (no model load). `result_keys(cfg)` gives the keys an
    evaluation of the (valid) job config `cfg` returns, cheaply.
    """

    validate: Callable[[DictConfig], None]
    result_keys: Callable[[DictConfig], ResultKeys]
    errors: tuple[type[Exception], ...] = (ValueError,)


def checks_of(task: Callable[..., Any] | None) -> SweepChecks | None:
    """The SweepChecks of the task function's module, if it declares one."""
    module_name = getattr(task, "__module__", None)
    if not module_name:
        return None
    module = importlib.import_module(module_name)
    checks = getattr(module, CHECKS_ATTR, None)
    return checks if isinstance(checks, SweepChecks) else None


def check_values(space: Space, configs: JobConfigs, checks: SweepChecks) -> None:
    """Validate the job config of the fixed overrides alone, then with each value the space can
    produce (each choice, both bounds of a range or interval), in each group option its condition
    applies to; raise SpaceError with the validator's line for the first invalid one."""
    for params in [{}, *value_points(space, configs.base_values())]:
        try:
            checks.validate(configs.config(params))
        except checks.errors as err:
            raise SpaceError(" ".join(str(err).split())) from err


def value_points(space: Space, base: Mapping[str, Value]) -> Iterator[dict[str, Value]]:
    """For each parameter and each of its extreme values: the params of one job holding that value,
    plus the values of the swept keys its condition needs (a key under a swept group: each option)."""
    swept = {p.name: p for p in space.params}
    for p in space.params:
        for context in _contexts(p, swept, base):
            for value in extreme_values(p.distribution):
                yield {**context, p.name: value}


def _contexts(p: Param, swept: Mapping[str, Param], base: Mapping[str, Value]) -> list[dict[str, Value]]:
    """The combinations of swept condition keys under which `p` applies ([] when it never can)."""
    allowed: dict[str, tuple[Value, ...]] = {}
    for key, values in p.when.items():
        if key in swept:
            allowed[key] = values
        elif base.get(key) not in values:
            return []  # a condition on a fixed key that does not hold: never sampled
    head = p.name.split(".", 1)[0]
    group = swept.get(head)
    if group is not None and group.is_group and head not in allowed and not p.is_group:
        allowed[head] = group.choices or ()
    keys = list(allowed)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*allowed.values())]


def extreme_values(dist: optuna.distributions.BaseDistribution) -> tuple[Value, ...]:
    """Every choice of a categorical; the low and high bound of a numeric domain."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return tuple(dist.choices)
    assert isinstance(dist, optuna.distributions.IntDistribution | optuna.distributions.FloatDistribution)
    return (dist.low, dist.high) if dist.low != dist.high else (dist.low,)


def check_result_keys(
    keys: ResultKeys, objectives: Sequence[Objective], constraints: Sequence[Constraint]
) -> None:
    """Raise ObjectiveError naming the first objective or constraint key no evaluation has, or
    ObjectiveDirectionError for an objective whose direction the sample's record contradicts."""
    named = [(f"objective {o.name}", o.key) for o in objectives]
    named += [(f"constraint {c.key}", c.key) for c in constraints]
    for what, key in named:
        if not keys.has(key):
            close = keys.closest(key)
            hint = f"closest: {', '.join(close)}" if close else f"keys: {', '.join(sorted(keys.keys)[:8])}"
            raise ObjectiveError(f"{what}: no key '{key}' in the evaluation ({hint})")
    for o in objectives:
        check_direction(keys.sample, o)
