"""Stored studies for the report's tests, written with Optuna directly (no sweep): each trial as
pimdse's sweeper stores it (objective values, params, the accuracy record, overrides, the `fits`
constraint), so the report reads them as it reads a real sweep. A `costed` trial carries the cost
model's whole evaluation of its config (kernels, device roofs, KV split: what the per-point figures
draw), its latency and KV bytes included; the others carry the values given."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

import hw
from dse.app.compose import compose_cached
from dse.search.loop import jsonable
from dse.search.objectives import lookup, parse_objectives
from dse.search.storage import STUDY_ATTR_OBJECTIVES, make_storage, objectives_attr, sqlite_url

OBJECTIVES = parse_objectives(["accuracy_loss", "latency", "memory"])
STACKS = CategoricalDistribution([4, 8])
ALGOS = CategoricalDistribution(["pq", "uniform"])


@dataclass(frozen=True)
class Trial:
    """One stored trial: loss (nats/token), latency (s), KV bytes; `fits` False breaks the constraint."""

    loss: float = 0.0
    latency_s: float = 0.0
    kv_bytes: float = 0.0
    stacks: int = 8
    algo: str = "pq"
    fits: bool = True
    state: TrialState = TrialState.COMPLETE
    fail_reason: str = ""
    costed: bool = False
    extra: dict = field(default_factory=dict)


def make_study(tmp_path: Path, name: str, trials: list[Trial], objectives=OBJECTIVES) -> str:
    """An SQLite study file `<tmp_path>/<name>.db` holding `trials`; returns its URL."""
    url = sqlite_url(tmp_path / f"{name}.db")
    study = optuna.create_study(
        storage=make_storage(url), study_name=name, directions=[o.direction for o in objectives]
    )
    study.set_user_attr(STUDY_ATTR_OBJECTIVES, objectives_attr(objectives))
    for t in trials:
        study.add_trial(frozen(t, objectives))
    return url


def frozen(t: Trial, objectives=OBJECTIVES) -> optuna.trial.FrozenTrial:
    params = {"hw.pim.stacks": t.stacks, "algo": t.algo}
    overrides = [f"algo={t.algo}", f"hw.pim.stacks={t.stacks}"]
    attrs = {
        "latency_s": t.latency_s,
        "kv_bytes": t.kv_bytes,
        "fits": t.fits,
        "accuracy": {
            "name": "loss_increase_est",
            "value": t.loss,
            "higher_is_better": False,
            "unit": "nats/token",
            "metrics": {},
        },
        "overrides": overrides,
        "config_hash": f"{t.stacks}-{t.algo}-{t.loss}",
        **(cost(overrides) if t.costed else {}),
        **t.extra,
    }
    if t.state == TrialState.FAIL:
        return optuna.trial.create_trial(
            state=TrialState.FAIL,
            params=params,
            distributions=dists(),
            user_attrs={"overrides": overrides, "fail_reason": t.fail_reason},
        )
    values = [lookup(attrs, o.key) for o in objectives]
    assert all(math.isfinite(v) for v in values)
    return optuna.trial.create_trial(
        state=t.state,
        values=values,
        params=params,
        distributions=dists(),
        user_attrs=attrs,
        constraints={"fits": 0.0 if t.fits else 1.0},
    )


def cost(overrides: list[str]) -> dict:
    """hw's evaluation of the pimdse config `overrides` name, as the sweeper stores it."""
    cfg = compose_cached(overrides)
    parts = {p: OmegaConf.to_container(cfg[p], resolve=True) for p in ("hw", "algo", "model", "workload")}
    return jsonable(
        hw.evaluate(*hw.build(parts["hw"], parts["algo"], parts["model"], parts["workload"])).to_dict()
    )


def dists() -> dict:
    return {"hw.pim.stacks": STACKS, "algo": ALGOS}


def report_data(html: Path) -> dict:
    """The data a written report embeds for its script."""
    text = html.read_text(encoding="utf-8")
    start = text.index('<script id="pimdse-data" type="application/json">') + len(
        '<script id="pimdse-data" type="application/json">'
    )
    return json.loads(text[start : text.index("</script>", start)])
