"""`python -m dse.eval` end to end: real config composition, real cost model, real accuracy proxy."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROXY = ("proxy.text.source=lee", "proxy.text.calib_seqs=1", "proxy.seq_tokens=640",
         "proxy.prefill_tokens=576", "proxy.n_seqs=1", "proxy.layers=[1,20]", "proxy.queries_per_seq=16")
"""A small real proxy, every setting explicit: the shipped one reads 4,096-token Wikipedia sequences
(minutes of CPU for a cold capture); the default algorithm (PQ, K = 512, 8 sinks) needs >= 520 prefill
tokens, hence 576 of 640 tokens of the news text."""


def run_eval(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dse.eval", *PROXY, *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def default_point():
    proc = run_eval()
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_eval_prints_one_json_object_with_the_stable_keys(default_point):
    for key in ("latency_s", "energy_j", "kv_bytes", "fits", "accuracy", "breakdown"):
        assert key in default_point
    assert default_point["latency_s"] > 0
    assert isinstance(default_point["fits"], bool)
    assert set(default_point["accuracy"]) >= {"name", "value"}


def test_breakdown_adds_up_to_no_more_than_the_step_latency(default_point):
    # Kernels may overlap (GPU and PIM), so their sum bounds the latency from above, never below.
    total = sum(default_point["breakdown"].values())
    assert default_point["latency_s"] <= total * (1 + 1e-9)
    assert default_point["latency_s"] >= max(default_point["breakdown"].values()) * (1 - 1e-9)


def test_kv_split_adds_up_to_the_total(default_point):
    split = default_point["kv_bytes_split"]
    assert sum(split.values()) == pytest.approx(default_point["kv_bytes"])


def test_fp16_kv_of_mistral_at_32k_is_4_gib_and_pq_codes_are_7x_smaller(default_point):
    proc = run_eval("algo=fp16", "model=mistral_7b", "workload.context_tokens=32768")
    assert proc.returncode == 0, proc.stderr
    fp16 = json.loads(proc.stdout)
    # 2 (K,V) x 32 layers x 8 KV heads x 128 dims x 32768 tokens x 2 bytes = 4 GiB
    # (docs/sources.md [mistral-7b]).
    assert fp16["kv_bytes"] == 2 * 32 * 8 * 128 * 32768 * 2 == 4 * 2**30
    # PQ (s=4, K=512): 9 bits per 4 elements instead of 64; codebooks depend on their placement.
    split = default_point["kv_bytes_split"]
    assert fp16["kv_bytes"] / 7.2 < split["codes"] < fp16["kv_bytes"] / 7


def test_bad_override_is_one_line_on_stderr_and_nothing_on_stdout():
    proc = run_eval("algo.subvector_dim=3")
    assert proc.returncode == 2
    assert proc.stdout == ""
    message = proc.stderr.strip().splitlines()[-1]
    assert "subvector_dim" in message and "3" in message
