"""The `pimdse` Hydra application: one design point by default, a sweep with `-m`."""

from __future__ import annotations

import sys
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

import hw
import models
from dse.app.groups import group_error
from dse.app.point import evaluate_point
from dse.app.summary import format_point
from dse.app.sweep_checks import SWEEP_CHECKS as PIMDSE_SWEEP_CHECKS  # noqa: F401 - read by the sweeper
from hydra_plugins.pimdse_sweeper.command_line import one_line_errors
from spec.conf import conf_dir


def title(cfg: DictConfig) -> str:
    """One line naming the design point: hardware preset, model, algorithm, context."""
    return (
        f"pimdse: hw={cfg.hw.get('name', '?')} model={cfg.model.get('name', '?')} "
        f"algo={cfg.algo.name} context={cfg.workload.context_tokens} tokens"
    )


# Absolute (conf/ in the checkout, pimdse_conf from a wheel): as a console script, a relative
# config_path would name a Python package.
CONF_DIR = conf_dir()


@one_line_errors("pimdse", lambda argv: group_error(argv, CONF_DIR))
@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict[str, Any] | None:
    """Evaluate the composed design point; print its table in a single run, return it to a sweeper."""
    single_run = HydraConfig.get().mode == RunMode.RUN
    try:
        result = evaluate_point(cfg)
    except (hw.SpecError, models.SpecError) as err:
        if not single_run:
            raise
        # Bad input is the user's to fix: one line, no traceback.
        print(f"pimdse: error: {err}", file=sys.stderr)
        sys.exit(2)
    if single_run:
        print(format_point(title(cfg), result))
    return result


if __name__ == "__main__":
    main()
