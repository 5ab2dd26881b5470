"""Do the proxy's orderings of algorithm points carry over to a second model of another architecture?

Scores the same algorithm points (PQ subvector dim x centroids, uniform bits, cluster-sparse budgets)
on SmolLM2-135M-Instruct (Llama, the default) and Gemma-3-270M (optional extra `pimdse[gemma]`,
docs/proxy.md "Second model") at 4,096-token Wikipedia sequences (3,584-token prefill), in quick mode
(attention loss of real decode queries; SmolLM2 on its default layers 10 and 26, Gemma on its three
global layers 5, 11, 17) and in full mode (the model runs on the compressed cache, 4 sequences, 2,048
scored positions; Gemma's sliding-window layers stay exact, see models/gemma3.py). Prints each model's
numbers and ranks per point and the Spearman rank correlation between the two models.

    .venv/bin/python benchmarks/proxy_second_model.py --mode quick --cache-dir /tmp/pimdse-gemma
    .venv/bin/python benchmarks/proxy_second_model.py --mode full --cache-dir /tmp/pimdse-gemma \
        --only 'K64|K1024|s16|uniform [24]|budget (256|2048)'      # a subset of the points

Quick metric: attn_loss (the raw attention KL + squared output error; the calibrated loss estimate is
fit on SmolLM2 and would not be Gemma's). Full metric: next-token KL vs the exact cache (kl); the loss
increase in nats/token and the perplexity ratio are printed beside it.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_fidelity import spearman  # noqa: E402
from proxy_points import algo, pq, proxy  # noqa: E402

import models  # noqa: E402
from models.locate import gemma3_gguf  # noqa: E402

POINTS: list[tuple[str, dict[str, Any]]] = [
    ("pq s2 K16", pq(2, 16)),
    ("pq s4 K64", pq(4, 64)),
    ("pq s4 K256", pq(4, 256)),
    ("pq s4 K1024", pq(4, 1024)),
    ("pq s8 K256", pq(8, 256)),
    ("pq s16 K1024", pq(16, 1024)),
    ("uniform 2b g32", algo("uniform", bits=2)),
    ("uniform 3b g32", algo("uniform", bits=3)),
    ("uniform 4b g32", algo("uniform", bits=4)),
    ("cluster_sparse budget 256", algo("cluster_sparse", token_budget=256, sink_tokens=0)),
    ("cluster_sparse budget 1024", algo("cluster_sparse", token_budget=1024, sink_tokens=0)),
    ("cluster_sparse budget 2048", algo("cluster_sparse", token_budget=2048, sink_tokens=0)),
]
LONG = {"seq_tokens": 4096, "prefill_tokens": 3584, "queries_per_seq": 32}
TEXT = {"source": "wiki", "path": None, "calib_seqs": 2, "eval_offset_tokens": 0}
MODES = {  # mode -> (proxy metric, reported metric key, evaluation sequences)
    "quick": ("neg_attn_loss", "attn_loss", 1),
    "full": ("neg_kl", "kl", 4),
}


def model_overrides() -> dict[str, dict[str, Any]]:
    """Per model: its proxy.model and the quick-mode layers."""
    return {
        "SmolLM2-135M": {"model": {"source": "gguf", "path": None, "device": "cpu"}, "layers": [10, 26]},
        "Gemma-3-270M": {"model": {"source": "gguf", "path": str(gemma3_gguf()), "device": "cpu"},
                         "layers": [5, 11, 17]},
    }


def score_all(mode: str, cache_dir: str, points: list[tuple[str, dict[str, Any]]]
              ) -> dict[str, dict[str, models.Accuracy]]:
    metric, key, n_seqs = MODES[mode]
    out: dict[str, dict[str, models.Accuracy]] = {}
    for name, over in model_overrides().items():
        cfg = proxy(mode) | LONG | over | {"text": TEXT, "metric": metric, "n_seqs": n_seqs,
                                          "cache_dir": cache_dir}
        if mode == "full":
            cfg["layers"] = []
        out[name] = {}
        for label, a in points:
            t = time.perf_counter()
            out[name][label] = acc = models.score(a, cfg)
            print(f"  {mode} {name:13s} {label:28s} {key}={acc.metrics[key]:.5f} "
                  f"({time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
    return out


def ranks(values: list[float]) -> list[int]:
    """1 = best (lowest loss)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0] * len(values)
    for pos, i in enumerate(order):
        r[i] = pos + 1
    return r


def report(mode: str, scores: dict[str, dict[str, models.Accuracy]], points: list[tuple[str, dict[str, Any]]]
           ) -> None:
    key = MODES[mode][1]
    names = list(scores)
    cols = {n: [scores[n][label].metrics[key] for label, _ in points] for n in names}
    rk = {n: ranks(cols[n]) for n in names}
    extra = "loss_increase" if mode == "full" else None
    print(f"\n### {mode} mode: {key} per point (rank 1 = least loss)\n")
    head = " | ".join(f"{n} {key} | rank" for n in names)
    more = " | " + " | ".join(f"{n} loss incr. (nats/token)" for n in names) if extra else ""
    print(f"| point | {head}{more} |")
    print("|---" * (1 + 2 * len(names) + (len(names) if extra else 0)) + "|")
    for i, (label, _) in enumerate(points):
        row = " | ".join(f"{cols[n][i]:.5f} | {rk[n][i]}" for n in names)
        if extra:
            row += "".join(f" | {scores[n][label].metrics.get(extra, float('nan')):.4f}" for n in names)
        print(f"| {label} | {row} |")
    rho = spearman(cols[names[0]], cols[names[1]])
    print(f"\nSpearman({names[0]}, {names[1]}) over {len(points)} points: {rho:.3f}")
    for group in ("pq", "uniform", "cluster_sparse"):
        idx = [i for i, (label, _) in enumerate(points) if label.split()[0] == group]
        if len(idx) < 3:
            continue
        a, b = ([cols[n][i] for i in idx] for n in names)
        print(f"  within {group} ({len(idx)} points): Spearman {spearman(a, b):.3f}")
    if mode == "full":
        for n in names:
            ref = next(iter(scores[n].values())).metrics.get("ppl_ref", float("nan"))
            print(f"  {n}: exact-cache perplexity {ref:.2f} on the scored positions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("quick", "full", "both"), default="quick")
    ap.add_argument("--cache-dir", default=str(Path(__file__).resolve().parents[1] / ".cache" / "pimdse"))
    ap.add_argument("--only", default="", help="score only the points whose label matches this regex")
    args = ap.parse_args()
    points = [(label, a) for label, a in POINTS if re.search(args.only, label)]
    modes = ("quick", "full") if args.mode == "both" else (args.mode,)
    results = {m: score_all(m, args.cache_dir, points) for m in modes}
    for m in modes:
        report(m, results[m], points)
    if len(modes) == 2:
        for n in results["quick"]:
            q = [results["quick"][n][label].metrics["attn_loss"] for label, _ in points]
            f = [results["full"][n][label].metrics["kl"] for label, _ in points]
            print(f"Spearman(quick attn_loss, full kl) on {n}: {spearman(q, f):.3f}")


if __name__ == "__main__":
    main()
