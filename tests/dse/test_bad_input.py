"""Bad input ends the sweep before any trial with one line on stderr and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load


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
        run_toy("hydra.sweeper.objectives=[latency,accuracy]")
    err = capsys.readouterr().err.strip()
    assert err == (
        "pimdse: error: study 'toy' exists with directions ['maximize', 'minimize', 'minimize'], "
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
