"""Hostile input never gets past hw.build + hw.evaluate as anything but a one-line SpecError or a
finite, non-negative Cost.

Every leaf of hw (each shipped preset), model and workload is walked from the specs' own schema and
set to bad and extreme values: wrong types, None, non-finite, huge and tiny numbers, its own bounds,
grids, deleted keys and missing sections. A value its own rule rejects must be reported under that
leaf's dotted path; a value the rule accepts may still break a rule between fields, which must then
name a real key. Numpy warnings are errors here: an accepted input must not overflow either.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hwpoints import CONF, point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hw
from hw.model_shape import ModelShape
from hw.system import System
from hw.workload import Workload
from spec.algo import ALGORITHMS
from spec.errors import SpecError
from spec.fields import Rule, config_fields, has_default, read

PRESETS = sorted(p.stem for p in (CONF / "hw").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
ALGOS = ("fp16", "uniform", "pq", "cluster_sparse")
DELETE = object()  # the mutation that removes the key
SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

BAD = [
    None,
    "",
    "fast",
    True,
    False,
    [4, 8],
    (1,),
    {},
    {"a": 1},
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -(10**400),
    2**63,
    1e300,
    -1e300,
    1e-300,
    -1e-300,
    0,
    -1,
    0.5,
    1.5,
    3,
    1j,
    np.float64(np.nan),
    np.True_,
    np.array([1.0, np.nan]),
    np.array(["a"]),
    np.array([1 + 1j]),
    np.array([True, False]),
    DELETE,
]


@dataclass(frozen=True)
class Leaf:
    key: str
    rule: Rule
    has_default: bool  # deleting it falls back to a default (or a value derived from other keys)


def leaves(cls: type, path: str, cfg: Any) -> Iterator[Leaf]:
    """Every key of `cls` that `cfg` can hold, expanding the sections it has."""
    for f, rule in config_fields(cls):
        key = f"{path}.{f.name}"
        yield Leaf(key, rule, has_default(f))
        sub = cfg.get(f.name) if isinstance(cfg, Mapping) else None
        if rule.kind == "section" and isinstance(sub, Mapping):
            yield from leaves(rule.spec, key, sub)
        elif rule.kind == "sections" and isinstance(sub, Mapping):
            for name, entry in sub.items():
                yield from leaves(rule.spec, f"{key}.{name}", entry)


def preset_leaves(preset: str, model: str) -> list[Leaf]:
    h, _, m, w = point(hw=preset, model=model)
    return [*leaves(System, "hw", h), *leaves(ModelShape, "model", m), *leaves(Workload, "workload", w)]


PAIRS = [(h, m) for h in PRESETS for m in MODELS]
LEAVES = {pair: preset_leaves(*pair) for pair in PAIRS}
ALGO_KEYS = {f"algo.{f.name}" for cls in ALGORITHMS.values() for f, _ in config_fields(cls)}
KNOWN = (
    {leaf.key for pair in PAIRS for leaf in LEAVES[pair]} | ALGO_KEYS | {"hw", "algo", "model", "workload"}
)


def numbers(pair: tuple[str, str]) -> list[Leaf]:
    return [leaf for leaf in LEAVES[pair] if leaf.rule.kind == "number"]


def bounds(rule: Rule) -> list[float]:
    """The rule's extreme accepted values (a strict lower bound is approached from above)."""
    lo = rule.ge if rule.ge is not None else np.nextafter(rule.gt, math.inf)
    hi = rule.le
    values = [lo, hi] if not rule.integer else [math.ceil(lo), math.floor(hi)]
    return [float(v) for v in values]


def mutated(pair: tuple[str, str], algo: str, changes: dict[str, Any]) -> tuple[dict, dict, dict, dict]:
    """The preset pair's four dicts with `changes` (dotted key -> value, or DELETE) applied."""
    parts = dict(zip(("hw", "algo", "model", "workload"), point(pair[0], algo, pair[1]), strict=True))
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = parts
        for key in parents:
            node = node[key]
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return parts["hw"], parts["algo"], parts["model"], parts["workload"]


def names_itself(leaf: Leaf, value: Any) -> bool:
    """Whether the error must name `leaf` (or a key inside it, for a section): its own rule rejects
    `value`, or `value` deletes a key that has no default."""
    if value is DELETE:
        return not leaf.has_default
    if value is None and leaf.rule.optional:
        return False
    if leaf.rule.kind in ("section", "sections"):
        return True  # a non-mapping is rejected; a mapping's first bad key is inside the section
    try:
        read(leaf.rule, value, leaf.key)
    except SpecError:
        return True
    return False


