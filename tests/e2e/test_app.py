"""The `pimdse` console script in a single run: a readable table, or one line for bad input."""

import subprocess
import sys
from pathlib import Path

from dse.app.summary import format_point

ROOT = Path(__file__).resolve().parents[2]
PIMDSE = Path(sys.executable).with_name("pimdse")


def run_app(tmp_path, *overrides):
    return subprocess.run(
        [str(PIMDSE), f"hydra.run.dir={tmp_path}/run", *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_single_run_prints_the_design_point_table(tmp_path):
    proc = run_app(tmp_path, "algo=fp16", "model=llama2_7b", "workload.context_tokens=32768")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "hw=aqpim_hbm3 model=llama2_7b algo=fp16 context=32768 tokens" in out
    # Llama-2-7B FP16 KV at 32K tokens: 2 x 32 x 32 x 128 x 32768 x 2 B = 16 GiB
    # (docs/sources.md [llama2-7b]).
    assert "KV-cache bytes" in out and "16.00 GiB" in out
    for label in ("decode-step latency", "fits in PIM memory", "accuracy proxy"):
        assert label in out


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    proc = run_app(tmp_path, "algo.n_centroids=1")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pimdse: error:") and "n_centroids" in lines[0] and "1" in lines[0]


def test_format_point_scales_units_and_shares():
    result = {
        "latency_s": 0.002,
        "energy_j": 0.5,
        "kv_bytes": 3 * 2**30,
        "kv_bytes_split": {"codes": 2 * 2**30, "codebooks": 2**30},
        "fits": False,
        "max_context_tokens": 1000,
        "accuracy": {"name": "snr", "value": 12.5, "higher_is_better": True},
        "kernels": {"attn": {"seconds": 0.0015, "bound": "internal_bw", "device": "pim"}},
    }
    text = format_point("t", result)
    assert "2.000 ms" in text and "500.000 mJ" in text and "3.00 GiB" in text
    assert "NO" in text and "1,000 tokens" in text and "12.5 (higher is better)" in text
    assert "1.500 ms   75.0%  internal_bw" in text
