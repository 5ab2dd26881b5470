"""Bad input ends the sweep before any trial with one line on stderr and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load, toy_cli

from hydra_plugins.pimdse_sweeper.command_line import override_error


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "hw.bankz=choice(1,2)",
            "pimdse: error: unknown parameter 'hw.bankz': not a key of the composed config",
        ),
        ("algo.nope=choice(1,2)", "pimdse: error: unknown parameter 'algo.nope': no option of 'algo'"),
        (
            "space=flat",
            "pimdse: error: unknown parameter 'algo.bits': not a key of the composed config (with algo=pq)",
        ),
        (
            "hw.clock_ghz=interval(2,1)",
            "pimdse: error: parameter 'hw.clock_ghz': interval(2.0, 1.0) is empty or",
        ),
        ("hw.banks=range(8,8)", "pimdse: error: parameter 'hw.banks': range(8, 8) is empty or inverted"),
        ("algo=choice(pq,nope)", "pimdse: error: parameter 'algo': no config 'nope' in group algo"),
        ("hydra.sweeper.storage=notaurl", "pimdse: error: invalid storage URL 'notaurl'"),
        ("hydra.sweeper.storage=postgresql://u@127.0.0.1:1/db", "pimdse: error: cannot open storage"),
        ("hydra.sweeper.sampler=foo", "pimdse: error: unknown sampler 'foo'"),
        (
            "hydra.sweeper.sampler=grid",
            "pimdse: error: sampler 'grid': parameter 'hw.clock_ghz' is continuous",
        ),
        ("hydra.sweeper.objectives=[speed]", "pimdse: error: unknown objective 'speed'"),
        ("hydra.sweeper.n_trials=0", "pimdse: error: n_trials must be a positive integer"),
        ("hydra.sweeper.executor=ray", "pimdse: error: unknown executor 'ray'"),
        # Every value a sweep can produce is validated by the app's checks before any trial:
        # a fixed override, a choice, an interval's low bound, a range's low bound under the only
        # option its (inferred) condition applies to.
        ("hw.capacity_mib=-1", "pimdse: error: hw.capacity_mib=-1: must be > 0"),
        ("hw.banks=choice(8,-8)", "pimdse: error: hw.banks=-8: must be > 0"),
        ("hw.clock_ghz=interval(-1,2)", "pimdse: error: hw.clock_ghz=-1.0: must be > 0"),
        ("algo.n_centroids=range(1,9)", "pimdse: error: algo.n_centroids=1: must be >= 2"),
        # Objective and constraint keys are checked against the keys an evaluation returns.
        (
            "hydra.sweeper.constraints=[{key:fitz,equals:true}]",
            "pimdse: error: constraint fitz: no key 'fitz' in the evaluation (closest: fits)",
        ),
        (
            "hydra.sweeper.objectives=[accuracy,{key:latency_z,direction:minimize}]",
            "pimdse: error: objective latency_z: no key 'latency_z' in the evaluation (closest: latency_s)",
        ),
        # An objective against the metric's direction (the record's, known before scoring).
        (
            "hydra.sweeper.objectives=[accuracy,latency]",
            "pimdse: error: objective accuracy: proxy.metric toy_loss is lower-is-better: use objective "
            "accuracy_loss",
        ),
        (
            "toy.metric=score",
            "pimdse: error: objective accuracy_loss: proxy.metric toy_score is higher-is-better: "
            "use objective accuracy",
        ),
        # Settings of the wrong kind, bad sampler options, unusable storage.
        ("hydra.sweeper.sampler_options={popsize:3}", "pimdse: error: sampler 'nsga2': bad sampler_options"),
        ("hydra.sweeper.sampler_options=5", "pimdse: error: sampler_options must be a mapping"),
        ("hydra.sweeper.n_trials=abc", "pimdse: error: n_trials must be a positive integer, got 'abc'"),
        ("hydra.sweeper.report=maybe", "pimdse: error: report must be true or false, got 'maybe'"),
        ("hydra.sweeper.objectives=latency", "pimdse: error: objectives must be a list"),
        (
            "hydra.sweeper.storage=sqlite:////proc/no/x.db",
            "pimdse: error: cannot open storage 'sqlite:////proc/no/x.db': No such file or directory",
        ),
        (
            "hydra.sweeper.storage=sqlite:////proc/x.db",
            "pimdse: error: cannot open storage 'sqlite:////proc/x.db'",
        ),
    ],
)
def test_one_line_error_and_no_trial(run_toy, tmp_path: Path, capsys, override: str, message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_toy(override)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message)
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "studies" / "toy.db").exists() or load(tmp_path).get_trials() == []


def test_existing_study_with_other_directions(run_toy, tmp_path: Path, capsys) -> None:
    run_toy("hydra.sweeper.n_trials=2")
    with pytest.raises(SystemExit):
        run_toy("hydra.sweeper.objectives=[latency,context]")
    err = capsys.readouterr().err.strip()
    assert err == (
        "pimdse: error: study 'toy' exists with directions ['minimize', 'minimize', 'minimize'], "
        "this sweep needs ['minimize', 'maximize']: choose another study_name"
    )
    assert len(load(tmp_path).get_trials()) == 2


def test_existing_study_with_same_directions_other_objectives(run_toy, tmp_path: Path, capsys) -> None:
    run_toy("hydra.sweeper.objectives=[latency,memory]", "hydra.sweeper.n_trials=2")
    with pytest.raises(SystemExit):
        run_toy("hydra.sweeper.objectives=[latency,energy]", "hydra.sweeper.n_trials=4")
    assert "exists with objectives ['latency_s', 'kv_bytes']" in capsys.readouterr().err
    assert len(load(tmp_path).get_trials()) == 2


def test_a_parameter_both_fixed_and_swept(run_toy, capsys) -> None:
    with pytest.raises(SystemExit):
        run_toy("hw.banks=16", "hw.banks=choice(8,16)")
    assert "both fixed and swept" in capsys.readouterr().err


def test_values_under_a_conditional_child_are_validated_in_its_option(run_toy, capsys) -> None:
    """The toy space sweeps algo over pq, uniform and fp16; `algo.n_centroids` (replaced on the
    command line) applies under pq only, inferred from the configs: checked with algo=pq."""
    with pytest.raises(SystemExit) as exit_info:
        run_toy("algo.n_centroids=choice(8,0)")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "pimdse: error: algo.n_centroids=0: must be >= 2"


def test_a_directory_as_sqlite_file(run_toy, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        run_toy(f"hydra.sweeper.storage=sqlite:///{tmp_path}")
    assert capsys.readouterr().err.strip() == (
        f"pimdse: error: cannot open storage 'sqlite:///{tmp_path}': is a directory: {tmp_path}"
    )


def test_validate_only_runs_every_check_and_no_trial(run_toy, tmp_path: Path, capsys) -> None:
    assert run_toy("hydra.sweeper.validate_only=true").completed == 0
    assert not (tmp_path / "studies").exists()
    with pytest.raises(SystemExit):
        run_toy("hydra.sweeper.validate_only=true", "hw.banks=choice(8,0)")
    assert capsys.readouterr().err.strip() == "pimdse: error: hw.banks=0: must be > 0"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-m", "hw.banks=choice()"],
            "cannot parse 'hw.banks=choice()': ValueError while evaluating 'choice()': "
            "empty choice is not legal",
        ),
        (["-m", "x=choice(1,2"], "cannot parse 'x=choice(1,2': no viable alternative at input 'choice(1,2'"),
        (["-m", "--cfg", "job", "-cn", "config", "hw.banks=choice(1,2)", "~space", "+a=1"], None),
    ],
)
def test_malformed_overrides_are_named_on_one_line(argv: list[str], message: str | None) -> None:
    assert override_error(argv) == message


def test_malformed_override_on_the_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = toy_cli(tmp_path, "hw.banks=choice()")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip() == (
        "pimdse: error: cannot parse 'hw.banks=choice()': ValueError while evaluating 'choice()': "
        "empty choice is not legal"
    )
