"""Storage: the batched trial insert stores what Optuna's own code stores; SQLite in WAL mode."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from dse.search.objectives import parse_objectives
from dse.search.storage import StudyError, make_storage, open_study, sqlite_url

TrialState = optuna.trial.TrialState


def finished_trials() -> list[optuna.trial.FrozenTrial]:
    dists = {
        "algo": CategoricalDistribution(("pq", "uniform")),
        "banks": IntDistribution(8, 64, step=8),
        "clock": FloatDistribution(1e-3, 1.0, log=True),
    }
    done = optuna.trial.create_trial(
        values=[0.91, 1.5e-3, float("inf")],
        params={"algo": "uniform", "banks": 24, "clock": 0.0123},
        distributions=dists,
        user_attrs={
            "kernels": {"a": {"seconds": 1e-3, "bound": "memory_bw"}},
            "overrides": ["a=1"],
            "x": None,
        },
        system_attrs={"nsga2:generation": 3},
        constraints={"fits": 0.0, "power_w": 2.5},
    )
    failed = optuna.trial.create_trial(
        state=TrialState.FAIL,
        params={"algo": "pq"},
        distributions={"algo": dists["algo"]},
        user_attrs={"fail_reason": "ValueError: no"},
    )
    return [done, failed]


def fields(t: optuna.trial.FrozenTrial) -> tuple:
    return (
        t.number,
        t.state,
        t.values,
        t.params,
        t.distributions,
        t.user_attrs,
        t.system_attrs,
        t.constraints,
        t.datetime_start,
        t.datetime_complete,
    )


def test_batched_insert_round_trips_like_optunas_own(tmp_path: Path) -> None:
    objectives = parse_objectives(["accuracy", "latency", "memory"])
    ours = open_study(make_storage(sqlite_url(tmp_path / "ours.db")), "s", objectives)
    plain = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'plain.db'}",
        study_name="s",
        directions=[o.direction for o in objectives],
    )
    for t in finished_trials():
        ours.add_trial(t)
        plain.add_trial(t)
    reread = optuna.load_study(study_name="s", storage=make_storage(sqlite_url(tmp_path / "ours.db")))
    assert [fields(t) for t in reread.get_trials()] == [fields(t) for t in plain.get_trials()]
    assert reread.get_trials()[0].values[2] == float("inf")


def test_sqlite_studies_use_wal_journaling(tmp_path: Path) -> None:
    make_storage(sqlite_url(tmp_path / "w.db"))
    assert sqlite3.connect(tmp_path / "w.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "invalid storage URL 'notaurl'"),
        ("sqlite:///", "an SQLite study needs a file path"),
        ("sqlite:///:memory:", "an SQLite study needs a file path"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        make_storage(url)