def run(pair: tuple[str, str], algo: str, changes: dict[str, Any]) -> SpecError | hw.Cost:
    """build + evaluate with numpy warnings as errors; the SpecError or the Cost."""
    cfgs = mutated(pair, algo, changes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return hw.evaluate(*hw.build(*cfgs))
        except SpecError as err:
            return err


def assert_outcome(result: SpecError | hw.Cost, must_name: str = "") -> None:
    """A one-line SpecError naming a real key (`must_name` or a key inside it, when given), or a
    finite non-negative Cost."""
    if isinstance(result, SpecError):
        message = str(result)
        assert "\n" not in message
        assert message.startswith(f"{result.path}="), message
        if must_name:
            assert result.path == must_name or result.path.startswith(must_name + "."), message
        else:
            assert result.path in KNOWN, message
        return
    assert_finite(result)


def assert_finite(cost: hw.Cost) -> None:
    values = {"latency_s": cost.latency_s, "energy_j": cost.energy_j, "kv_bytes": cost.kv_bytes}
    values |= {"spill_bytes": cost.spill_bytes, "max_context_tokens": cost.max_context_tokens}
    values |= {f"{n}.seconds": k.seconds for n, k in cost.kernels.items()}
    values |= {f"{n}.energy_j": k.energy_j for n, k in cost.kernels.items()}
    for name, value in values.items():
        x = np.asarray(value, dtype=np.float64)
        assert np.all(np.isfinite(x)) and np.all(x >= 0), (name, value)
    assert np.all(np.asarray(cost.latency_s) > 0)
    if not np.ndim(cost.latency_s):
        assert math.isfinite(cost.to_dict()["power_w"])


@st.composite
def bad_leaf(draw: st.DrawFn) -> tuple[tuple[str, str], str, Leaf, Any]:
    pair = draw(st.sampled_from(PAIRS))
    leaf = draw(st.sampled_from(LEAVES[pair]))
    extremes = bounds(leaf.rule) if leaf.rule.kind == "number" else []
    value = draw(
        st.one_of(
            st.sampled_from(BAD + extremes),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(10**30), max_value=10**30),
            st.text(max_size=5),
        )
    )
    return pair, draw(st.sampled_from(ALGOS)), leaf, value


@SETTINGS
@given(bad_leaf())
def test_one_bad_leaf_is_named_or_costed(case):
    pair, algo, leaf, value = case
    result = run(pair, algo, {leaf.key: value})
    assert_outcome(result, leaf.key if names_itself(leaf, value) else "")


@st.composite
def extreme_points(draw: st.DrawFn) -> tuple[tuple[str, str], str, dict[str, Any]]:
    """Several numeric leaves at once, each at one of its bounds or a grid of both."""
    pair = draw(st.sampled_from(PAIRS))
    chosen = draw(st.lists(st.sampled_from(numbers(pair)), min_size=1, max_size=6, unique_by=lambda x: x.key))
    changes = {}
    for leaf in chosen:
        lo, hi = bounds(leaf.rule)
        changes[leaf.key] = draw(st.sampled_from([lo, hi, np.array([lo, hi])]))
    return pair, draw(st.sampled_from(ALGOS)), changes


@SETTINGS
@given(extreme_points())
def test_leaves_at_their_bounds_together_are_rejected_by_a_rule_or_costed_finitely(case):
    assert_outcome(run(*case))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_number_alone_at_each_bound_costs_finitely_or_names_a_key(preset):
    pair = (preset, "mistral_7b")
    costed = 0
    for leaf in numbers(pair):
        for value in bounds(leaf.rule):
            result = run(pair, "pq", {leaf.key: value})
            assert_outcome(result)
            costed += not isinstance(result, SpecError)
    assert costed >= len(numbers(pair))  # most single extremes are valid designs, not just errors


@pytest.mark.parametrize(
    "part", ["hw", "algo", "model", "workload", "hw.gpu", "hw.pim.timings", "hw.mapping"]
)
@pytest.mark.parametrize("value", [DELETE, None, [], "x"])
def test_a_missing_or_mistyped_section_names_itself(part, value):
    parts = dict(zip(("hw", "algo", "model", "workload"), point(), strict=True))
    if part in parts:
        parts[part] = None if value is DELETE else value
        cfgs = (parts["hw"], parts["algo"], parts["model"], parts["workload"])
    else:
        cfgs = mutated(("aqpim_hbm3", "mistral_7b"), "pq", {part: value})
    with pytest.raises(SpecError) as err:
        hw.build(*cfgs)
    assert err.value.path == part
    assert "\n" not in str(err.value)


def test_arrays_that_do_not_broadcast_name_the_second_one():
    changes = {
        "hw.pim.stacks": np.array([1.0, 2.0]),
        "workload.context_tokens": np.array([1024, 2048, 4096]),
    }
    result = run(("aqpim_hbm3", "mistral_7b"), "pq", changes)
    assert isinstance(result, SpecError)
    assert str(result) == (
        "workload.context_tokens=[1024, 2048, 4096]: "
        "shape (3,) does not broadcast with the other array leaves' (2,)"
    )
