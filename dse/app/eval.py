"""Machine-readable single-point evaluation: `python -m dse.eval [hydra overrides]`.

Prints one JSON object on stdout (see dse.app.point.evaluate_point for its keys); logs and errors go to
stderr. Composes the same config as `pimdse` without creating a run directory.
"""

from __future__ import annotations

import json
import logging
import sys

from hydra.errors import HydraException
from omegaconf import OmegaConf

import hw
import models
from dse.app.compose import compose_config
from dse.app.finite import check_finite
from dse.app.groups import group_error
from dse.app.point import evaluate_point
from spec.conf import conf_dir


def main(argv: list[str]) -> int:
    """Compose the config with `argv` as overrides, evaluate it, print JSON; return the exit code."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    conf = conf_dir()
    error = group_error(argv, conf)
    if error is not None:
        print(f"dse.eval: error: {error}", file=sys.stderr)
        return 2
    try:
        cfg = compose_config(argv)
        result = evaluate_point(cfg)
        parts = ("hw", "algo", "model", "workload")
        result["config"] = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in parts}
        check_finite(result)
    except (hw.SpecError, models.SpecError, HydraException) as err:
        print(f"dse.eval: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
