"""Long-context accuracy of the algorithm points of LONG_POINTS (benchmarks/proxy_points.py) at 4K tokens.

Runs each point in full mode (next-token loss increase, perplexity increase, long-range-token loss)
and in quick mode (attention fidelity and the calibrated loss estimate), keeps every number in one
JSON file (resumable: points already there are not rerun), then prints the rank agreement of quick
with full (overall and within equal-bits groups), the per-point table and the seconds per point.

    .venv/bin/python benchmarks/proxy_long.py --full     # full mode, every point (~1 h on 2 cores)
    .venv/bin/python benchmarks/proxy_long.py --quick    # quick mode, every point (result cache off: timed)
    .venv/bin/python benchmarks/proxy_long.py --fit      # refit quick -> full (models/quick_fit.json)
    .venv/bin/python benchmarks/proxy_long.py            # print the tables from the JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_points import LONG_POINTS, ROOT, bits_per_element  # noqa: E402

import models  # noqa: E402

RESULTS = ROOT / ".cache" / "pimdse" / "proxy_long.json"
LONG = {"text": {"source": "wiki"}, "seq_tokens": 4096, "prefill_tokens": 3584,
        "cache_dir": str(ROOT / ".cache" / "pimdse")}
FULL = LONG | {"mode": "full", "n_seqs": 4, "layers": [], "kmeans_tol": 0.01, "metric": "neg_kl"}
QUICK = LONG | {"mode": "quick", "n_seqs": 1, "layers": [10, 26], "metric": "neg_attn_loss",
                "result_cache": False}


def load() -> dict[str, dict[str, Any]]:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save(results: dict[str, dict[str, Any]]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True))
    tmp.replace(RESULTS)


def run(mode: str, proxy: dict[str, Any], only: set[str] | None) -> None:
    for label, algo in LONG_POINTS:
        results = load()  # reread: another run may have added points
        row = results.setdefault(label, {})
        if mode in row or (only and label not in only):
            continue
        t = time.perf_counter()
        acc = models.score(algo, proxy)
        row[mode] = acc.metrics
        row[f"{mode}_s"] = time.perf_counter() - t
        row["bits"] = bits_per_element(algo)
        save(results)
        print(f"{label:32s} {mode} {row[f'{mode}_s']:7.1f} s  {json.dumps(acc.metrics)}", flush=True)


def table(results: dict[str, dict[str, Any]], quick_key: str = "attn_loss") -> None:
    labels = [label for label, _ in LONG_POINTS if {"full", "quick"} <= results.get(label, {}).keys()]
    if not labels:
        print("no point has both modes yet")
        return
    quick = [results[x]["quick"][quick_key] for x in labels]
    full = [results[x]["full"]["loss_increase"] for x in labels]
    print(f"points: {len(labels)}; Spearman quick {quick_key} vs full loss_increase: "
          f"{spearmanr(quick, full).statistic:.3f}")
    groups: dict[float, list[str]] = defaultdict(list)
    for x in labels:
        groups[results[x]["bits"]].append(x)
    for bits, members in sorted(groups.items()):
        if len(members) >= 3:
            rho = spearmanr([results[x]["quick"][quick_key] for x in members],
                            [results[x]["full"]["loss_increase"] for x in members]).statistic
            print(f"  {bits:g} bits/elem: {len(members)} points, Spearman {rho:.3f}")
    print("| point | bits/elem | quick attn_loss | quick est. | full loss incr. (nats/token) | ppl incr. (%) "
          "| long-range loss incr. | quick s | full s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for x in labels:
        r = results[x]
        est = r["quick"].get("loss_increase_est", float("nan"))
        print(f"| {x} | {r['bits']:g} | {r['quick']['attn_loss']:.4f} | {est:.4f} | "
              f"{r['full']['loss_increase']:.4f} | {r['full']['ppl_increase_pct']:.2f} | "
              f"{r['full']['long_range_loss_increase']:.4f} | {r['quick_s']:.2f} | {r['full_s']:.0f} |")
    times = np.array([results[x]["quick_s"] for x in labels])
    print(f"quick s/point: mean {times.mean():.2f}, max {times.max():.2f}; full s/point: mean "
          f"{np.mean([results[x]['full_s'] for x in labels]):.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", help="point labels to run (default: all)")
    args = ap.parse_args()
    only = set(args.only) if args.only else None
    if args.full:
        run("full", FULL, only)
    if args.quick:
        run("quick", QUICK, only)
    table(load())


if __name__ == "__main__":
    main()
