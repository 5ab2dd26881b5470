"""Where jobs run: in this process, in a pool of worker processes, or through a Hydra launcher.

All three take jobs one at a time (`submit`) and hand back finished ones (`wait`), so the sweep
loop is the same for each:
- InProcess runs the task function here, one job at a time (least overhead per trial);
- Pool runs up to n_jobs jobs in spawned worker processes and returns each as soon as it ends,
  so a free worker takes the next trial at once (asynchronous batches);
- Launcher hands batches of overrides to the configured Hydra launcher (basic, joblib, submitit,
  ray): per-job output dirs and remote machines, at Hydra's per-job cost; a batch is synchronous.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import importlib
import inspect
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobStatus
from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig, OmegaConf

TaskFunction = Callable[[DictConfig], Any]


@dataclass
class Job:
    """One trial's work: its overrides (for launchers) and its composed config.

    `cfg` is only valid until the next job is made (see dse.search.jobconfig); `container` is the same
    config as plain, unresolved containers, a snapshot safe to send to another process.
    """

    trial: Any  # optuna.Trial of the ledger's in-memory twin
    params: dict[str, Any]
    overrides: list[str]
    cfg: DictConfig
    container: dict[str, Any]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a job returned, or the one-line reason it failed."""

    result: Any = None
    error: str | None = None


class Executor(Protocol):
    capacity: int

    def submit(self, job: Job) -> None: ...

    def wait(self) -> list[tuple[Job, Outcome]]:
        """Block until at least one submitted job has finished; return all that have."""
        ...

    def close(self) -> None: ...


def _error_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_task(task: TaskFunction, cfg: DictConfig) -> Outcome:
    """Call the task function; an exception becomes a failed Outcome (the sweep goes on)."""
    try:
        return Outcome(result=task(cfg))
    except Exception as err:  # noqa: BLE001 - any evaluation error fails only its own trial
        return Outcome(error=_error_line(err))


class InProcess:
    """Runs each job here, at `wait`; the cheapest path, used by default."""

    capacity = 1

    def __init__(self, task: TaskFunction) -> None:
        self._task = task
        self._pending: list[Job] = []

    def submit(self, job: Job) -> None:
        self._pending.append(job)

    def wait(self) -> list[tuple[Job, Outcome]]:
        job = self._pending.pop(0)
        return [(job, run_task(self._task, job.cfg))]

    def close(self) -> None:
        self._pending.clear()


POOL_BROKE = "a worker process died (killed, out of memory or crashed) while this job was in flight"

_worker_task: TaskFunction | None = None


PR_SET_PDEATHSIG = 1
"""Linux prctl option: the signal this process gets when its parent dies (linux/prctl.h)."""

PARENT_POLL_S = 1.0
"""How often a worker's watchdog checks that the sweeper is still its parent (s)."""


def die_with_parent(parent_pid: int) -> None:
    """End this worker process when the sweeper (`parent_pid`) dies, even by SIGKILL.

    Linux: the kernel sends SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG). Everywhere: a
    daemon thread polls the parent pid, and a parent already gone before the call ends it at once.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="parent-watchdog").start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _init_worker(module: str, qualname: str, hydra_cfg: DictConfig, parent_pid: int) -> None:
    """Spawned worker: die with the sweeper; find the (undecorated) task function and Hydra's
    runtime config."""
    global _worker_task
    die_with_parent(parent_pid)
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    _worker_task = inspect.unwrap(obj)
    HydraConfig.instance().set_config(hydra_cfg)


def _run_in_worker(container: dict[str, Any]) -> Outcome:
    assert _worker_task is not None
    return run_task(_worker_task, OmegaConf.create(container))


class Pool:
    """Up to `n_jobs` spawned worker processes; each finished job is returned as soon as it ends.

    Spawned (not forked) workers: the parent may hold torch/OpenMP threads that a fork would copy
    in a locked state. The task function is found again in each worker by module and name. Workers
    die with the sweeper (die_with_parent); multiprocessing's resource tracker then sees its last
    user gone and exits too.
    """

    def __init__(self, task: TaskFunction, n_jobs: int, hydra_cfg: DictConfig) -> None:
        self.capacity = n_jobs
        module = task.__module__
        if module == "__main__":
            module = "__mp_main__"  # how a spawned child names the parent's main script
        self._initargs = (module, task.__qualname__, hydra_cfg, os.getpid())
        self._pool = self._new_pool()
        self._futures: dict[cf.Future[Outcome], Job] = {}
        self._failed: list[tuple[Job, Outcome]] = []

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=self._initargs,
        )

    def submit(self, job: Job) -> None:
        try:
            future = self._pool.submit(_run_in_worker, job.container)
        except cf.process.BrokenProcessPool:
            self._reset()
            future = self._pool.submit(_run_in_worker, job.container)
        self._futures[future] = job

    def wait(self) -> list[tuple[Job, Outcome]]:
        if self._failed:
            out, self._failed = self._failed, []
            return out
        done, _ = cf.wait(self._futures, return_when=cf.FIRST_COMPLETED)
        out = []
        broken = False
        for fut in done:
            job = self._futures.pop(fut)
            try:
                out.append((job, fut.result()))
            except cf.process.BrokenProcessPool:
                broken = True
                out.append((job, Outcome(error=POOL_BROKE)))
        if broken:
            self._reset()
            out, self._failed = out + self._failed, []
        return out

    def _reset(self) -> None:
        """Fail every job a broken pool held and start a fresh pool for the rest of the sweep.

        A worker killed by the OS (out of memory, a crash) breaks the whole pool, and which of the
        jobs in flight killed it is unknown, so all of them fail rather than risk rerunning it.
        """
        self._failed.extend((job, Outcome(error=POOL_BROKE)) for job in self._futures.values())
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class LauncherExecutor:
    """Batches of up to `n_jobs` jobs through Hydra's configured launcher."""

    def __init__(self, launcher: Launcher, n_jobs: int) -> None:
        self.capacity = n_jobs
        self._launcher = launcher
        self._pending: list[Job] = []
        self._next_idx = 0

    def submit(self, job: Job) -> None:
        self._pending.append(job)

    def wait(self) -> list[tuple[Job, Outcome]]:
        batch, self._pending = self._pending, []
        returns = self._launcher.launch([j.overrides for j in batch], initial_job_idx=self._next_idx)
        self._next_idx += len(batch)
        out = []
        for job, ret in zip(batch, returns, strict=True):
            if ret.status == JobStatus.COMPLETED:
                out.append((job, Outcome(result=ret.return_value)))
            else:
                err = ret._return_value
                reason = _error_line(err) if isinstance(err, BaseException) else f"job failed: {err!r}"
                out.append((job, Outcome(error=reason)))
        return out

    def close(self) -> None:
        self._pending.clear()
