"""A durable study written once per finished trial, with an in-memory twin the sampler works on.

Optuna's ask-and-tell on an RDB study costs one transaction per parameter, per user attribute and
per state change (tens of ms a trial with SQLite). Here the sampler asks and is told on an
in-memory study; each finished trial (params, values, every metric, constraints, sampler state)
is then added to the durable study whole, in one transaction. Consequences, by design:
- a killed sweep leaves no trial RUNNING in storage: a trial is stored finished or not at all, and
  a restarted sweep continues from every stored trial;
- several workers share one durable study: before each ask a worker copies the trials the others
  finished into its twin, so the sampler sees them; storage numbers every trial exactly once;
- with claims (dse.search.claims), a worker claims a config in the study's database before running
  it; a config another worker claimed first (running or finished) is not run again.
The cost is that a trial still running in one worker is invisible to the others (and to
optuna-dashboard) until it finishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from dse.search.claims import StudyClaims

ATTR_WORKER = "pimdse.worker"
"""User attribute: the id of the worker process that ran the trial."""

ATTR_FAIL_REASON = "fail_reason"
"""User attribute of a FAILED trial: one line saying why."""

ATTR_CONFIG_HASH = "config_hash"
"""User attribute: the hash of the trial's job config (dse.search.jobconfig.config_hash)."""

ATTR_SAMPLED_HASH = "hw_grid.sampled_config_hash"
"""User attribute of a hardware-grid trial: the config hash of the algorithm point the sampler
proposed (before its hardware grid was expanded); repeats are detected on it."""

ATTR_FRONT_RANK = "hw_grid.rank"
"""User attribute of a hardware-grid trial: its place in its algorithm point's hardware front.
Rank 0 is the trial the sampler asked for; only those count towards n_trials."""

FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


