"""The sweeper's settings, registered with Hydra as `hydra/sweeper: pimdse` (see docs/search.md)."""

# No `from __future__ import annotations`: Hydra executes plugin modules outside sys.modules,
# where dataclasses cannot resolve string annotations.
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class PimdseSweeperConf:
    """Settings under `hydra.sweeper`; conf/space/*.yaml fill `params` (and may set any other).

    Settings are typed `Any` so that a value of the wrong type reaches the sweeper, which rejects it
    with one line naming the setting (Hydra's own type errors are multi-line).
    """

    _target_: str = "hydra_plugins.pimdse_sweeper.sweeper.PimdseSweeper"
    # nsga2 | tpe | gp | random | grid | qmc; sampler_options go to the Optuna sampler's constructor.
    sampler: Any = "nsga2"
    # null or a mapping: `hydra.sweeper.sampler_options={population_size:24}` (a null node takes a
    # whole mapping; a typed dict would refuse keys it does not already have).
    sampler_options: Any = None
    seed: Any = 0
    # Names (accuracy_loss, accuracy, latency, memory, energy, context, area, power, tokens_per_s,
    # tokens_per_j) or {name, key, direction, unit}. accuracy_loss minimises the proxy metric (the
    # calibrated loss increase, nats/token); accuracy maximises a higher-is-better metric.
    objectives: Any = field(default_factory=lambda: ["accuracy_loss", "latency", "memory"])
    # {key, equals|max|min} on the evaluation's keys; infeasible trials never enter the Pareto set.
    constraints: Any = field(default_factory=lambda: [{"key": "fits", "equals": True}])
    # Finished trials the study should hold (all workers and runs count): reruns resume.
    n_trials: Any = 20
    # Jobs at once: worker processes (executor=inprocess) or the launcher's batch size.
    n_jobs: Any = 1
    # inprocess: run the task here / in spawned workers (fast); launcher: Hydra's launcher.
    executor: Any = "inprocess"
    # SQLAlchemy URL (sqlite:///..., postgresql://...); null: <studies_dir>/<study_name>.db.
    storage: Any = None
    # null: pimdse-<hash of the space, objectives and fixed overrides>, so a rerun resumes.
    study_name: Any = None
    # Relative to the directory pimdse was started from.
    studies_dir: Any = "outputs/studies"
    # Cost every combination of the hw.* params (finite domains) for each sampled algorithm point
    # in one vectorised hw call and keep its hardware front (pimdse app only; in-process).
    hw_grid: Any = False
    # Do not rerun a config the study already holds (tell the sampler its result, ask again) or one
    # another worker has claimed (ask again); false also turns the claims off.
    skip_duplicates: Any = True
    # Pareto table, hypervolume, HTML plot and Parquet/CSV export at the end of the sweep.
    report: Any = True
    # Run every check (space, values, objective keys, sampler), print the plan, run no trial and open
    # no storage.
    validate_only: Any = False
    params: dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/sweeper", name="pimdse", node=PimdseSweeperConf, provider="pimdse")
