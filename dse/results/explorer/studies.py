"""The studies of one report, read once: their trials, the objectives they share, Pareto sets over
those objectives, constraint breaches, running hypervolume and parameter importance.

Several studies are shown on the same axes, so the report's objectives are the ones every study
has (same key, direction and unit, in the first study's order); each study's Pareto set is taken
over those objectives among its own feasible complete trials.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from dse.results.explorer.sources import StudySource
from dse.results.frames import load_study, pareto_mask, trials_frame
from dse.results.labels import with_record_units
from dse.search.objectives import Objective
from dse.search.pareto import hypervolume, nondominated_mask, reference_point, to_minimization
from dse.search.storage import StudyError, describe_storage, stored_objectives

CONSTRAINT_PREFIX = "constraint."

MIN_TRIALS_FOR_IMPORTANCE = 5
"""Complete trials a study needs before parameter importance is shown (fewer say nothing)."""


@dataclass(frozen=True)
class StudyTrials:
    """One study as the report shows it: its trials frame (dse.results.frames) and objectives."""

    name: str
    storage: str
    study: optuna.Study
    df: pd.DataFrame
    objectives: tuple[Objective, ...]

    def count(self, state: str) -> int:
        return int((self.df["state"] == state).sum()) if len(self.df) else 0

    @property
    def n_infeasible(self) -> int:
        return int(((self.df["state"] == "COMPLETE") & ~self.df["feasible"]).sum()) if len(self.df) else 0


@dataclass(frozen=True)
class Report:
    """Every study of a report and the objectives they are compared on.

    `trials` holds the complete trials of all studies, one row each: `study` (index into
    `studies`), the trials-frame columns, `pareto` over `objectives` within the row's study, and
    `broke` (the constraints a trial violates, comma-separated; empty when feasible).
    """

    title: str
    studies: tuple[StudyTrials, ...]
    objectives: tuple[Objective, ...]
    trials: pd.DataFrame

    @property
    def params(self) -> list[str]:
        """The `params.<key>` columns of any study, in first-seen order."""
        return [c for c in self.trials.columns if c.startswith("params.")]


def load_report(sources: Sequence[StudySource], title: str | None = None) -> Report:
    """Read every study of `sources` (raises StudyError when they share no objective)."""
    studies = [study_trials(load_study(s.storage, s.study_name), s.storage) for s in sources]
    return build_report(studies, title)


def study_trials(study: optuna.Study, storage: str, df: pd.DataFrame | None = None) -> StudyTrials:
    """One study with its trials frame (`df`, when the caller already has it)."""
    df = trials_frame(study) if df is None else df
    objectives = tuple(with_record_units(df, stored_objectives(study)))
    return StudyTrials(study.study_name, describe_storage(storage), study, df, objectives)


def build_report(studies: Sequence[StudyTrials], title: str | None = None) -> Report:
    """The report of already loaded studies (see `load_report`)."""
    objectives = shared_objectives([s.objectives for s in studies], [s.name for s in studies])
    parts = []
    for index, s in enumerate(studies):
        complete = s.df[s.df["state"] == "COMPLETE"].copy() if len(s.df) else s.df.copy()
        complete.insert(0, "study", index)
        complete["pareto"] = pareto_mask(complete, objectives) if len(complete) else []
        complete["broke"] = broken_constraints(complete)
        parts.append(complete)
    trials = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if trials.empty:
        trials = pd.DataFrame(
            columns=["study", "number", "feasible", "pareto", "broke", *[o.name for o in objectives]]
        )
    names = ", ".join(s.name for s in studies)
    return Report(title or f"pimdse: {names}", tuple(studies), objectives, trials)


def shared_objectives(
    per_study: Sequence[Sequence[Objective]], names: Sequence[str]
) -> tuple[Objective, ...]:
    """The objectives (key, direction, unit) every study has, in the first study's order."""
    first, *rest = per_study
    shared = [o for o in first if all(any(_same(o, p) for p in other) for other in rest)]
    if not shared:
        listed = "; ".join(
            f"{n}: {', '.join(o.name for o in objs)}" for n, objs in zip(names, per_study, strict=True)
        )
        raise StudyError(f"the studies share no objective (same key, direction and unit): {listed}")
    return tuple(shared)


def _same(a: Objective, b: Objective) -> bool:
    return (a.key, a.direction, a.unit) == (b.key, b.direction, b.unit)


def broken_constraints(df: pd.DataFrame) -> list[str]:
    """Per row, the constraints it violates (`fits`, `power_w`), comma-separated; '' when none."""
    columns = [c for c in df.columns if c.startswith(CONSTRAINT_PREFIX)]
    out = []
    for _, row in df[columns].iterrows():
        out.append(", ".join(c[len(CONSTRAINT_PREFIX) :] for c in columns if pd.notna(row[c]) and row[c] > 0))
    return out


