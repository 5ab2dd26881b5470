"""Objectives and constraints: which numbers of an evaluation the search optimises or bounds.

An evaluation is the JSON-ready dict of `dse.app.point.evaluate_point` (latency_s, kv_bytes, fits,
accuracy.value, ...). Objectives and constraints name a dotted key path into it. Built-in names
keep configs short: `accuracy_loss`, `accuracy`, `latency`, `memory`, `energy`, `context`, `area`,
`power`, `tokens_per_s`, `tokens_per_j`.

The two accuracy objectives read the same key, the proxy metric's value: `accuracy_loss` minimises a
lower-is-better metric (the calibrated loss increase, nats/token), `accuracy` maximises a
higher-is-better one. Their unit is the one the accuracy record states (`accuracy.unit`), so they
carry none here (dse.results.labels reads it from the trials).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["minimize", "maximize"]


class ObjectiveError(ValueError):
    """A bad objective/constraint spec or an evaluation that cannot be scored (one line)."""


@dataclass(frozen=True)
class Objective:
    """A named, directed scalar read from the evaluation at `key` (a dotted path), in `unit`."""

    name: str
    key: str
    direction: Direction
    unit: str = ""


ACCURACY_KEY = "accuracy.value"
"""Where an evaluation holds the proxy metric's value (dse.app.point: the models.Accuracy record)."""

BUILTIN: dict[str, Objective] = {
    "accuracy_loss": Objective("accuracy_loss", ACCURACY_KEY, "minimize"),
    "accuracy": Objective("accuracy", ACCURACY_KEY, "maximize"),
    "latency": Objective("latency", "latency_s", "minimize", "s"),
    "memory": Objective("memory", "kv_bytes", "minimize", "B"),
    "energy": Objective("energy", "energy_j", "minimize", "J"),
    "context": Objective("context", "max_context_tokens", "maximize", "tokens"),
    "area": Objective("area", "pe_area_mm2", "minimize", "mm2"),
    "power": Objective("power", "power_w", "minimize", "W"),
    "tokens_per_s": Objective("tokens_per_s", "tokens_per_s", "maximize", "tokens/s"),
    "tokens_per_j": Objective("tokens_per_j", "tokens_per_j", "maximize", "tokens/J"),
}


@dataclass(frozen=True)
class Constraint:
    """A bound on an evaluation key; feasible when its violation is <= 0 (Optuna's convention).

    Exactly one of `equals` (e.g. fits == true), `max` or `min` is set; `max`/`min` are in the
    key's own unit (e.g. power_w <= 60).
    """

    key: str
    equals: Any = None
    max: float | None = None
    min: float | None = None

    def violation(self, result: Mapping[str, Any]) -> float:
        """0 when satisfied, > 0 by how much it is not; 1 for a failed equality or a missing key."""
        value = lookup(result, self.key)
        if value is None:
            return 1.0
        if self.equals is not None:
            return 0.0 if value == self.equals else 1.0
        value = float(value)
        if math.isnan(value):
            return 1.0
        if self.max is not None:
            return max(0.0, value - self.max)
        assert self.min is not None
        return max(0.0, self.min - value)


def parse_objectives(specs: Sequence[Any]) -> tuple[Objective, ...]:
    """Objectives from names (`latency`) or mappings ({name, key, direction, unit})."""
    out: list[Objective] = []
    for spec in specs:
        if isinstance(spec, str):
            if spec not in BUILTIN:
                raise ObjectiveError(
                    f"unknown objective '{spec}': use one of {', '.join(BUILTIN)} or {{name, key, direction}}"
                )
            out.append(BUILTIN[spec])
            continue
        if not isinstance(spec, Mapping):
            raise ObjectiveError(
                f"objective {spec!r}: use a name ({', '.join(BUILTIN)}) or {{name, key, direction}}"
            )
        spec = dict(spec)
        base = BUILTIN.get(spec.get("name", ""))
        name = spec.get("name") or spec.get("key")
        key = spec.get("key") or (base.key if base else None)
        direction = spec.get("direction") or (base.direction if base else None)
        if not name or not key or direction not in ("minimize", "maximize"):
            raise ObjectiveError(f"objective {spec}: needs a key and direction minimize|maximize")
        out.append(Objective(name, key, direction, spec.get("unit", base.unit if base else "")))
    if not out:
        raise ObjectiveError("no objectives given")
    names = [o.name for o in out]
    if len(set(names)) != len(names):
        raise ObjectiveError(f"objectives named twice: {names}")
    return tuple(out)


def parse_constraints(specs: Sequence[Any]) -> tuple[Constraint, ...]:
    """Constraints from mappings {key, equals|max|min}."""
    out = []
    for spec in specs:
        if not isinstance(spec, Mapping):
            raise ObjectiveError(f"constraint {spec!r}: use a mapping {{key, equals|max|min}}")
        spec = dict(spec)
        bounds = [k for k in ("equals", "max", "min") if spec.get(k) is not None]
        if "key" not in spec or len(bounds) != 1 or set(spec) - {"key", "equals", "max", "min"}:
            raise ObjectiveError(f"constraint {spec}: needs a key and exactly one of equals, max, min")
        out.append(Constraint(spec["key"], spec.get("equals"), spec.get("max"), spec.get("min")))
    return tuple(out)


def lookup(result: Mapping[str, Any], key: str) -> Any:
    """The value at dotted `key` in nested mappings, or None when a part is missing."""
    node: Any = result
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def objective_values(result: Mapping[str, Any], objectives: Sequence[Objective]) -> list[float]:
    """The objective vector of one evaluation; raises ObjectiveError naming a missing/NaN value.

    An objective at `X.value` whose evaluation says `X.higher_is_better` opposite to its direction
    is a configuration error (the search would optimise the wrong way), so it raises too.
    """
    values = []
    for o in objectives:
        raw = lookup(result, o.key)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ObjectiveError(f"objective {o.name}: '{o.key}' is missing or not a number ({raw!r})")
        if not math.isfinite(raw):
            raise ObjectiveError(f"objective {o.name}: '{o.key}' is {raw}")
        check_direction(result, o)
        values.append(float(raw))
    return values


def check_direction(result: Mapping[str, Any], o: Objective) -> None:
    """Raise ObjectiveDirectionError when the record at `o.key` (`X.value`) says `X.higher_is_better`
    against `o.direction`, naming the objective to use instead."""
    if not o.key.endswith(".value"):
        return
    record = o.key[: -len(".value")]
    hib = lookup(result, record + ".higher_is_better")
    if hib is None or bool(hib) == (o.direction == "maximize"):
        return
    metric = lookup(result, record + ".name")
    what = f"proxy.metric {metric}" if o.key == ACCURACY_KEY and metric else f"'{o.key}'"
    wanted: Direction = "maximize" if hib else "minimize"
    instead = next((b.name for b in BUILTIN.values() if (b.key, b.direction) == (o.key, wanted)), None)
    fix = f"use objective {instead}" if instead else f"use direction {wanted}"
    raise ObjectiveDirectionError(
        f"objective {o.name}: {what} is {'higher' if hib else 'lower'}-is-better: {fix}"
    )


class ObjectiveDirectionError(ObjectiveError):
    """The objective's direction contradicts the metric: stop the sweep rather than fail trials."""
