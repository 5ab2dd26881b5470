"""Several worker processes on one study, and resuming after SIGKILL (real processes, real storage)."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
from conftest import load, study_db, toy_cli

from dse.search.executors import POOL_BROKE
from dse.search.ledger import ATTR_WORKER
from dse.search.storage import make_storage

TrialState = optuna.trial.TrialState
DONE = re.compile(r"(\d+) trials complete, (\d+) failed")


def run_workers(tmp_path: Path, n_workers: int, n_trials: int, *extra: str, study: str = "toy") -> list[int]:
    """Start `n_workers` sweeps of one study at once; return how many trials each says it ran."""
    procs = [
        toy_cli(tmp_path, f"hydra.sweeper.n_trials={n_trials}", "toy.sleep_s=0.05", *extra, study=study)
        for _ in range(n_workers)
    ]
    ran = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        done = DONE.search(out + err)
        assert done, (out + err)[-2000:]
        ran.append(int(done.group(1)) + int(done.group(2)))
    return ran


def check_no_loss_no_duplication(study: optuna.Study, ran: list[int], n_trials: int) -> None:
    trials = study.get_trials()
    # Every trial a worker ran is stored exactly once, numbered without gaps or repeats.
    assert len(trials) == sum(ran)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert sorted(Counter(t.user_attrs[ATTR_WORKER] for t in trials).values()) == sorted(ran)
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in trials)
    # The shared budget is met; each worker may overshoot by the one trial it had in flight.
    assert n_trials <= len(trials) <= n_trials + len(ran) - 1
    assert all(r > 0 for r in ran), "every worker took part"


def test_three_workers_share_one_sqlite_study(tmp_path: Path) -> None:
    ran = run_workers(tmp_path, 3, 24)
    check_no_loss_no_duplication(load(tmp_path), ran, 24)


def test_three_workers_share_one_postgresql_study(tmp_path: Path, pg_url: str) -> None:
    name = f"pimdse-test-{uuid.uuid4().hex[:8]}"
    try:
        ran = run_workers(tmp_path, 3, 24, f"hydra.sweeper.storage={pg_url}", study=name)
        check_no_loss_no_duplication(load(tmp_path, name, url=pg_url), ran, 24)
    finally:
        optuna.delete_study(study_name=name, storage=make_storage(pg_url))


def test_sigkill_then_rerun_keeps_every_finished_trial_and_leaves_none_running(tmp_path: Path) -> None:
    proc = toy_cli(tmp_path, "hydra.sweeper.n_trials=30", "toy.sleep_s=0.2")
    storage = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (tmp_path / "studies" / "toy.db").exists():
                storage = storage or make_storage(study_db(tmp_path))
                try:
                    if len(optuna.load_study(study_name="toy", storage=storage).get_trials()) >= 4:
                        break
                except KeyError:
                    pass
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    before = load(tmp_path).get_trials()
    assert 4 <= len(before) < 30
    assert not [t for t in before if t.state == TrialState.RUNNING]

    rerun = toy_cli(tmp_path, "hydra.sweeper.n_trials=30")
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err[-2000:]
    after = load(tmp_path).get_trials()
    assert len(after) == 30
    assert [(t.params, t.values, t.state) for t in after[: len(before)]] == [
        (t.params, t.values, t.state) for t in before
    ]
    assert not [t for t in after if t.state == TrialState.RUNNING]


def test_process_pool_worker_crash_fails_only_the_trials_in_flight(tmp_path: Path) -> None:
    """A worker dying mid-trial (os._exit in the task) breaks the pool: the trials it held fail
    with that reason, a fresh pool takes the rest, and the sweep finishes."""
    proc = toy_cli(
        tmp_path,
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.n_jobs=2",
        "+toy.exit_on_banks=24",
        "space=flat",
        "algo=uniform",
        "hw.banks=choice(16,24)",
        "algo.bits=choice(2,4,8)",
        "hydra.sweeper.sampler=grid",
    )
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    trials = load(tmp_path).get_trials()
    assert len(trials) == 6
    for t in trials:
        if t.params["hw.banks"] == 24:
            assert t.state == TrialState.FAIL
        if t.state == TrialState.FAIL:
            assert t.user_attrs["fail_reason"] == POOL_BROKE
    assert any(t.state == TrialState.COMPLETE for t in trials)
