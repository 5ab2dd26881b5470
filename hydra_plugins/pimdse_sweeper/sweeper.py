"""The Hydra Sweeper: builds the space, opens the study, runs the ask-and-tell loop, reports.

Every check that can fail on bad input (unknown or misspelt parameters, empty ranges, bad storage
URL, a study with other objectives, unknown sampler) runs before the first trial and ends the run
with one line on stderr and exit status 2.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from dse.app.provenance import code_version
from dse.results.explorer.sources import record_study
from dse.results.study_report import report_dir, write_report
from dse.search.checks import ResultKeys, SweepChecks, check_result_keys, check_values, checks_of
from dse.search.claims import StudyClaims, worker_seed
from dse.search.executors import Executor, InProcess, LauncherExecutor, Pool
from dse.search.hwgrid import HwGrid
from dse.search.jobconfig import JobConfigs
from dse.search.ledger import Ledger, new_worker_id
from dse.search.loop import Scoring, SweepStats, run_sweep
from dse.search.objectives import Objective, ObjectiveError, parse_constraints, parse_objectives
from dse.search.samplers import make_sampler
from dse.search.space import Param, Space, SpaceError, param_from_override, params_from_config
from dse.search.storage import (
    StudyError,
    describe_storage,
    make_storage,
    open_study,
    sqlite_url,
    study_claims,
)

log = logging.getLogger(__name__)

EXECUTORS = ("inprocess", "launcher")


class PimdseSweeper(Sweeper):
    """Multi-objective Optuna search over Hydra configs (see hydra_plugins.pimdse_sweeper.config)."""

    def __init__(self, **settings: Any) -> None:
        self.settings = {k: _plain(v) for k, v in settings.items()}
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.config = config

    def sweep(self, arguments: list[str]) -> SweepStats:
        try:
            return self._sweep(arguments)
        except (SpaceError, ObjectiveError, StudyError) as err:
            print(f"pimdse: error: {err}", file=sys.stderr)
            sys.exit(2)

    def _sweep(self, arguments: list[str]) -> SweepStats:
        assert self.config is not None
        s = self.settings
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _check_settings(s)
        checks = checks_of(self.task_function)
        space, configs, grid, fixed = self._space(arguments, checks)
        objectives = parse_objectives(s["objectives"])
        scoring = Scoring(objectives, parse_constraints(s["constraints"]))
        if checks is not None:
            check_result_keys(_result_keys(checks, configs), scoring.objectives, scoring.constraints)

        grid_marks = ["hw_grid", *(p.describe() for p in grid.params)] if grid is not None else []
        study_name = s["study_name"] or default_study_name(space, objectives, [*fixed, *grid_marks])
        studies_dir = Path(self.config.hydra.runtime.cwd) / s["studies_dir"]
        storage_url = s["storage"] or sqlite_url(studies_dir / f"{study_name}.db")
        sampler = make_sampler(s["sampler"], s["seed"], space, s["sampler_options"], s["n_trials"])
        if s["validate_only"]:
            _log_plan(f"valid: study {study_name} in {describe_storage(storage_url)}", space, grid)
            return SweepStats()
        ledger, claims, index = self._join_study(storage_url, study_name, objectives, space, sampler)
        durable = ledger.durable
        version = code_version()
        # As Hydra's own sweepers do: the sweep's composed config, kept with its outputs.
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        record_study(sweep_dir, storage_url, study_name)  # so `pimdse-report <sweep dir>` finds the study
        _log_plan(
            f"study {study_name} in {describe_storage(storage_url)} ({version}), worker {index} "
            f"(sampler seed {worker_seed(s['seed'], index)})",
            space,
            grid,
        )
        executor = InProcess(grid.evaluate) if grid is not None else self._executor()
        try:
            stats = run_sweep(
                ledger, space, configs, executor, scoring, s["n_trials"], version, grid, s["skip_duplicates"]
            )
        finally:
            claims.close()
        log.info(
            "%d trials complete, %d failed, %d repeated configs skipped in %.1f s (%d trials in the study)",
            stats.completed,
            stats.failed,
            stats.duplicates,
            stats.seconds,
            len(durable.get_trials(deepcopy=False)),
        )
        if s["report"]:
            write_report(durable, storage_url, report_dir(storage_url, sweep_dir))
        return stats

    def _join_study(
        self,
        storage_url: str,
        study_name: str,
        objectives: Sequence[Objective],
        space: Space,
        sampler: optuna.samplers.BaseSampler,
    ) -> tuple[Ledger, StudyClaims, int]:
        """Open (or create) the study and register this worker: its start-order index among the
        study's workers picks its sampler seed (index 0 keeps `sampler`, seeded with `seed`)."""
        s = self.settings
        storage = make_storage(storage_url)
        durable = open_study(storage, study_name, objectives)
        worker_id = new_worker_id()
        claims = study_claims(storage, study_name)
        index = claims.register(worker_id)
        if index > 0:
            seed = worker_seed(s["seed"], index)
            sampler = make_sampler(s["sampler"], seed, space, s["sampler_options"], s["n_trials"])
        return Ledger(durable, sampler, claims, worker_id), claims, index

    def _space(
        self, arguments: list[str], checks: SweepChecks | None
    ) -> tuple[Space, JobConfigs, HwGrid | None, list[str]]:
        """The validated space, its job configs, the hardware grid (hw_grid) and fixed overrides.

        With the app's `checks`, the fixed overrides and every value the space can produce are
        validated too (dse.search.checks.check_values)."""
        assert self.hydra_context is not None and self.config is not None
        loader = self.hydra_context.config_loader

        def is_group(name: str) -> bool:
            return "." not in name and bool(loader.get_group_options(name))

        space, fixed = _space_from(self.settings.get("params"), arguments, loader, is_group)
        try:
            configs = JobConfigs(loader, self.config, space, fixed)
            configs.check_groups()
            space = space.resolve_conditions(configs.key_in_option)
            space.check_order()
            configs = JobConfigs(loader, self.config, space, fixed)
            configs.check_keys()
            if checks is not None:
                check_values(space, configs, checks)
        except HydraException as err:
            raise SpaceError(f"cannot compose the sweep's configs: {_first_line(err)}") from err
        grid = None
        if self.settings["hw_grid"]:
            # Imported here: the cost model and torch load only for pimdse's own hw_grid sweeps.
            from dse.app.point import score_hw_grid

            grid, space = HwGrid.split(space, score_hw_grid)
            configs = JobConfigs(loader, self.config, space, fixed)
        return space, configs, grid, fixed

    def _executor(self) -> Executor:
        assert self.hydra_context is not None and self.config is not None and self.task_function is not None
        n_jobs = self.settings["n_jobs"]
        if self.settings["executor"] == "launcher":
            launcher = Plugins.instance().instantiate_launcher(
                hydra_context=self.hydra_context, task_function=self.task_function, config=self.config
            )
            return LauncherExecutor(launcher, n_jobs)
        if n_jobs == 1:
            # Hydra sets its runtime config per job inside launchers; tasks run here see the sweep's.
            HydraConfig.instance().set_config(self.config)
            return InProcess(self.task_function)
        return Pool(self.task_function, n_jobs, self.config)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _result_keys(checks: SweepChecks, configs: JobConfigs) -> ResultKeys:
    """The keys of an evaluation of the sweep's base job config, as the app reports them."""
    try:
        return checks.result_keys(configs.config({}))
    except checks.errors as err:
        raise SpaceError(" ".join(str(err).split())) from err


