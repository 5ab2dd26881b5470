"""The sweeper's settings, registered with Hydra as `hydra/sweeper: pimdse` (see docs/search.md)."""

# No `from __future__ import annotations`: Hydra executes plugin modules outside sys.modules,
# where dataclasses cannot resolve string annotations.
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class PimdseSweeperConf:
    """Settings under `hydra.sweeper`; conf/space/*.yaml fill `params` (and may set any other)."""

    _target_: str = "hydra_plugins.pimdse_sweeper.sweeper.PimdseSweeper"
    # nsga2 | tpe | gp | random | grid | qmc; sampler_options go to the Optuna sampler's constructor.
    sampler: str = "nsga2"
    sampler_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    # Names (accuracy, latency, memory, energy, context, area, power) or {name, key, direction, unit}.
    objectives: list[Any] = field(default_factory=lambda: ["accuracy", "latency", "memory"])
    # {key, equals|max|min} on the evaluation's keys; infeasible trials never enter the Pareto set.
    constraints: list[Any] = field(default_factory=lambda: [{"key": "fits", "equals": True}])
    # Finished trials the study should hold (all workers and runs count): reruns resume.
    n_trials: int = 20
    # Jobs at once: worker processes (executor=inprocess) or the launcher's batch size.
    n_jobs: int = 1
    # inprocess: run the task here / in spawned workers (fast); launcher: Hydra's launcher.
    executor: str = "inprocess"
    # SQLAlchemy URL (sqlite:///..., postgresql://...); null: <studies_dir>/<study_name>.db.
    storage: str | None = None
    # null: pimdse-<hash of the space, objectives and fixed overrides>, so a rerun resumes.
    study_name: str | None = None
    # Relative to the directory pimdse was started from.
    studies_dir: str = "outputs/studies"
    # Cost every combination of the hw.* params (finite domains) for each sampled algorithm point
    # in one vectorised hw call and keep its hardware front (pimdse app only; in-process).
    hw_grid: bool = False
    # Do not rerun a config the study already holds: tell the sampler its result, ask again.
    skip_duplicates: bool = True
    # Pareto table, hypervolume, HTML plot and Parquet/CSV export at the end of the sweep.
    report: bool = True
    params: dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/sweeper", name="pimdse", node=PimdseSweeperConf, provider="pimdse")
