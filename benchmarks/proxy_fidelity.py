"""How well does the quick proxy rank algorithm points the way the full model does?

For every point of benchmarks/proxy_points.py: the quick metric (conf/proxy/quick.yaml, plus
overrides) and the full-mode metric (conf/proxy/full.yaml: next-token KL vs the exact cache over
8 held-out sequences, all 30 layers compressed). Reports Spearman rank correlation overall and within
groups of equal bits per element, the accuracy-fix ablation, and quick variants (speed vs fidelity).

    .venv/bin/python benchmarks/proxy_fidelity.py                 # default quick config
    .venv/bin/python benchmarks/proxy_fidelity.py --variants      # + speed/fidelity trade-offs

Full-mode results are cached under .cache/pimdse/results (first run: about 30 min on 2 cores).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_points import ABLATION, POINTS, bits_per_element, proxy  # noqa: E402

import models  # noqa: E402

FOUR_LAYERS = [2, 10, 18, 26]
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("metric attn_snr_db", {"metric": "attn_snr_db"}),
    ("metric cosine", {"metric": "cosine"}),
    ("metric -attn KL", {"metric": "neg_attn_kl"}),
    ("metric top-k recall", {"metric": "topk_recall"}),
    ("no k-means early stop", {"kmeans_tol": 0.0}),
    ("k-means on 384 sampled tokens", {"kmeans_train_tokens": 384}),
    ("2 sequences", {"n_seqs": 2}),
    ("4 layers", {"layers": FOUR_LAYERS}),
    ("2 sequences, 4 layers", {"n_seqs": 2, "layers": FOUR_LAYERS}),
    ("4 sequences, 4 layers", {"n_seqs": 4, "layers": FOUR_LAYERS}),
]
METRIC_ONLY = {"metric"}  # variants that only re-read other metrics of the same run


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(x: list[float]) -> np.ndarray:
        x_arr = np.asarray(x, dtype=float)
        order = x_arr.argsort(kind="stable")
        r = np.empty(len(x_arr))
        r[order] = np.arange(len(x_arr))
        for v in np.unique(x_arr):  # ties share their mean rank
            r[x_arr == v] = r[x_arr == v].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def full_scores(points: list[tuple[str, dict[str, Any]]]) -> dict[str, models.Accuracy]:
    cfg = proxy("full")
    out = {}
    for label, algo in points:
        t = time.perf_counter()
        out[label] = models.score(algo, cfg)
        print(f"  full  {label:30s} kl={out[label].metrics['kl']:.5f} ({time.perf_counter() - t:.1f} s)",
              file=sys.stderr, flush=True)
    return out


def quick_scores(over: dict[str, Any]) -> tuple[dict[str, models.Accuracy], tuple[float, float]]:
    """Quick accuracy per point, mean and max seconds per point (result cache off; captures and
    channel permutations warm)."""
    cfg = proxy("quick", **over) | {"result_cache": False}
    for s in sorted({a["subvector_dim"] for _, a in POINTS if a["name"] == "pq"}):
        models.score(POINTS[0][1] | {"subvector_dim": s}, cfg)  # warm
    out, times = {}, []
    for label, algo in POINTS:
        t = time.perf_counter()
        out[label] = models.score(algo, cfg)
        times.append(time.perf_counter() - t)
    return out, (sum(times) / len(times), max(times))


def _as_metric(acc: models.Accuracy, metric: str) -> models.Accuracy:
    base = metric.removeprefix("neg_")
    value = -acc.metrics[base] if metric.startswith("neg_") else acc.metrics[metric]
    return models.Accuracy(metric, value, True, acc.metrics, acc.refreshes, acc.mode)


def rank_agreement(quick: dict[str, models.Accuracy], full: dict[str, models.Accuracy]) -> dict[str, Any]:
    labels = [lab for lab, _ in POINTS]
    full_v = [-full[lab].metrics["kl"] for lab in labels]
    q_v = [quick[lab].value for lab in labels]
    groups: dict[float, list[str]] = defaultdict(list)
    for lab, algo in POINTS:
        groups[bits_per_element(algo)].append(lab)
    per_group = {}
    for bits, labs in sorted(groups.items()):
        if len(labs) >= 3:
            per_group[bits] = spearman([quick[x].value for x in labs], [-full[x].metrics["kl"] for x in labs])
    sizes = {b: len(groups[b]) for b in per_group}
    weighted = sum(per_group[b] * sizes[b] for b in per_group) / sum(sizes.values())
    return {"overall": spearman(q_v, full_v), "groups": per_group, "group_sizes": sizes,
            "groups_weighted_mean": weighted, "groups_min": min(per_group.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", action="store_true", help="also score quick-mode variants")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    args = ap.parse_args()

    full = full_scores(POINTS + [p for p in ABLATION if p[0] not in dict(POINTS)])
    report: dict[str, Any] = {"points": {}, "variants": {}, "ablation": {}}
    print("\n| point | bits/elem | quick attn_loss | full KL | full ppl | refreshes |")
    print("|---|---|---|---|---|---|")
    quick, sec = quick_scores({})
    for lab, algo in POINTS:
        f = full[lab]
        print(f"| {lab} | {bits_per_element(algo):.3g} | {-quick[lab].value:.4f} | {f.metrics['kl']:.4f} | "
              f"{f.metrics['ppl']:.2f} | {f.refreshes} |")
        report["points"][lab] = {"quick": quick[lab].to_dict(), "full": f.to_dict()}
    ppl_ref = full[POINTS[0][0]].metrics["ppl_ref"]
    print(f"\nexact-cache perplexity on the full-mode text: {ppl_ref:.3f}")

    variants = VARIANTS if args.variants else VARIANTS[:1]
    print("\n| quick variant | mean s / point | max s / point | Spearman overall "
          "| within equal bits (weighted mean) | min group |")
    print("|---|---|---|---|---|---|")
    for name, over in variants:
        if set(over) <= METRIC_ONLY:  # same computation, another metric: no need to rerun
            q = {lab: quick[lab] if not over else _as_metric(quick[lab], over["metric"]) for lab in quick}
            v_sec = sec
        else:
            q, v_sec = quick_scores(over)
        ra = rank_agreement(q, full)
        report["variants"][name] = ra | {"sec_per_point": v_sec, "overrides": over}
        print(f"| {name} | {v_sec[0]:.2f} | {v_sec[1]:.2f} | {ra['overall']:.3f} | "
              f"{ra['groups_weighted_mean']:.3f} | {ra['groups_min']:.3f} |", flush=True)
    ra = report["variants"]["default"]
    print("\nwithin-group Spearman (default):", {f"{b:g} bits (n={ra['group_sizes'][b]})": round(r, 3)
                                                 for b, r in ra["groups"].items()})

    print("\n| ablation (full mode) | next-token KL | perplexity | quick attn_loss |")
    print("|---|---|---|---|")
    q_cfg = proxy("quick")
    for lab, algo in ABLATION:
        f = full[lab]
        qv = models.score(algo, q_cfg).value
        print(f"| {lab} | {f.metrics['kl']:.4f} | {f.metrics['ppl']:.3f} | {-qv:.4f} |")
        report["ablation"][lab] = {"full": f.to_dict(), "quick_value": qv}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
