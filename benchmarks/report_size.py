"""Size of the Pareto explorer's HTML (pimdse-report) for synthetic studies of 10 to 1,000 trials.

Each trial is a real cost-model evaluation of a random design point of pimdse's conf/ (Mistral-7B
on the AQPIM HBM3-PIM preset: PQ with subvector dim x codebook size, uniform bits or FP16, times
stacks, bank-PE lanes and a log-uniform context of 4K-1M tokens, where the longer ones stop
fitting), stored as the sweeper stores it (every evaluation key, overrides, the `fits` constraint).
The accuracy is a closed-form stand-in in nats/token (the proxy would take hours for 1,000 distinct
points and does not change the size: one number per trial). Prints the HTML's size, gzipped (as a
mail client would attach it), and what it is made of.

    .venv/bin/python benchmarks/report_size.py [--trials 10 100 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution

import hw
from dse.app.pimdse import CONF_DIR
from dse.results.explorer.sources import resolve_inputs
from dse.results.explorer.studies import load_report
from dse.results.explorer.write import write_explorer
from dse.search.loop import jsonable
from dse.search.objectives import lookup, parse_objectives
from dse.search.storage import STUDY_ATTR_OBJECTIVES, make_storage, objectives_attr, sqlite_url

OBJECTIVES = parse_objectives(["accuracy_loss", "latency", "memory"])
ALGOS = {
    "pq": {"algo.subvector_dim": (2, 4, 8), "algo.n_centroids": (64, 256, 512)},
    "uniform": {"algo.bits": (2, 4, 8)},
    "fp16": {},
}
HW = {"hw.pim.stacks": (2, 4, 8), "hw.pim.pe.bank.lanes": (8, 16, 32)}
CONTEXT = (4096.0, 1048576.0)


def stand_in_loss(algo: str, values: dict[str, Any]) -> float:
    """A loss increase in nats/token that falls with the bits per value (0 for FP16)."""
    if algo == "fp16":
        return 0.0
    bits = (
        values["algo.bits"]
        if algo == "uniform"
        else math.log2(values["algo.n_centroids"]) / values["algo.subvector_dim"]
    )
    return 0.3 * 2.0 ** (-bits)


def trials(n: int, seed: int) -> list[optuna.trial.FrozenTrial]:
    rng = np.random.default_rng(seed)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = {algo: compose(config_name="config", overrides=[f"algo={algo}"]) for algo in ALGOS}
    out = []
    for _ in range(n):
        algo = str(rng.choice(list(ALGOS)))
        values: dict[str, Any] = {k: int(rng.choice(v)) for k, v in {**HW, **ALGOS[algo]}.items()}
        values["workload.context_tokens"] = float(np.exp(rng.uniform(*np.log(CONTEXT))))
        cfg = base[algo].copy()
        for key, value in values.items():
            OmegaConf.update(cfg, key, int(value) if key == "workload.context_tokens" else value)
        parts = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("hw", "algo", "model", "workload")}
        result = jsonable(
            hw.evaluate(*hw.build(parts["hw"], parts["algo"], parts["model"], parts["workload"])).to_dict()
        )
        loss = stand_in_loss(algo, values)
        result["accuracy"] = {
            "name": "loss_increase_est",
            "value": loss,
            "higher_is_better": False,
            "unit": "nats/token",
            "metrics": {},
        }
        result["accuracy.value"] = loss
        overrides = [
            f"algo={algo}",
            *(f"{k}={int(v) if k == 'workload.context_tokens' else v}" for k, v in values.items()),
        ]
        params = {"algo": algo, **values}
        dists = {
            "algo": CategoricalDistribution(list(ALGOS)),
            **{k: CategoricalDistribution(list(v)) for k, v in {**HW, **ALGOS[algo]}.items()},
            "workload.context_tokens": FloatDistribution(*CONTEXT, log=True),
        }
        out.append(
            optuna.trial.create_trial(
                values=[lookup(result, o.key) for o in OBJECTIVES],
                params=params,
                distributions=dists,
                user_attrs={**result, "overrides": overrides, "config_hash": f"{len(out):016x}"},
                constraints={"fits": 0.0 if result["fits"] else 1.0},
            )
        )
    return out


def measure(n: int, seed: int, folder: Path) -> dict[str, Any]:
    url = sqlite_url(folder / f"size{n}.db")
    study = optuna.create_study(storage=make_storage(url), study_name=f"size{n}", directions=["minimize"] * 3)
    study.set_user_attr(STUDY_ATTR_OBJECTIVES, objectives_attr(OBJECTIVES))
    study.add_trials(trials(n, seed))
    start = time.perf_counter()
    files = write_explorer(load_report(resolve_inputs([url])), folder / f"size{n}.html", images=False)
    seconds = time.perf_counter() - start
    text = files.html.read_text(encoding="utf-8")
    data = re.search(r'<script id="pimdse-data" type="application/json">(.*?)</script>', text, re.S).group(1)
    parsed = json.loads(data)
    points = json.dumps(parsed["points"])
    return {
        "trials": n,
        "feasible": sum(parsed["rows"]["feasible"]),
        "pareto": sum(parsed["rows"]["pareto"]),
        "html_mib": len(text.encode()) / 2**20,
        "gzip_mib": len(gzip.compress(text.encode())) / 2**20,
        "data_mib": len(data.encode()) / 2**20,
        "point_mib": len(points.encode()) / 2**20,
        "points": len(parsed["points"]),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(
        "| trials | feasible | Pareto | HTML MiB | gzip MiB | data JSON MiB | per-point figures MiB (points) "
        "| s to write |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.trials:
            r = measure(n, args.seed, Path(tmp))
            print(
                f"| {r['trials']} | {r['feasible']} | {r['pareto']} | {r['html_mib']:.2f} "
                f"| {r['gzip_mib']:.2f} | {r['data_mib']:.2f} | {r['point_mib']:.2f} ({r['points']}) "
                f"| {r['seconds']:.1f} |"
            )


if __name__ == "__main__":
    main()
