"""Search spaces: Hydra sweep syntax to Optuna distributions, conditions, bad input."""

from __future__ import annotations

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hypothesis import given
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from dse.search.space import (
    Param,
    Space,
    SpaceError,
    override_string,
    param_from_override,
    params_from_config,
)


def cli(text: str) -> Param:
    return param_from_override(OverridesParser.create().parse_override(text))


def test_cli_sweeps_map_to_optuna_distributions() -> None:
    assert cli("algo.m=choice(8,16,32)").distribution == CategoricalDistribution((8, 16, 32))
    assert cli("algo.m=8,16").distribution == CategoricalDistribution((8, 16))
    # range excludes its stop, as in Python and Hydra's basic sweeper: 8, 16, ..., 56.
    assert cli("hw.banks=range(8,64,step=8)").distribution == IntDistribution(8, 56, step=8)
    assert cli("hw.clock=interval(0.5,2.0)").distribution == FloatDistribution(0.5, 2.0)
    assert cli("x=tag(log, interval(1e-3, 1))").distribution == FloatDistribution(1e-3, 1.0, log=True)
    assert cli("n=interval(1, 100)").distribution == FloatDistribution(1.0, 100.0)  # as Hydra: floats
    assert cli("n=int(interval(1, 100))").distribution == IntDistribution(1, 100)
    assert cli("f=range(1.0, 2.0, 0.25)").distribution == FloatDistribution(1.0, 1.75, step=0.25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hw.clock=interval(2.0, 0.5)", "empty or inverted"),
        ("hw.clock=interval(1.0, 1.0)", "empty or inverted"),
        ("hw.banks=range(8, 8)", "empty or inverted"),
        ("hw.banks=range(64, 8, step=8)", "empty or inverted"),
        ("x=tag(log, interval(0, 1))", "low bound > 0"),
        ("a=choice(1, 1, 2)", "twice"),
    ],
)
def test_bad_domains_are_one_line_errors_naming_the_parameter(text: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message) as err:
        cli(text)
    assert text.split("=")[0] in str(err.value)
    assert "\n" not in str(err.value)


@given(
    start=st.integers(-50, 50),
    length=st.integers(1, 200),
    step=st.integers(1, 17),
)
def test_int_range_holds_exactly_pythons_range(start: int, length: int, step: int) -> None:
    stop = start + length
    dist = cli(f"k=range({start},{stop},step={step})").distribution
    assert isinstance(dist, IntDistribution)
    assert list(range(dist.low, dist.high + 1, dist.step)) == list(range(start, stop, step))


def test_config_children_become_conditions() -> None:
    params = params_from_config(
        {
            "hw.banks": "range(8, 32, step=8)",
            "algo": {"sweep": "choice(pq, uniform)", "children": {"pq": {"algo.m": [8, 16]}}},
            "batch": {"sweep": "choice(1, 2)", "when": {"algo": "uniform"}},
        },
        is_group=lambda name: name == "algo",
    )
    by_name = {p.name: p for p in params}
    assert by_name["algo"].is_group and not by_name["hw.banks"].is_group
    assert by_name["algo.m"].when == {"algo": ("pq",)}
    assert by_name["algo.m"].distribution == CategoricalDistribution((8, 16))
    assert by_name["batch"].when == {"algo": ("uniform",)}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"a": {"values": "choice(1,2)"}}, "needs 'sweep'"),
        ({"a": "3"}, "single value"),
        ({"a": {"sweep": "choice(x, y)", "children": {"z": {"b": "choice(1,2)"}}}}, "not a choice"),
        ({"a": "choice(1,"}, "cannot parse"),
    ],
)
def test_bad_config_entries(spec: dict, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        params_from_config(spec)


def test_suggest_samples_only_params_whose_condition_holds() -> None:
    space = Space(
        tuple(
            params_from_config(
                {
                    "algo": {
                        "sweep": "choice(pq, uniform)",
                        "children": {
                            "pq": {"algo.m": "choice(8, 16)"},
                            "uniform": {"algo.bits": "choice(2, 4)"},
                        },
                    },
                },
                is_group=lambda name: name == "algo",
            )
        )
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        values = space.suggest(trial, base={})
        expected = {"algo", "algo.m"} if values["algo"] == "pq" else {"algo", "algo.bits"}
        assert set(values) == expected == set(trial.params)
        seen.add(values["algo"])
        study.tell(trial, 0.0)
    assert seen == {"pq", "uniform"}


def test_conditions_on_fixed_keys_use_the_base_config() -> None:
    space = Space((Param("algo.m", CategoricalDistribution((8, 16)), {"algo": ("pq",)}),))
    study = optuna.create_study()
    assert space.suggest(study.ask(), base={"algo": "uniform"}) == {}
    assert set(space.suggest(study.ask(), base={"algo": "pq"})) == {"algo.m"}


def test_conditions_inferred_from_which_option_has_the_key() -> None:
    space = Space(
        (
            Param("algo", CategoricalDistribution(("pq", "uniform", "fp16")), is_group=True),
            Param("algo.window", CategoricalDistribution((16, 32))),
            Param("algo.m", CategoricalDistribution((8, 16))),
        )
    )
    keys = {"pq": {"algo.window", "algo.m"}, "uniform": {"algo.window"}, "fp16": set()}
    resolved = space.resolve_conditions(lambda group, option, key: key in keys[option])
    assert resolved.get("algo.window").when == {"algo": ("pq", "uniform")}
    assert resolved.get("algo.m").when == {"algo": ("pq",)}
    with pytest.raises(SpaceError, match="unknown parameter 'algo.nope'"):
        space.with_params([Param("algo.nope", CategoricalDistribution((1,)))]).resolve_conditions(
            lambda group, option, key: key in keys[option]
        )


def test_command_line_params_replace_config_params_of_the_same_name() -> None:
    space = Space((Param("a", CategoricalDistribution((1, 2))), Param("b", CategoricalDistribution((3,)))))
    merged = space.with_params([cli("a=choice(5,6)"), cli("c=choice(7)")])
    assert merged.names == ("a", "b", "c")
    assert merged.get("a").distribution == CategoricalDistribution((5, 6))


def test_duplicate_names_and_forward_conditions_are_rejected() -> None:
    with pytest.raises(SpaceError, match="defined twice"):
        Space((Param("a", CategoricalDistribution((1,))), Param("a", CategoricalDistribution((2,)))))
    forward = Space(
        (Param("b", CategoricalDistribution((1,)), {"a": (1,)}), Param("a", CategoricalDistribution((1, 2))))
    )
    with pytest.raises(SpaceError, match="defined after"):
        forward.check_order()


@pytest.mark.parametrize("value", ["pq", "a b", "it's", 3, 2.5, True, None, "1e-3"])
def test_override_strings_parse_back_to_the_value(value: object) -> None:
    parsed = OverridesParser.create().parse_override(override_string("k", value)).value()
    assert parsed == value and type(parsed) is type(value)
