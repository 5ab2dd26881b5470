"""Retrieval mode on this machine: exact-cache accuracy per cell, then a few algorithm points.

    .venv/bin/python benchmarks/proxy_retrieval.py                       # conf/proxy/retrieval.yaml
    .venv/bin/python benchmarks/proxy_retrieval.py --lengths 1024 2048 --per-cell 1 --form plain

Prints (1) the exact cache's accuracy per (length, keys) and depth, with the one-time exact run's
wall time per prompt (0 s when cached), (2) for each algorithm point retrieval_acc, answer_nll_increase
and the wall time of one score (result cache off; exact runs and calibration warm after the first
point). Run it alone: the times are shared-CPU sensitive.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_points import algo, pq, proxy  # noqa: E402

import models  # noqa: E402
from models.retrieval import load_exact, load_items  # noqa: E402
from models.retrieval_prompts import FORMS  # noqa: E402
from models.spec import parse_proxy  # noqa: E402

POINTS: list[tuple[str, dict[str, Any]]] = [
    ("fp16", algo("fp16")),
    ("uniform 4b g32", algo("uniform")),
    ("uniform 2b g32", algo("uniform", bits=2)),
    ("uniform 1b g128", algo("uniform", bits=1, group_size=128)),
    ("pq s4 K64", pq(4, 64)),
    ("pq s4 K512 (AQPIM default)", pq(4, 512)),
    ("pq s8 K256", pq(8, 256)),
    ("cluster_sparse budget 256", algo("cluster_sparse", token_budget=256, sink_tokens=0)),
    ("cluster_sparse budget 1024", algo("cluster_sparse", token_budget=1024, sink_tokens=0)),
]


def exact_table(cfg: dict[str, Any], form: str) -> None:
    spec = parse_proxy(cfg)
    t = time.perf_counter()
    items = load_items(spec, form)
    print(f"{len(items)} prompts ({form} form) built in {time.perf_counter() - t:.1f} s", flush=True)
    right: dict[tuple[int, int, int], list[bool]] = defaultdict(list)
    secs: dict[int, list[float]] = defaultdict(list)
    for it in items:
        t = time.perf_counter()
        cap = load_exact(spec, it)
        secs[it.length].append(time.perf_counter() - t)
        ok = bool((cap["answer_top"] == torch.tensor(it.answer)).all())
        right[it.length, it.keys, it.depth_pct].append(ok)
        print(f"  exact run: {it.length} tokens, depth {it.depth_pct} %, {it.keys} keys, key {it.key}: "
              f"{'right' if ok else 'wrong'}, answer NLL {-cap['answer_lp'].mean().item():.3f} nats/token "
              f"({secs[it.length][-1]:.1f} s)", flush=True)
    r = spec.retrieval
    print(f"\nexact-cache accuracy (right / prompts), {form} form\n")
    depths = " | ".join(f"depth {d} %" for d in r.depths_pct)
    print(f"| length | keys | {depths} | all | exact run s/prompt |")
    print("|---" * (len(r.depths_pct) + 4) + "|")
    for n in r.lengths:
        for k in r.keys:
            cells = [right[n, k, d] for d in r.depths_pct]
            every = [x for c in cells for x in c]
            print(f"| {n} | {k} | " + " | ".join(f"{sum(c)}/{len(c)}" for c in cells)
                  + f" | {sum(every)}/{len(every)} | {sum(secs[n]) / len(secs[n]):.1f} |")
    every = [x for c in right.values() for x in c]
    print(f"\nall: {sum(every)}/{len(every)} = {sum(every) / len(every):.2f}\n", flush=True)


def points_table(cfg: dict[str, Any], labels: list[str] | None) -> None:
    lengths = parse_proxy(cfg).retrieval.lengths
    print("| point | retrieval_acc | answer_nll_increase (nats/token) | "
          + " | ".join(f"acc@{n}" for n in lengths) + " | items | s / point |")
    print("|---" * (len(lengths) + 5) + "|")
    for label, a in POINTS:
        if labels and label not in labels:
            continue
        t = time.perf_counter()
        m = models.score(a, cfg | {"result_cache": False}).metrics
        s = time.perf_counter() - t
        per = " | ".join(f"{m[f'retrieval_acc@{n}']:.2f}" if f"retrieval_acc@{n}" in m else "-"
                         for n in lengths)
        print(f"| {label} | {m['retrieval_acc']:.3f} | {m['answer_nll_increase']:.4f} | {per} | "
              f"{m['retrieval_items']:.0f} | {s:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", type=int, nargs="+")
    ap.add_argument("--depths", type=int, nargs="+")
    ap.add_argument("--keys", type=int, nargs="+")
    ap.add_argument("--per-cell", type=int)
    ap.add_argument("--form", choices=FORMS, default="chat",
                    help="prompt form of the exact table (scored points always use the default form)")
    ap.add_argument("--points", nargs="*", help="labels of POINTS to score (none: every point)")
    ap.add_argument("--exact-only", action="store_true")
    ap.add_argument("--cache-dir", help="default: the repo's .cache/pimdse")
    args = ap.parse_args()
    cfg = proxy("retrieval")
    over = {"lengths": args.lengths, "depths_pct": args.depths, "keys": args.keys,
            "prompts_per_cell": args.per_cell}
    cfg["retrieval"] = cfg["retrieval"] | {k: v for k, v in over.items() if v is not None}
    if args.cache_dir:
        cfg["cache_dir"] = args.cache_dir
    exact_table(cfg, args.form)
    if not args.exact_only:
        points_table(cfg, args.points)


if __name__ == "__main__":
    main()
