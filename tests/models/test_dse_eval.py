"""`python -m dse.eval` reports the proxy's numbers for an algorithm point (and fills the shared cache)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import models

ROOT = Path(__file__).resolve().parents[2]


def test_dse_eval_reports_the_proxy_score(tiny_proxy: dict, algo_cfg) -> None:
    overrides = ["algo=uniform", "algo.bits=3", f"proxy.seq_tokens={tiny_proxy['seq_tokens']}",
                 f"proxy.prefill_tokens={tiny_proxy['prefill_tokens']}",
                 f"proxy.n_seqs={tiny_proxy['n_seqs']}",
                 f"proxy.layers={tiny_proxy['layers']}".replace(" ", ""),
                 f"proxy.queries_per_seq={tiny_proxy['queries_per_seq']}", "proxy.text.calib_seqs=1",
                 f"proxy.text.source={tiny_proxy['text']['source']}", f"proxy.metric={tiny_proxy['metric']}"]
    env = os.environ | {"PIMDSE_CACHE_DIR": tiny_proxy["cache_dir"]}
    run = subprocess.run([sys.executable, "-m", "dse.eval", *overrides], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    reported = json.loads(run.stdout)["accuracy"]
    expected = models.score(algo_cfg("uniform", bits=3), tiny_proxy)
    assert expected.cached  # the subprocess's result was reused across processes
    assert reported == expected.to_dict()
    m = reported["metrics"]
    assert reported["name"] == "neg_attn_loss" and -1 < reported["value"] < -1e-4
    assert reported["value"] == -(m["attn_kl"] + m["rel_err"] ** 2)
