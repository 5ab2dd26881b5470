"""Several worker processes on one study, and resuming after SIGKILL (real processes, real storage)."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
from conftest import load, study_db, toy_cli

from dse.search.executors import POOL_BROKE
from dse.search.ledger import ATTR_WORKER
from dse.search.storage import make_storage

TrialState = optuna.trial.TrialState
DONE = re.compile(r"(\d+) trials complete, (\d+) failed")


def run_workers(tmp_path: Path, n_workers: int, n_trials: int, *extra: str, study: str = "toy") -> list[int]:
    """Start `n_workers` sweeps of one study at once; return how many trials each says it ran."""
    return [ran for ran, _ in run_workers_logs(tmp_path, n_workers, n_trials, *extra, study=study)]


def run_workers_logs(
    tmp_path: Path, n_workers: int, n_trials: int, *extra: str, study: str = "toy"
) -> list[tuple[int, str]]:
    """Like run_workers, with each worker's log."""
    procs = [
        toy_cli(tmp_path, f"hydra.sweeper.n_trials={n_trials}", "toy.sleep_s=0.05", *extra, study=study)
        for _ in range(n_workers)
    ]
    out_logs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        done = DONE.search(out + err)
        assert done, (out + err)[-2000:]
        out_logs.append((int(done.group(1)) + int(done.group(2)), out + err))
    return out_logs


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


# 2 x 2 hardware points x 17 algorithm points = 68 configs: workers drawing from one seed stream
# would propose the same first generation.
DISCRETE_SPACE = ("hw.banks=choice(8,16)", "hw.clock_ghz=choice(1.0,2.0)")
WORKER = re.compile(r"worker (\d+) \(sampler seed (\d+)\)")


def check_four_workers_evaluate_no_configuration_twice(tmp_path: Path, *extra: str, study: str) -> None:
    logs = run_workers_logs(tmp_path, 4, 40, *DISCRETE_SPACE, *extra, study=study)
    url = next((e.split("=", 1)[1] for e in extra if e.startswith("hydra.sweeper.storage=")), None)
    trials = load(tmp_path, study, url=url).get_trials()
    check_no_loss_no_duplication(load(tmp_path, study, url=url), [ran for ran, _ in logs], 40)
    hashes = [t.user_attrs["config_hash"] for t in trials]
    assert len(set(hashes)) == len(hashes), "a configuration was evaluated twice"
    # Workers are numbered 0..3 in start order, each with its own seed; worker 0 keeps the study's.
    workers = sorted(
        (int(m.group(1)), int(m.group(2))) for m in (WORKER.search(text) for _, text in logs) if m
    )
    assert [i for i, _ in workers] == [0, 1, 2, 3]
    assert workers[0][1] == 0 and len({seed for _, seed in workers}) == 4


def test_four_workers_on_one_sqlite_study_evaluate_no_configuration_twice(tmp_path: Path) -> None:
    check_four_workers_evaluate_no_configuration_twice(tmp_path, study="toy")


def test_four_workers_on_one_postgresql_study_evaluate_no_configuration_twice(
    tmp_path: Path, pg_url: str
) -> None:
    name = f"pimdse-test-{uuid.uuid4().hex[:8]}"
    try:
        check_four_workers_evaluate_no_configuration_twice(
            tmp_path, f"hydra.sweeper.storage={pg_url}", study=name
        )
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


def children_of(pid: int) -> list[int]:
    """Pids of the live processes whose parent is `pid` (from /proc; Linux)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_of_a_pool_sweep_leaves_no_worker_or_resource_tracker(tmp_path: Path) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to list a process's children")
    proc = toy_cli(tmp_path, "hydra.sweeper.n_trials=200", "hydra.sweeper.n_jobs=2", "toy.sleep_s=0.5")
    try:
        deadline = time.monotonic() + 120
        children: list[int] = []
        # Two pool workers and multiprocessing's resource tracker.
        while time.monotonic() < deadline and len(children) < 3:
            time.sleep(0.2)
            children = children_of(proc.pid)
        assert len(children) >= 3, f"pool never started: children {children}"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(c) for c in children):
            time.sleep(0.2)
        assert [c for c in children if alive(c)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
