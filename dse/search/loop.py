"""The ask-and-tell loop: keep every executor slot busy until the study holds n_trials trials.

`n_trials` counts the finished trials of the durable study (all workers, all runs), so re-running a
sweep that was killed finishes the remaining ones, and several workers share one budget (each may
overshoot it by the trials it has in flight when another worker fills it).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import TrialState

from dse.search.executors import Executor, Job, Outcome
from dse.search.hwgrid import GridPoint, HwGrid, front
from dse.search.jobconfig import JobConfigs, config_hash
from dse.search.ledger import ATTR_CONFIG_HASH, ATTR_SAMPLED_HASH, FrontEntry, Ledger
from dse.search.objectives import (
    Constraint,
    Objective,
    ObjectiveDirectionError,
    ObjectiveError,
    lookup,
    objective_values,
)
from dse.search.progress import SweepProgress, is_terminal
from dse.search.space import Space, Value, override_string
from dse.units import format_number

log = logging.getLogger(__name__)

ATTR_CODE_VERSION = "code_version"
ATTR_OVERRIDES = "overrides"


@dataclass
class SweepStats:
    """What one run of the loop did; `seconds` is wall time of the loop (s)."""

    completed: int = 0
    failed: int = 0
    duplicates: int = 0  # proposals of a config evaluated or claimed before, not run again
    seconds: float = 0.0


MAX_DUPLICATE_STREAK = 200
"""Proposals in a row of already-evaluated configs after which the space counts as exhausted."""


@dataclass(frozen=True)
class Scoring:
    """Turns an evaluation into objective values and user attributes."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]

    def attrs(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """Every top-level metric (nested dicts kept whole) and each objective's key, flat."""
        attrs = {str(k): v for k, v in jsonable(result).items()}
        for o in self.objectives:
            attrs[o.key] = lookup(attrs, o.key)
        return attrs

    def violations(self, attrs: Mapping[str, Any]) -> dict[str, float]:
        """Constraint key -> violation (<= 0 feasible), Optuna's constraint convention."""
        return {c.key: c.violation(attrs) for c in self.constraints}


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types (numpy scalars and arrays become floats and lists)."""
    return json.loads(json.dumps(value, default=_to_builtin))


def _to_builtin(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def run_sweep(
    ledger: Ledger,
    space: Space,
    configs: JobConfigs,
    executor: Executor,
    scoring: Scoring,
    n_trials: int,
    code_version: str,
    grid: HwGrid | None = None,
    skip_duplicates: bool = True,
) -> SweepStats:
    """Ask, run and record trials until the durable study holds `n_trials` finished trials.

    With a hardware `grid`, the executor's task returns the grid's GridPoints for each sampled
    algorithm point, and its hardware front is stored (n_trials counts algorithm points).
    With `skip_duplicates`, a proposed config the study already holds (same config hash) is not
    run again: the sampler is told the stored result and asked for another point, so small
    discrete spaces do not spend the budget on repeats; a config another worker has claimed (still
    running there) is dropped and the sampler asked again.
    """
    stats = SweepStats()
    start = time.perf_counter()
    base = configs.base_values()
    in_flight = 0
    streak = 0
    try:
        finished = ledger.sync()
        directions = [o.direction for o in scoring.objectives]
        feasible = TwinFront(ledger.local)
        terminal = is_terminal(sys.stdout, sys.stderr)
        with SweepProgress(n_trials, finished, directions, feasible, interactive=terminal) as progress:
            while True:
                finished = ledger.sync()
                progress.update(finished, stats.failed)
                while (
                    in_flight < executor.capacity
                    and finished + in_flight < n_trials
                    and streak < MAX_DUPLICATE_STREAK
                    and not ledger.exhausted()
                ):
                    job = _make_job(ledger, space, configs, base, code_version)
                    if isinstance(job, str):
                        stats.failed += 1
                        finished += 1
                        progress.update(finished, stats.failed)
                        continue
                    if skip_duplicates and _already_taken(ledger, job):
                        stats.duplicates += 1
                        streak += 1
                        continue
                    streak = 0
                    executor.submit(job)
                    in_flight += 1
                if in_flight == 0:
                    if streak >= MAX_DUPLICATE_STREAK:
                        log.warning(
                            "the sampler proposed only evaluated configs %d times in a row: stopping", streak
                        )
                    break
                for job, outcome in executor.wait():
                    in_flight -= 1
                    if grid is not None and outcome.error is None:
                        ok = _record_front(ledger, scoring, job, outcome.result, grid)
                    else:
                        ok = _record(ledger, scoring, job, outcome)
                    stats.completed += ok
                    stats.failed += not ok
                    finished += 1
                    progress.update(finished, stats.failed)
    finally:
        executor.close()
        stats.seconds = time.perf_counter() - start
    return stats


class TwinFront:
    """The objective values of the feasible trials the ledger's twin finished since the last call:
    this worker's, other workers' and earlier runs' (the twin holds them all), for the progress
    bar's hypervolume. One pass over the twin's trials a call (~0.1 ms per 1,000)."""

    def __init__(self, twin: optuna.Study) -> None:
        self._twin = twin
        self._seen: set[int] = set()

    def __call__(self) -> list[list[float]]:
        new = []
        for t in self._twin.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if t.number in self._seen:
                continue
            self._seen.add(t.number)
            if all(v <= 0 for v in t.constraints.values()):
                new.append(t.values)
        return new


def _already_taken(ledger: Ledger, job: Job) -> bool:
    """Answer a proposal of a config evaluated or claimed before without running it; True if so."""
    config = job.attrs[ATTR_CONFIG_HASH]
    earlier = ledger.seen(config)
    if earlier is not None:
        ledger.skip_duplicate(job.trial, earlier)
        return True
    if not ledger.claim(config):
        ledger.skip_claimed(job.trial)
        return True
    return False


def _make_job(
    ledger: Ledger, space: Space, configs: JobConfigs, base: Mapping[str, Value], code_version: str
) -> Job | str:
    """A job for the next trial, or (after failing the trial) the reason it could not be built."""
    trial = ledger.ask()
    params = space.suggest(trial, base)
    overrides = configs.overrides(params)
    attrs: dict[str, Any] = {ATTR_OVERRIDES: overrides, ATTR_CODE_VERSION: code_version}
    try:
        cfg = configs.config(params)
    except Exception as err:  # noqa: BLE001 - a config Hydra cannot build fails this trial only
        reason = f"cannot build the job config: {type(err).__name__}: {str(err).splitlines()[0]}"
        ledger.fail(trial, reason, attrs)
        log.warning("trial %s failed: %s", " ".join(overrides), reason)
        return reason
    container = OmegaConf.to_container(cfg, resolve=False)
    attrs[ATTR_CONFIG_HASH] = config_hash(container)
    return Job(trial, params, overrides, cfg, container, attrs)


def _record(ledger: Ledger, scoring: Scoring, job: Job, outcome: Outcome) -> bool:
    """Store the job's trial COMPLETE or FAILED (with its reason); True when complete."""
    label = " ".join(job.overrides)
    if outcome.error is not None:
        ledger.fail(job.trial, outcome.error, job.attrs)
        log.warning("trial [%s] failed: %s", label, outcome.error)
        return False
    if not isinstance(outcome.result, Mapping):
        reason = f"the task returned {type(outcome.result).__name__}, not a dict of metrics"
        ledger.fail(job.trial, reason, job.attrs)
        log.warning("trial [%s] failed: %s", label, reason)
        return False
    try:
        attrs = scoring.attrs(outcome.result)
        values = objective_values(attrs, scoring.objectives)
    except ObjectiveDirectionError:
        raise
    except (ObjectiveError, TypeError, ValueError) as err:
        ledger.fail(job.trial, str(err), job.attrs)
        log.warning("trial [%s] failed: %s", label, err)
        return False
    ledger.complete(job.trial, values, {**job.attrs, **attrs}, scoring.violations(attrs))
    log.info("trial [%s]: %s", label, format_values(scoring.objectives, values, attrs))
    return True


def _record_front(ledger: Ledger, scoring: Scoring, job: Job, points: list[GridPoint], grid: HwGrid) -> bool:
    """Store the hardware front of one algorithm point; FAILED when no grid point could be scored."""
    label = " ".join(job.overrides)
    chosen = front(points, scoring)
    if not chosen:
        reason = f"no point of the {len(points)}-point hardware grid has readable objectives"
        ledger.fail(job.trial, reason, job.attrs)
        log.warning("trial [%s] failed: %s", label, reason)
        return False
    entries = []
    for point, values, violations in chosen:
        attrs = {**job.attrs, **scoring.attrs(point.result)}
        attrs[ATTR_OVERRIDES] = job.overrides + [override_string(k, v) for k, v in point.hw_values.items()]
        attrs[ATTR_SAMPLED_HASH] = job.attrs[ATTR_CONFIG_HASH]
        attrs[ATTR_CONFIG_HASH] = config_hash({"sampled": job.attrs[ATTR_CONFIG_HASH], "hw": point.hw_values})
        entries.append(FrontEntry(point.hw_values, values, attrs, violations))
    ledger.complete_front(job.trial, entries, grid.distributions())
    log.info("trial [%s]: hardware front of %d of %d points", label, len(entries), len(points))
    return True


def format_values(objectives: Sequence[Objective], values: Sequence[float],
                  result: Mapping[str, Any] | None = None) -> str:
    """`accuracy_loss=0.0123 nats/token latency=1.23e-03s memory=4.1e+08B` for logs: an objective
    without a unit of its own reading `X.value` takes the record's `X.unit` when `result` has one."""
    parts = []
    for o, v in zip(objectives, values, strict=True):
        unit = o.unit
        if not unit and result is not None and o.key.endswith(".value"):
            record_unit = lookup(result, o.key[: -len(".value")] + ".unit")
            unit = f" {record_unit}" if record_unit else ""
        parts.append(f"{o.name}={format_number(v)}{unit}")
    return " ".join(parts)
