"""A toy Hydra app with the shape of `pimdse`: returns an evaluation dict from closed-form costs.

bits a value: fp16 16, uniform bits + 32/group_size, pq log2(K)/s. KV bytes grow with context and
bits; latency is KV bytes over (banks x clock); accuracy falls as bits fall, reported as pimdse's
default metric does, a loss in nats/token (lower is better), or with `toy.metric=score` as a
higher-is-better score without a unit (the older metrics' kind). `algo.bits=3` raises
and `hw.banks=56` returns a NaN latency, so failure handling can be tested; `+toy.exit_on_banks=N`
kills the evaluating process when hw.banks is N. `PIMDSE_SWEEP_CHECKS` gives the sweeper its cheap
validator (hw.banks, hw.clock_ghz, hw.capacity_mib > 0; PQ's n_centroids >= 2) and the keys
of an evaluation, as pimdse does.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import hydra
from omegaconf import DictConfig

from dse.search.checks import ResultKeys, SweepChecks
from hydra_plugins.pimdse_sweeper.command_line import one_line_errors

VALUES_PER_TOKEN = 1024


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    result = costs(cfg)
    if cfg.toy.get("exit_on_banks") == cfg.hw.banks:
        os._exit(3)  # a worker process dying mid-trial (killed by the OS, a segfault)
    time.sleep(cfg.toy.sleep_s)
    return result


def validate(cfg: DictConfig) -> None:
    """The toy's cheap check of a job config (the sweeper runs it on every value before any trial)."""
    for key in ("banks", "clock_ghz", "capacity_mib"):
        if not isinstance(cfg.hw[key], int | float) or not cfg.hw[key] > 0:
            raise ValueError(f"hw.{key}={cfg.hw[key]}: must be > 0")
    if cfg.algo.name == "pq" and not cfg.algo.n_centroids >= 2:
        raise ValueError(f"algo.n_centroids={cfg.algo.n_centroids}: must be >= 2")


def result_keys(cfg: DictConfig) -> ResultKeys:
    return ResultKeys.of(costs(cfg), open_keys=("accuracy.metrics",))


PIMDSE_SWEEP_CHECKS = SweepChecks(validate, result_keys)


def costs(cfg: DictConfig) -> dict[str, Any]:
    """The closed-form evaluation dict of one job config (no side effects)."""
    algo = cfg.algo
    if algo.name == "fp16":
        bits, accuracy = 16.0, 1.0
    elif algo.name == "uniform":
        if algo.bits == 3:
            raise ValueError("3-bit uniform is not supported")
        bits = algo.bits + 32 / algo.group_size
        accuracy = 1.0 - 2.0**-algo.bits
    else:
        bits = math.log2(algo.n_centroids) / algo.subvector_dim
        accuracy = 1.0 - 0.1 * algo.subvector_dim / math.log2(algo.n_centroids)
    kv_bytes = int(cfg.workload.context_tokens * VALUES_PER_TOKEN * bits / 8)
    latency_s = kv_bytes / (cfg.hw.banks * cfg.hw.clock_ghz * 1e9) + 1e-6
    if cfg.hw.banks == 56:
        latency_s = float("nan")
    return {
        "latency_s": latency_s,
        "energy_j": kv_bytes * 1e-12,
        "kv_bytes": kv_bytes,
        "kv_bytes_split": {"codes": kv_bytes, "codebooks": 0},
        "fits": kv_bytes <= cfg.hw.capacity_mib * 2**20,
        "max_context_tokens": None,
        "accuracy": accuracy_record(accuracy, cfg.toy.metric),
        "breakdown": {"attention": latency_s},
        "kernels": {
            "attention": {"seconds": latency_s, "energy_j": None, "bound": "memory", "device": "pim"}
        },
    }


def accuracy_record(accuracy: float, metric: str) -> dict[str, Any]:
    """The toy's accuracy (1 lossless) as a `loss` (1 - accuracy, nats/token) or a `score`."""
    if metric == "score":
        return {"name": "toy_score", "value": accuracy, "higher_is_better": True, "unit": "", "metrics": {}}
    loss = 1.0 - accuracy
    return {"name": "toy_loss", "value": loss, "higher_is_better": False, "unit": "nats/token", "metrics": {}}


@one_line_errors("pimdse")
@hydra.main(version_base="1.3", config_path="toy_conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, Any]:
    return evaluate(cfg)


if __name__ == "__main__":
    main()