def minimised(df: pd.DataFrame, objectives: Sequence[Objective]) -> np.ndarray:
    """The objective columns of `df` as a minimisation matrix (maximised columns negated)."""
    return to_minimization(
        df[[o.name for o in objectives]].to_numpy(dtype=float), [o.direction for o in objectives]
    )


def nondomination_rank(points: np.ndarray) -> np.ndarray:
    """Pareto rank of each row (0: non-dominated, 1: non-dominated once those are removed, ...)."""
    rank = np.full(len(points), -1)
    left = np.arange(len(points))
    level = 0
    while len(left):
        front = nondominated_mask(points[left])
        rank[left[front]] = level
        left, level = left[~front], level + 1
    return rank


@dataclass(frozen=True)
class HypervolumeHistory:
    """Running hypervolume of each study, as a share of the box from the ideal to the reference point.

    `numbers[i]` and `shares[i]` belong to study i: after each finished trial (by trial number),
    the hypervolume of the feasible complete trials so far over the box's volume.
    """

    numbers: tuple[np.ndarray, ...]
    shares: tuple[np.ndarray, ...]
    reference: np.ndarray
    ideal: np.ndarray


def hypervolume_history(report: Report) -> HypervolumeHistory | None:
    """The running hypervolume of every study on one common reference point; None without a feasible trial."""
    feasible = report.trials[report.trials["feasible"].astype(bool)] if len(report.trials) else report.trials
    if feasible.empty:
        return None
    points = minimised(feasible, report.objectives)
    reference, ideal = reference_point(points), points.min(axis=0)
    box = float(np.prod(reference - ideal))
    numbers, shares = [], []
    for index, s in enumerate(report.studies):
        finished = s.df[s.df["state"].isin(["COMPLETE", "FAIL"])].sort_values("number") if len(s.df) else s.df
        mine = feasible[feasible["study"] == index]
        by_number = dict(zip(mine["number"], minimised(mine, report.objectives), strict=True))
        front = np.empty((0, len(report.objectives)))
        volume, values = 0.0, []
        for number in finished["number"] if len(finished) else []:
            point = by_number.get(number)
            if point is not None and not _weakly_dominated(point, front):
                front = np.vstack([front, point])
                volume = hypervolume(front, reference)
            values.append(volume / box if box > 0 else 0.0)
        numbers.append(finished["number"].to_numpy(dtype=int) if len(finished) else np.zeros(0, dtype=int))
        shares.append(np.asarray(values, dtype=float))
    return HypervolumeHistory(tuple(numbers), tuple(shares), reference, ideal)


def _weakly_dominated(point: np.ndarray, front: np.ndarray) -> bool:
    return bool(len(front)) and bool(np.any(np.all(front <= point, axis=1)))


@dataclass(frozen=True)
class Importance:
    """Parameter importance of one study per objective (PED-ANOVA, shares summing to 1), or why not."""

    by_objective: dict[str, dict[str, float]]
    note: str


def parameter_importance(s: StudyTrials, objectives: Sequence[Objective]) -> Importance:
    """Optuna's PED-ANOVA importance of each parameter for each objective of one study.

    PED-ANOVA needs no extra package (fANOVA needs scikit-learn). It reads the complete trials
    and the parameters every one of them has: conditional parameters (PQ's, only on PQ trials)
    are left out, and the note says so.
    """
    complete = s.count("COMPLETE")
    if complete < MIN_TRIALS_FOR_IMPORTANCE:
        needs = f"at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials ({complete} here)"
        return Importance({}, f"parameter importance needs {needs}")
    trials = s.study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    everywhere = set.intersection(*(set(t.params) for t in trials))
    varying = {p for p in everywhere if len({repr(t.params[p]) for t in trials}) > 1}
    if not varying:
        return Importance({}, "parameter importance: no parameter takes two values over every complete trial")
    indices = [i for i, o in enumerate(s.objectives) for c in objectives if _same(o, c)]
    by_objective: dict[str, dict[str, float]] = {}
    for i in indices:
        o = s.objectives[i]
        sign = -1.0 if o.direction == "maximize" else 1.0
        values = {t.values[i] for t in trials}
        if len(values) < 2:
            continue
        with warnings.catch_warnings():
            # PED-ANOVA warns that it ranks for low target values: the sign makes that the better ones.
            warnings.simplefilter("ignore")
            result = optuna.importance.get_param_importances(
                s.study,
                evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                params=sorted(varying),
                target=lambda t, i=i, sign=sign: sign * t.values[i],
            )
        by_objective[o.name] = {k: float(v) for k, v in result.items()}
    conditional = sorted({p for t in trials for p in t.params} - everywhere)
    note = f"left out (not set on every trial): {', '.join(conditional)}" if conditional else ""
    return Importance(by_objective, note)
