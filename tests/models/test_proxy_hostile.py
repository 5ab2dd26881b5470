"""Hostile input: bad and extreme values for every key of every algorithm and of the proxy config.

`models.validate` (no scoring) must either accept the config or raise a one-line SpecError that
names a real config key — the mutated key itself whenever the value breaks that key's own rule —
and never raise anything else. Values are generated with a fixed seed (derandomize), so a failure
reproduces.
"""

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from models.spec import ProxySpec
from spec.algo import ALGORITHMS
from spec.errors import SpecError
from spec.fields import SchemaRow, config_fields, read, rule_of, schema_rows

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=25,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Extremes around the bounds of the schemas and values that name things (devices, choices, paths).
EXTREMES = [None, True, False, 0, 1, -1, 2, 7, 8, 16, 63, 64, 127, 128, 767, 768, 1023, 1024, 4096, 65536,
            2**31, 2**64, 10**30, 0.5, 1.0, 0.999, 4.0, 1e-300, 1e300, float("nan"), float("inf"), "",
            "cpu", "cuda", "cuda:0", "cuda:7", "mps", "tpu", "static", "windowed", "online", "gguf", "hf",
            "quick", "full", "lee", "wiki", "neg_kl", "cosine", "paired", ".", "/", "/etc", "/nonexistent/x",
            "a\x00b", "x" * 300, "\ud800", [], [True], [1.0], [0, 29], [-1], {}, {"x": 1},
            np.array([1.0, 2.0])]
# ... and values a YAML file or a Hydra override can hold.
HOSTILE = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-3, 40), st.booleans(), st.floats(0, 3)), max_size=4),
    st.dictionaries(st.sampled_from(["path", "source", "device", "x", "calib_seqs"]),
                    st.one_of(st.none(), st.integers(-2, 5), st.text(max_size=4)), max_size=2),
    st.just(np.array([1.0, 2.0])),
)


@functools.cache
def _shipped(*parts: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT.joinpath("conf", *parts)).read_text())


def _yaml(*parts: str) -> dict[str, Any]:
    """A fresh copy of a shipped conf file."""
    return copy.deepcopy(_shipped(*parts))


def _proxy(cache_dir: Path) -> dict[str, Any]:
    return _yaml("proxy", "quick.yaml") | {"cache_dir": str(cache_dir)}


def _leaves(cls: type, path: str) -> list[SchemaRow]:
    return schema_rows(cls, path)


ALGO_LEAVES = [(name, row.key) for name, cls in ALGORITHMS.items() for row in _leaves(cls, "algo")]
PROXY_LEAVES = [row.key for row in _leaves(ProxySpec, "proxy")]
KNOWN = {key for _, key in ALGO_LEAVES} | set(PROXY_LEAVES)


def _rule(cls: type, dotted: str) -> Any:
    """The schema rule of a dotted key below `cls` (e.g. proxy.model.device -> ModelSpec.device)."""
    *sections, leaf = dotted.split(".")[1:]
    for name in sections:
        cls = rule_of(next(f for f, _ in config_fields(cls) if f.name == name)).spec
    return rule_of(next(f for f, _ in config_fields(cls) if f.name == leaf))


def _breaks_own_rule(cls: type, dotted: str, value: Any) -> bool:
    if dotted == "algo.name":  # any algorithm's name is a good name (then other keys may be unknown)
        return not (isinstance(value, str) and value in ALGORITHMS)
    rule = _rule(cls, dotted)
    if value is None and rule.optional:
        return False
    try:
        read(rule, value, dotted)
    except SpecError:
        return True
    return False


def _set(cfg: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of cfg (whose root is the first part of `dotted`) with one nested key set."""
    out = copy.deepcopy(cfg)
    node = out
    *sections, leaf = dotted.split(".")[1:]
    for name in sections:
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]
    node[leaf] = value
    return out


def _validate(algo: dict[str, Any], proxy: dict[str, Any], mutated: set[str]) -> SpecError | None:
    """validate(); the SpecError it raised (checked to be one line naming a real key), or None."""
    try:
        models.validate(algo, proxy)
    except SpecError as e:
        message = str(e)
        assert "\n" not in message and message.startswith(f"{e.path}="), message
        assert e.path in KNOWN or any(e.path.startswith(m + ".") or e.path == m for m in mutated), message
        return e
    return None


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-cache")


def _check_algo_key(cache_dir: Path, name: str, key: str, value: Any) -> None:
    algo = _set(_yaml("algo", f"{name}.yaml"), key, value)
    err = _validate(algo, _proxy(cache_dir), {key})
    if _breaks_own_rule(ALGORITHMS[name], key, value):
        assert err is not None and err.path == key, (key, value, err)


def _check_proxy_key(cache_dir: Path, key: str, value: Any) -> None:
    err = _validate(_yaml("algo", "pq.yaml"), _set(_proxy(cache_dir), key, value), {key})
    if _breaks_own_rule(ProxySpec, key, value):
        assert err is not None and (err.path == key or err.path.startswith(key + ".")), (key, value, err)


@pytest.mark.parametrize(("name", "key"), ALGO_LEAVES)
def test_every_algorithm_key_with_every_extreme(cache_dir: Path, name: str, key: str) -> None:
    for value in EXTREMES:
        _check_algo_key(cache_dir, name, key, value)


@pytest.mark.parametrize("key", PROXY_LEAVES)
def test_every_proxy_key_with_every_extreme(cache_dir: Path, key: str) -> None:
    for value in EXTREMES:
        _check_proxy_key(cache_dir, key, value)


@pytest.mark.parametrize(("name", "key"), ALGO_LEAVES)
@SETTINGS
@given(value=HOSTILE)
def test_every_algorithm_key(cache_dir: Path, name: str, key: str, value: Any) -> None:
    _check_algo_key(cache_dir, name, key, value)


@pytest.mark.parametrize("key", PROXY_LEAVES)
@SETTINGS
@given(value=HOSTILE)
def test_every_proxy_key(cache_dir: Path, key: str, value: Any) -> None:
    _check_proxy_key(cache_dir, key, value)


@SETTINGS
@given(name=st.sampled_from(sorted(ALGORITHMS)),
       algo_changes=st.lists(st.tuples(st.sampled_from([k for _, k in ALGO_LEAVES] + ["algo.colour"]),
                                       HOSTILE), max_size=3),
       proxy_changes=st.lists(st.tuples(st.sampled_from(PROXY_LEAVES + ["proxy.text.colour"]), HOSTILE),
                              max_size=3))
def test_several_keys_at_once(cache_dir: Path, name: str, algo_changes: list, proxy_changes: list) -> None:
    algo, proxy = _yaml("algo", f"{name}.yaml"), _proxy(cache_dir)
    for key, value in algo_changes:
        algo = _set(algo, key, value)
    for key, value in proxy_changes:
        proxy = _set(proxy, key, value)
    _validate(algo, proxy, {k for k, _ in algo_changes + proxy_changes})


def test_validation_writes_nothing(cache_dir: Path) -> None:
    """validate reads file metadata only: the cache directory it checks is not created."""
    target = cache_dir / "never" / "created"
    models.validate(_yaml("algo", "pq.yaml"), _proxy(target))
    assert not target.exists()
