"""A Hydra app on pimdse's own conf/ whose task costs nothing: it returns a fixed evaluation dict.

benchmarks/sweep_overhead.py sweeps it with Hydra's basic sweeper and with pimdse's sweeper over
the same jobs, so the time per job is the sweep machinery's own (composition, bookkeeping, storage).
"""

from __future__ import annotations

from typing import Any

import hydra
from omegaconf import DictConfig

from dse.app.pimdse import CONF_DIR

FIXED_RESULT = {
    "latency_s": 1e-3,
    "energy_j": 1e-2,
    "kv_bytes": 1.0e9,
    "kv_bytes_split": {"codes": 9.0e8, "codebooks": 1.0e8},
    "fits": True,
    "max_context_tokens": 100000,
    "accuracy": {"name": "fixed", "value": 20.0, "higher_is_better": True, "metrics": {}, "refreshes": 0},
    "breakdown": {"attention": 1e-3},
    "kernels": {"attention": {"seconds": 1e-3, "energy_j": 1e-2, "bound": "memory_bw", "device": "pim"}},
}


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict[str, Any]:
    # Read one swept key so the job depends on its config, as a real task does.
    return {**FIXED_RESULT, "latency_s": 1e-3 * cfg.workload.decode_steps}


if __name__ == "__main__":
    main()
