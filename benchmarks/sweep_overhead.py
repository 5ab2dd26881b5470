"""Per-trial overhead of the sweep loop: pimdse's sweeper against Hydra's basic sweeper, same jobs.

Both sweep benchmarks/sweep_overhead_app.py (pimdse's conf/, a task that costs nothing) over
`workload.decode_steps = 1..N`: the basic sweeper as the cartesian sweep `range(1, N+1)`, pimdse's
as a grid search over the same values (N trials, NSGA-II would repeat points), every trial
persisted to its SQLite study (WAL, synchronous=FULL: each finished trial is fsynced).
Per-trial cost = (T(N_large) - T(N_small)) / (N_large - N_small), so process start-up, imports and
the end-of-sweep report cancel out. Also measured, as anchors: plain Optuna 5 ask-and-tell with
default SQLite storage, and pimdse through Hydra's basic launcher (executor=launcher).

    .venv/bin/python benchmarks/sweep_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "benchmarks" / "sweep_overhead_app.py"


def run_app(args: list[str], workdir: Path) -> float:
    """Wall time (s) of one `python sweep_overhead_app.py -m ...` process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(APP), "-m", f"hydra.sweep.dir={workdir / 'sweep'}", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return elapsed


def basic(n: int, workdir: Path) -> float:
    return run_app(["hydra/sweeper=basic", "~space", f"workload.decode_steps=range(1,{n + 1})"], workdir)


def pimdse(n: int, workdir: Path, *extra: str) -> float:
    return run_app(
        [
            "~space",
            f"workload.decode_steps=range(1,{n + 1})",
            "hydra.sweeper.sampler=grid",
            f"hydra.sweeper.n_trials={n}",
            "hydra.sweeper.report=false",
            "hydra.sweeper.objectives=[latency]",
            f"hydra.sweeper.studies_dir={workdir / 'studies'}",
            f"hydra.sweeper.study_name=bench{n}",
            *extra,
        ],
        workdir,
    )


def optuna_sqlite(n: int, workdir: Path) -> float:
    """Plain ask-and-tell, default RDB storage, one param and 12 user attrs a trial."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{workdir / f'plain{n}.db'}", directions=["minimize"])
    start = time.perf_counter()
    for _ in range(n):
        trial = study.ask()
        x = trial.suggest_int("decode_steps", 1, n)
        for k in range(12):
            trial.set_user_attr(f"m{k}", float(k))
        study.tell(trial, x * 1e-3)
    return time.perf_counter() - start


def per_trial_ms(fn, small: int, large: int, repeats: int) -> tuple[float, list[float]]:
    """Median over `repeats` of the slope (ms per trial) between sweeps of `small` and `large` trials."""
    slopes = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            a = fn(small, Path(tmp))
        with tempfile.TemporaryDirectory() as tmp:
            b = fn(large, Path(tmp))
        slopes.append((b - a) / (large - small) * 1e3)
    return statistics.median(slopes), slopes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, optuna {optuna.__version__}"
    )
    cases = [
        ("Hydra basic sweeper + basic launcher", lambda n, d: basic(n, d), 20, 120),
        ("pimdse sweeper, in-process (default)", lambda n, d: pimdse(n, d), 50, 550),
        (
            "pimdse sweeper, Hydra basic launcher",
            lambda n, d: pimdse(n, d, "hydra.sweeper.executor=launcher", "hydra.sweeper.n_jobs=16"),
            20,
            120,
        ),
        ("plain Optuna ask-and-tell, default SQLite", optuna_sqlite, 50, 250),
    ]
    print(f"{'case':<44} {'ms/trial':>9}   (slopes of {args.repeats} repeats)")
    for name, fn, small, large in cases:
        median, slopes = per_trial_ms(fn, small, large, args.repeats)
        print(f"{name:<44} {median:9.2f}   ({', '.join(f'{s:.2f}' for s in slopes)})", flush=True)


if __name__ == "__main__":
    main()