def _log_plan(headline: str, space: Space, grid: HwGrid | None) -> None:
    log.info("%s", headline)
    for p in space.params:
        log.info("  %s", p.describe())
    if grid is not None:
        log.info("  hardware grid of %d points per algorithm point:", len(grid.points()))
        for p in grid.params:
            log.info("    %s", p.describe())


def _check_settings(s: dict[str, Any]) -> None:
    """Raise SpaceError (one line naming the setting) for a setting of the wrong kind."""
    if s["executor"] not in EXECUTORS:
        raise SpaceError(f"unknown executor '{s['executor']}': use one of {', '.join(EXECUTORS)}")
    for key in ("n_trials", "n_jobs"):
        if not _is_int(s[key]) or s[key] < 1:
            raise SpaceError(f"{key} must be a positive integer, got {s[key]!r}")
    if not _is_int(s["seed"]) or s["seed"] < 0:
        raise SpaceError(f"seed must be an integer >= 0, got {s['seed']!r}")
    for key in ("hw_grid", "skip_duplicates", "report", "validate_only"):
        if not isinstance(s[key], bool):
            raise SpaceError(f"{key} must be true or false, got {s[key]!r}")
    for key in ("sampler", "studies_dir"):
        if not isinstance(s[key], str) or not s[key]:
            raise SpaceError(f"{key} must be a name, got {s[key]!r}")
    for key in ("storage", "study_name"):
        if s[key] is not None and (not isinstance(s[key], str) or not s[key]):
            raise SpaceError(f"{key} must be null or a non-empty string, got {s[key]!r}")
    if s["sampler_options"] is not None and not isinstance(s["sampler_options"], dict):
        got = s["sampler_options"]
        raise SpaceError(f"sampler_options must be a mapping like {{population_size: 24}}, got {got!r}")
    for key in ("objectives", "constraints"):
        if not isinstance(s[key], list):
            raise SpaceError(f"{key} must be a list like [accuracy, latency], got {s[key]!r}")
    if s["hw_grid"] and (s["executor"] != "inprocess" or s["n_jobs"] != 1):
        raise SpaceError("hw_grid runs in the sweeper's process: use executor=inprocess and n_jobs=1")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _space_from(
    config_params: Any, arguments: list[str], loader: Any, is_group: Any
) -> tuple[Space, list[str]]:
    """The space (config params, replaced by command-line sweeps) and the fixed overrides."""
    parser = OverridesParser.create(config_loader=loader)
    try:
        overrides = parser.parse_overrides(arguments)
    except HydraException as err:
        raise SpaceError(f"cannot parse the command line: {_first_line(err)}") from err
    cli: list[Param] = []
    fixed: list[str] = []
    for o in overrides:
        if o.is_sweep_override():
            cli.append(param_from_override(o, is_group(o.get_key_element())))
        else:
            fixed.append(o.input_line)
    space = Space(tuple(params_from_config(config_params, is_group))).with_params(cli)
    if not space.params:
        raise SpaceError("nothing to sweep: give params in conf/space or sweeps like 'algo.bits=choice(2,4)'")
    fixed_keys = {f.split("=", 1)[0].lstrip("+~") for f in fixed}
    clash = fixed_keys & set(space.names)
    if clash:
        raise SpaceError(f"parameter '{sorted(clash)[0]}' is both fixed and swept on the command line")
    return space, fixed


def default_study_name(space: Space, objectives: Sequence[Objective], fixed: Sequence[str]) -> str:
    """`pimdse-<8 hex>`: the same space, objectives and fixed overrides give the same study."""
    text = "\n".join(
        [*(p.describe() for p in space.params), *(o.key + o.direction for o in objectives), *fixed]
    )
    return "pimdse-" + hashlib.sha256(text.encode()).hexdigest()[:8]
