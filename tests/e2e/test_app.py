"""The `pimdse` console script in a single run: a readable table, or one line for bad input."""

import re
import subprocess
import sys
from pathlib import Path

from small_proxy import SMALL_PROXY

from dse.app.summary import accuracy_row, format_point

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
    # Full mode (every layer on the compressed cache) on the small proxy: its default metric is the
    # next-token loss increase over the exact cache, in nats/token.
    overrides = ("algo=fp16", "model=llama2_7b", "workload.context_tokens=32768", "proxy=full")
    proc = run_app(tmp_path, *overrides, *SMALL_PROXY)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "hw=aqpim_hbm3 model=llama2_7b algo=fp16 context=32768 tokens" in out
    # Llama-2-7B FP16 KV at 32K tokens: 2 x 32 x 32 x 128 x 32768 x 2 B = 16 GiB
    # (docs/sources.md [llama2-7b]).
    assert "KV-cache bytes" in out and "16.00 GiB" in out
    for label in ("decode-step latency", "fits in PIM memory"):
        assert label in out
    row = re.search(r"^accuracy loss \(loss_increase\)\s+(\S+) nats/token \(lower is better\)$", out, re.M)
    assert row, out
    # An FP16 cache is the exact cache up to rounding: no loss.
    assert abs(float(row[1])) < 1e-3


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
        "accuracy": {"name": "attn_snr_db", "value": 12.5, "higher_is_better": True, "unit": "dB"},
        "kernels": {"attn": {"seconds": 0.0015, "bound": "internal_bw", "device": "pim"}},
    }
    text = format_point("t", result)
    assert "2.000 ms" in text and "500.000 mJ" in text and "3.00 GiB" in text
    assert "NO" in text and "1,000 tokens" in text
    assert "\naccuracy (attn_snr_db)     12.5 dB (higher is better)\n" in text
    assert "1.500 ms   75.0%  internal_bw" in text
    assert "datapath" not in text  # no crossbar, no datapath row
    analog = result | {"datapath": {"name": "loss_increase", "value": 0.0424, "unit": "nats/token"}}
    row = "\ndatapath loss (analog crossbars)  0.0424 nats/token (lower is better)\n"
    assert row in format_point("t", analog)


def test_accuracy_row_says_loss_estimate_unit_and_direction():
    loss = {"name": "loss_increase_est", "value": 0.0123, "higher_is_better": False, "unit": "nats/token"}
    assert accuracy_row(loss) == (
        "accuracy loss, est. (loss_increase_est)",
        "0.0123 nats/token (lower is better)",
    )
    pct = {"name": "ppl_increase_pct", "value": 1.25, "higher_is_better": False, "unit": "%"}
    assert accuracy_row(pct) == ("accuracy loss (ppl_increase_pct)", "1.25 % (lower is better)")
    # A record written before the unit existed: no unit.
    old = {"name": "neg_attn_loss", "value": -0.0344322, "higher_is_better": True}
    assert accuracy_row(old) == ("accuracy (neg_attn_loss)", "-0.0344322 (higher is better)")


def test_bad_datapath_input_is_one_line_naming_the_key(tmp_path):
    # The crossbar's operators run through the datapath emulation: its settings are checked before any run.
    proc = run_app(tmp_path, "hw=pimllm_edge", "model=bitnet_b158_2b", "datapath.weight_bits=1")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["pimdse: error: datapath.weight_bits=1: must be 0 (the crossbar's cells) or 2..9: one "
                     "signed bit holds no magnitude"]
