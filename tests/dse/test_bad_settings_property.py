"""Property: any mix of good and bad sweep settings gives either a clean run or one line on stderr
naming the setting, with exit status 2 — never a traceback (hypothesis over the toy app)."""

from __future__ import annotations

import contextlib
import inspect
import io
import tempfile
from pathlib import Path

import toy_app
from conftest import TOY_APP, sweep_args
from hydra._internal.hydra import Hydra
from hydra.core.global_hydra import GlobalHydra
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = {
    "sampler": ["nsga2", "tpe", "random", "qmc", "grid", "foo", "NSGA2", "''"],
    "sampler_options": [
        "null",
        "{population_size:4}",
        "{popsize:3}",
        "{population_size:abc}",
        "{population_size:1}",
        "5",
        "[1,2]",
        "{seed:1}",
    ],
    "objectives": [
        "[accuracy_loss,latency]",
        "[accuracy,latency]",
        "[speed]",
        "[]",
        "[{key:latency_z,direction:minimize}]",
        "[{key:latency_s}]",
        "latency",
        "[accuracy,accuracy]",
        "[5]",
        "[{name:e,key:energy_j,direction:up}]",
    ],
    "constraints": [
        "[]",
        "[{key:fitz,equals:true}]",
        "[{key:fits}]",
        "[{key:power_w,max:60,min:1}]",
        "[{key:latency_s,max:1}]",
        "[5]",
        "fits",
        "[{key:accuracy.metrics.x,min:0}]",
    ],
    "storage": [
        "null",
        "notaurl",
        "sqlite:////proc/no/x.db",
        "sqlite://",
        "mysql://a@b/c",
        "postgresql://u@127.0.0.1:1/db",
        "sqlite:////proc/x.db",
    ],
    "n_trials": ["1", "2", "0", "-1", "abc", "2.5", "true"],
    "n_jobs": ["1", "0", "x", "-3", "1.5"],
    "seed": ["0", "7", "-1", "abc"],
    "skip_duplicates": ["true", "false", "maybe"],
}
SPACE = [
    None,
    "hw.banks=choice(8,-8)",
    "hw.banks=range(8,8)",
    "hw.clock_ghz=interval(2,1)",
    "hw.clock_ghz=tag(log,interval(0,1))",
    "hw.banks=range(8,64,step=-8)",
    "hw.clock_ghz=range(1.0,2.0,0.25)",
    "hw.banks=choice(a,b)",
    "algo.n_centroids=range(1,9)",
    "hw.nope=choice(1,2)",
    "algo=choice(pq,zip)",
    "hw.capacity_mib=-1",
    "algo.bits=choice(2,4)",
]

settings_strategy = st.fixed_dictionaries(
    {}, optional={key: st.sampled_from(values) for key, values in SETTINGS.items()}
)


def run(overrides: list[str], tmp: Path) -> tuple[int, str]:
    """(exit status, stderr) of one in-process toy sweep."""
    hydra = Hydra.create_main_hydra_file_or_module(
        calling_file=str(TOY_APP), calling_module=None, config_path="toy_conf", job_name="toy_app"
    )
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            hydra.multirun(
                config_name="config",
                task_function=inspect.unwrap(toy_app.main),
                overrides=sweep_args(tmp, "toy", overrides),
                with_log_configuration=False,
            )
    except SystemExit as exit_info:
        return int(exit_info.code or 0), err.getvalue()
    finally:
        GlobalHydra.instance().clear()
    return 0, err.getvalue()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=settings_strategy, space=st.sampled_from(SPACE))
def test_bad_settings_give_one_line_or_a_clean_run(chosen: dict[str, str], space: str | None) -> None:
    overrides = [f"hydra.sweeper.{k}={v}" for k, v in chosen.items()] + ([space] if space else [])
    with tempfile.TemporaryDirectory() as tmp:
        status, err = run(overrides, Path(tmp))
    if status == 0:
        assert "pimdse: error" not in err
        return
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("pimdse: error: "), (overrides, err)
