"""The Pareto HTML as a person sees it: rendered by headless Chromium, not just grepped."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

from dse.results.frames import pareto_mask
from dse.results.plots import write_pareto_html
from dse.search.objectives import parse_objectives

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")


def rendered_dom(html_path) -> str:
    proc = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={html_path.parent / 'chromium-profile'}",
            "--virtual-time-budget=5000", "--dump-dom", html_path.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_pareto_plot_renders_every_trial_with_display_units(tmp_path):
    objectives = parse_objectives(["accuracy", "latency", "memory"])
    # Trials 0-2 are mutually non-dominated; 3 is dominated by 0 (worse on all three).
    df = pd.DataFrame(
        {
            "number": [0, 1, 2, 3],
            "state": ["COMPLETE"] * 4,
            "accuracy": [20.0, 25.0, 15.0, 19.0],
            "latency": [0.005, 0.008, 0.004, 0.006],
            "memory": [2**30, 2 * 2**30, 2**29, 3 * 2**30],
            "feasible": [True] * 4,
        }
    )
    df["pareto"] = pareto_mask(df, objectives)
    assert df["pareto"].tolist() == [True, True, True, False]
    path = write_pareto_html(df, objectives, tmp_path / "study.html", "study")

    dom = rendered_dom(path)
    traces = re.findall(r'<g class="trace scatter[^"]*".*?</g></g>', dom, flags=re.S)
    points = [len(re.findall(r'class="point"', t)) for t in traces]
    assert sorted(points) == [1, 3]  # one grey dominated trial, three on the front
    assert "latency (latency_s, ms)" in dom and "GiB" in dom
    # Latency axis ticks in milliseconds: the trials span 4-8 ms.
    ticks = [float(t) for t in re.findall(r'class="xtick"[^>]*>.*?>([\d.]+)</text>', dom, flags=re.S)]
    assert ticks and min(ticks) >= 3 and max(ticks) <= 9