class Ledger:
    """The durable study plus this worker's in-memory twin (same directions and sampler)."""

    def __init__(
        self,
        durable: optuna.Study,
        sampler: optuna.samplers.BaseSampler,
        claims: StudyClaims | None = None,
        worker_id: str | None = None,
    ) -> None:
        """`claims`: the study's claim table shared with other workers (None: this worker alone)."""
        self.durable = durable
        self.worker_id = worker_id or new_worker_id()
        self._claims = claims
        self.local = optuna.create_study(directions=durable.directions, sampler=sampler)
        self._mirrored: set[int] = set()
        self._by_hash: dict[str, optuna.trial.FrozenTrial] = {}
        self._count = 0

    def sync(self) -> int:
        """Copy trials other workers finished into the twin; return the study's finished count
        (hardware-front trials count once per algorithm point).

        One query for the trials stored since the last sync (~1 ms with SQLite).
        """
        trials = self.durable.get_trials(deepcopy=False, states=FINISHED)
        missing = len(trials) - len(self._mirrored)
        # Trials are stored finished, so new ones carry the highest numbers: scan from the end
        # until every unseen trial is found (O(new trials), not O(study)).
        new = []
        for t in reversed(trials):
            if len(new) == missing:
                break
            if t.number not in self._mirrored:
                new.append(t)
        for t in reversed(new):  # oldest first, as stored
            self._mirrored.add(t.number)
            self._count += t.user_attrs.get(ATTR_FRONT_RANK, 0) == 0
            # Trials this worker recorded are already in the twin, told there before being stored.
            if t.user_attrs.get(ATTR_WORKER) != self.worker_id:
                self.local.add_trial(t)
                self._remember(t)
        return self._count

    def ask(self) -> optuna.Trial:
        return self.local.ask()

    def seen(self, config_hash: str) -> optuna.trial.FrozenTrial | None:
        """The first finished trial of the study with this config hash, if any."""
        return self._by_hash.get(config_hash)

    def skip_duplicate(self, trial: optuna.Trial, earlier: optuna.trial.FrozenTrial) -> None:
        """Answer a repeated proposal in the twin with the stored result; store nothing."""
        for key, violation in earlier.constraints.items():
            trial.set_constraint(key, violation)
        self.local.tell(
            trial, earlier.values if earlier.state == TrialState.COMPLETE else None, state=earlier.state
        )

    def claim(self, config_hash: str) -> bool:
        """True when this worker may run the config: no other worker (nor this one) claimed it."""
        return self._claims is None or self._claims.claim(config_hash, self.worker_id)

    def skip_claimed(self, trial: optuna.Trial) -> None:
        """Drop a proposal another worker claimed: told FAILED in the twin only, stored nowhere, so
        the sampler moves on; the other worker's result reaches the twin when it is stored."""
        self.local.tell(trial, None, state=TrialState.FAIL)

    def _remember(self, trial: optuna.trial.FrozenTrial) -> None:
        key = trial.user_attrs.get(ATTR_SAMPLED_HASH, trial.user_attrs.get(ATTR_CONFIG_HASH))
        if key is not None and key not in self._by_hash:
            self._by_hash[key] = trial

    def exhausted(self) -> bool:
        """True when the sampler has nothing left to propose (a finished grid)."""
        is_exhausted = getattr(self.local.sampler, "is_exhausted", None)
        return bool(is_exhausted and is_exhausted(self.local))

    def complete(
        self,
        trial: optuna.Trial,
        values: list[float],
        attrs: Mapping[str, Any],
        constraints: Mapping[str, float],
    ) -> None:
        """Tell the twin and store the trial COMPLETE, with `attrs` as user attributes and its
        constraint violations (<= 0 feasible) where Optuna's samplers and best_trials read them."""
        for key, violation in constraints.items():
            trial.set_constraint(key, violation)
        self._finish(trial, TrialState.COMPLETE, values, attrs)

    def fail(self, trial: optuna.Trial, reason: str, attrs: Mapping[str, Any] | None = None) -> None:
        """Tell the twin and store the trial FAILED, with `reason` kept as a user attribute."""
        self._finish(trial, TrialState.FAIL, None, {**(attrs or {}), ATTR_FAIL_REASON: reason})

    def _finish(
        self, trial: optuna.Trial, state: TrialState, values: list[float] | None, attrs: Mapping[str, Any]
    ) -> None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        trial.set_user_attr(ATTR_WORKER, self.worker_id)
        frozen = self.local.tell(trial, values, state=state)
        self.durable.add_trial(frozen)
        self._remember(frozen)

    def complete_front(
        self,
        trial: optuna.Trial,
        entries: Sequence[FrontEntry],
        hw_distributions: Mapping[str, optuna.distributions.BaseDistribution],
    ) -> None:
        """Store one algorithm point's hardware front: one trial per entry, with the entry's
        hardware params added. The twin is told the first entry and given the others with the
        algorithm params only, so the sampler sees the whole front of the point it proposed."""
        first = entries[0]
        for key, violation in first.violations.items():
            trial.set_constraint(key, violation)
        trial.set_user_attr(ATTR_SAMPLED_HASH, first.attrs[ATTR_SAMPLED_HASH])
        frozen = self.local.tell(trial, first.values)
        self._remember(frozen)
        sampler_attrs = {k: v for k, v in frozen.system_attrs.items() if not k.startswith("constraints")}
        for rank, e in enumerate(entries):
            attrs = {**e.attrs, ATTR_WORKER: self.worker_id, ATTR_FRONT_RANK: rank}
            self.durable.add_trial(
                optuna.trial.create_trial(
                    values=e.values,
                    params={**frozen.params, **e.hw_values},
                    distributions={**frozen.distributions, **hw_distributions},
                    user_attrs=attrs,
                    system_attrs=dict(sampler_attrs),
                    constraints=dict(e.violations),
                )
            )
            if rank > 0:
                self.local.add_trial(
                    optuna.trial.create_trial(
                        values=e.values,
                        params=frozen.params,
                        distributions=frozen.distributions,
                        user_attrs=attrs,
                        system_attrs=dict(sampler_attrs),
                        constraints=dict(e.violations),
                    )
                )


def new_worker_id() -> str:
    """A fresh random id for one worker process (12 hex digits)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class FrontEntry:
    """One hardware point of a front: its hardware values, objective values, metrics, violations."""

    hw_values: Mapping[str, Any]
    values: list[float]
    attrs: Mapping[str, Any]
    violations: Mapping[str, float]
