"""Read a stored study as a table: every trial with its params and metrics, its Pareto set, its
hypervolume, exported as Parquet and CSV.

    from dse.results.frames import load_frame
    df = load_frame("sqlite:///outputs/studies/pimdse-1a2b3c4d.db", "pimdse-1a2b3c4d")
    df[df.pareto][["accuracy_loss", "latency", "memory", "params.algo"]]

Columns: `number`, `state`, `duration_s`; one column per objective, named by the objective
(`accuracy_loss`, `latency`, `memory`); `params.<key>` per parameter; every metric the evaluation
returned, nested keys flattened with dots (`latency_s`, `accuracy.value`, `accuracy.unit`,
`breakdown.attention`, `kernels.attention.bound`); `constraint.<key>` (violation, <= 0 met);
`fail_reason` for failed trials; `feasible` (all constraints met); `pareto` (complete, feasible and
non-dominated among those).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from dse.search.objectives import Objective
from dse.search.pareto import hypervolume, nondominated_mask, reference_point, to_minimization
from dse.search.storage import make_storage, stored_objectives

PARAM_PREFIX = "params."


def load_study(storage: str, study_name: str) -> optuna.Study:
    """Open an existing study read-mostly (raises KeyError naming the study if it is missing)."""
    return optuna.load_study(study_name=study_name, storage=make_storage(storage))


def load_frame(storage: str, study_name: str) -> pd.DataFrame:
    """The study at `storage` as a DataFrame (see the module docstring for its columns)."""
    return trials_frame(load_study(storage, study_name))


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """Every trial of `study`, one row each, with objective, param, metric and Pareto columns."""
    objectives = stored_objectives(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        row["duration_s"] = t.duration.total_seconds() if t.duration is not None else np.nan
        for i, o in enumerate(objectives):
            row[o.name] = t.values[i] if t.values is not None else np.nan
        row.update({PARAM_PREFIX + k: v for k, v in t.params.items()})
        row.update(flatten(t.user_attrs))
        row.update({f"constraint.{k}": v for k, v in t.constraints.items()})
        row["feasible"] = t.state == optuna.trial.TrialState.COMPLETE and all(
            v <= 0 for v in t.constraints.values()
        )
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["number", "state", *(o.name for o in objectives), "feasible", "pareto"])
    df["pareto"] = pareto_mask(df, objectives)
    return df


def flatten(attrs: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to one level with dotted keys; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def pareto_mask(df: pd.DataFrame, objectives: Sequence[Objective]) -> np.ndarray:
    """Rows that are feasible, complete and non-dominated among the feasible complete rows."""
    mask = np.zeros(len(df), dtype=bool)
    ok = df["feasible"].to_numpy(dtype=bool)
    if ok.any():
        values = df.loc[ok, [o.name for o in objectives]].to_numpy(dtype=float)
        points = to_minimization(values, [o.direction for o in objectives])
        mask[np.flatnonzero(ok)[nondominated_mask(points)]] = True
    return mask


def pareto_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The Pareto rows of a trials frame."""
    return df[df["pareto"]]


def study_hypervolume(
    df: pd.DataFrame, objectives: Sequence[Objective], reference: Sequence[float] | None = None
) -> tuple[float, np.ndarray]:
    """Hypervolume of the feasible complete trials and the reference point used (minimised units).

    Without `reference`, the reference is just worse than the worst feasible trial; pass the same
    reference to compare two studies of one space.
    """
    ok = df["feasible"].to_numpy(dtype=bool) if len(df) else np.zeros(0, dtype=bool)
    values = df.loc[ok, [o.name for o in objectives]].to_numpy(dtype=float)
    points = to_minimization(values, [o.direction for o in objectives])
    if len(points) == 0:
        return 0.0, np.asarray(reference if reference is not None else [], dtype=float)
    ref = np.asarray(reference, dtype=float) if reference is not None else reference_point(points)
    return hypervolume(points, ref), ref


def export(df: pd.DataFrame, stem: Path) -> tuple[Path, Path]:
    """Write `df` as `<stem>.parquet` and `<stem>.csv`; list values become JSON text."""
    flat = df.copy()
    for col in flat.columns:
        if flat[col].dtype == object:
            flat[col] = flat[col].map(_cell)
    stem.parent.mkdir(parents=True, exist_ok=True)
    parquet, csv = stem.parent / f"{stem.name}.parquet", stem.parent / f"{stem.name}.csv"
    flat.to_parquet(parquet, index=False)
    flat.to_csv(csv, index=False)
    return parquet, csv


def _cell(v: Any) -> Any:
    """Object cells as one Parquet type: lists and dicts to JSON, everything else to text."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, list | dict):
        return json.dumps(v)
    return str(v)
