"""pimdse from a wheel, away from the checkout: the configs, the sweeper plugin and the console
scripts come from the installed package; outputs and caches land under the current directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROXY = ("proxy.text.source=lee", "proxy.text.calib_seqs=1", "proxy.seq_tokens=640",
         "proxy.prefill_tokens=576", "proxy.n_seqs=1", "proxy.layers=[1,20]", "proxy.queries_per_seq=16")
"""A small real proxy (as tests/e2e/test_eval.py): the shipped 4K Wikipedia one costs minutes of CPU on
an empty cache; 576 prefill tokens keep every PQ point of the default space (K <= 512) valid."""
NOT_SHIPPED = (".git", ".venv", "outputs", ".cache", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from a copy of the working tree (the checkout gets no build/), unpacked into
    a directory that shadows the editable install on PYTHONPATH."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", src], check=True)
    (wheel,) = (tmp / "dist").glob("pimdse-*.whl")
    target = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", target, wheel], check=True)
    return target


def run(target: Path, cwd: Path, *cmd: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("PIMDSE_CACHE_DIR", None)
    args = [str(c) for c in cmd]
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_code_configs_and_plugin_come_from_the_wheel(installed, tmp_path):
    probe = (
        "import dse, pimdse_conf, hydra_plugins.pimdse_sweeper as p; from spec.conf import conf_dir;"
        "from dse.app.provenance import code_version;"
        "print(dse.__file__, p.__file__, conf_dir(), code_version(), sep='\\n')"
    )
    lines = run(installed, tmp_path, sys.executable, "-c", probe).stdout.split()
    assert all(Path(line).is_relative_to(installed) for line in lines[:3]), lines
    assert (Path(lines[2]) / "hw" / "aqpim_hbm3.yaml").is_file()
    # Not the checkout's git commit: the code that ran is the installed version.
    assert lines[3] == "pimdse==0.1.0"
    schema = run(installed, tmp_path, installed / "bin" / "pimdse-schema", "workload").stdout
    assert "context_tokens" in schema


def test_eval_and_a_sweep_write_only_under_the_current_directory(installed, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    point = json.loads(run(installed, cwd, sys.executable, "-m", "dse.eval", "algo=fp16", *PROXY).stdout)
    # Mistral-7B FP16 KV at 32K tokens: 2 x 32 x 8 x 128 x 32768 x 2 B = 4 GiB (as tests/e2e/test_eval.py).
    assert point["kv_bytes"] == 4 * 2**30
    assert (cwd / ".cache" / "pimdse").is_dir()

    table = run(installed, cwd, installed / "bin" / "pimdse", "algo=fp16", *PROXY).stdout
    assert "4.00 GiB" in table
    assert list((cwd / "outputs" / "runs").rglob(".hydra"))

    out = run(installed, cwd, installed / "bin" / "pimdse", "-m", "hydra.sweeper.n_trials=2", *PROXY).stdout
    assert "Pareto set of study" in out
    (db,) = (cwd / "outputs" / "studies").glob("pimdse-*.db")
    trials = pd.read_csv(db.with_suffix(".trials.csv"))
    assert len(trials) == 2
    assert set(trials["code_version"]) == {"pimdse==0.1.0"}
    assert list((cwd / "outputs" / "sweeps").rglob("multirun.yaml"))
    assert not list(installed.rglob("outputs")) and not list(installed.rglob(".cache"))
