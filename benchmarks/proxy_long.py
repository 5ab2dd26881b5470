"""Long-context accuracy of the algorithm points of LONG_POINTS (benchmarks/proxy_points.py) at 4K tokens.

Runs each point in full mode (next-token loss increase, perplexity increase, long-range-token loss)
and in quick mode (attention fidelity and the calibrated loss estimate), keeps every number in one
JSON file (resumable: points already there are not rerun), then prints the rank agreement of quick
with full (overall and within equal-bits groups), the per-point table and the seconds per point.

    .venv/bin/python benchmarks/proxy_long.py --full     # full mode, every point (~1 h on 2 cores)
    .venv/bin/python benchmarks/proxy_long.py --quick    # quick mode, every point (result cache off: timed)
    .venv/bin/python benchmarks/proxy_long.py --fit      # refit quick -> full (models/quick_fit.json)
    .venv/bin/python benchmarks/proxy_long.py --long-range-rule   # the table behind the long-range rule
    .venv/bin/python benchmarks/proxy_long.py --time-full  # full-mode seconds, result cache off
    .venv/bin/python benchmarks/proxy_long.py            # print the tables from the JSON

`--text plays` does the same on the book-length text (Shakespeare's plays, models/plays.py), keeping its
numbers in their own JSON; its table also gives the rank agreement of the full-mode loss increases
with wiki's for the points both hold, and `--documents` prints the plays' token counts.
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
from filelock import FileLock
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_points import LONG_POINTS, ROOT, bits_per_element  # noqa: E402

import models  # noqa: E402
from models.quick_fit import FEATURE, fit_power_law, save_fit, shipped_fit  # noqa: E402

ALGORITHM = {label: algo["name"] for label, algo in LONG_POINTS}
RESULTS_BY_TEXT = {"wiki": ROOT / ".cache" / "pimdse" / "proxy_long.json",
                   "plays": ROOT / ".cache" / "pimdse" / "proxy_long_plays.json"}
RESULTS = RESULTS_BY_TEXT["wiki"]
LONG = {"text": {"source": "wiki"}, "seq_tokens": 4096, "prefill_tokens": 3584,
        "cache_dir": str(ROOT / ".cache" / "pimdse")}
FULL = LONG | {"mode": "full", "n_seqs": 4, "layers": [], "kmeans_tol": 0.01, "kmeans_train_tokens": 0,
               "metric": "neg_kl"}  # k-means on every prefill token (the quick default samples 1,024)
QUICK = LONG | {"mode": "quick", "n_seqs": 1, "layers": [10, 26], "metric": "neg_attn_loss",
                "result_cache": False}


def use_text(source: str) -> None:
    """Score on `source` (wiki | plays) and keep the numbers in its own JSON."""
    global RESULTS, FULL, QUICK
    RESULTS = RESULTS_BY_TEXT[source]
    FULL, QUICK = (cfg | {"text": {"source": source}} for cfg in (FULL, QUICK))


def load(path: Path | None = None) -> dict[str, dict[str, Any]]:
    path = path or RESULTS
    return json.loads(path.read_text()) if path.is_file() else {}


def save(results: dict[str, dict[str, Any]]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True))
    tmp.replace(RESULTS)


def run(mode: str, proxy: dict[str, Any], only: set[str] | None, reverse: bool = False) -> None:
    for label, algo in reversed(LONG_POINTS) if reverse else LONG_POINTS:
        if mode in load().get(label, {}) or (only and label not in only):
            continue
        t = time.perf_counter()
        acc = models.score(algo, proxy)
        seconds = time.perf_counter() - t
        with FileLock(str(RESULTS) + ".lock"):  # a quick and a full run may share the file
            results = load()
            results.setdefault(label, {}).update({mode: acc.metrics, f"{mode}_s": seconds,
                                                  "bits": bits_per_element(algo)})
            save(results)
        print(f"{label:32s} {mode} {seconds:7.1f} s  {json.dumps(acc.metrics)}", flush=True)


def long_range_rule_table() -> None:
    """Mean short-context loss and the share of long-range positions for three windows and margins."""
    from models.capture import CaptureKey, load_capture
    from models.longrange import LongRangeRule, short_context_nll, token_nll
    from models.runtime import get_model
    from models.spec import parse_proxy

    spec = parse_proxy(FULL)
    cap = load_capture(spec, CaptureKey("eval", (), decode_queries=False))
    w, p = get_model(spec.model).weights, spec.prefill_tokens
    full = token_nll(w, cap["hidden"][:, :-1], cap["ids"][:, p + 1:])
    print(f"{full.numel()} positions, exact loss {full.mean():.3f} nats/token")
    print("| recent window (tokens) | mean short-context loss | share >= 0.5 nats | share >= 1 nat "
          "| share >= 2 nats |")
    print("|---|---|---|---|---|")
    for window in (128, 256, 512):
        short = short_context_nll(w, cap["ids"], p, LongRangeRule(window=window, chunk=256))
        shares = " | ".join(f"{100 * float((short - full >= m).float().mean()):.1f} %" for m in (0.5, 1, 2))
        print(f"| {window}-{window + 255} | {short.mean():.3f} | {shares} |")


def documents() -> None:
    """Token counts of the plays (the known ones: tests/models/test_plays.py re-counts them)."""
    from models.plays import PLAYS
    from models.spec import parse_proxy
    from models.text import corpus_path, document_tokens

    spec = parse_proxy(FULL | {"text": {"source": "plays"}})
    counts = document_tokens(spec)
    print(f"{corpus_path(spec).name}: {len(counts)} plays, {sum(counts)} tokens; per play min {min(counts)} "
          f"({PLAYS[counts.index(min(counts))]}), median {np.median(counts):g}, max {max(counts)} "
          f"({PLAYS[counts.index(max(counts))]})")
    for seq in (1024, 2048, 4096, 8192):
        print(f"  sequences of {seq} tokens: {sum(n // seq for n in counts)}")


def time_full() -> None:
    """Seconds of one full-mode point with the result cache off (captures warm after the first call)."""
    labels = ("uniform 4b g32", "pq s4 K256")
    models.score(dict(LONG_POINTS)["fp16"], FULL)  # model load and capture, not timed
    for label in labels:
        t = time.perf_counter()
        acc = models.score(dict(LONG_POINTS)[label], FULL | {"result_cache": False})
        print(f"{label}: {time.perf_counter() - t:.1f} s, loss_increase {acc.metrics['loss_increase']:.4f}")


FIT_FLOOR = 1e-3
"""nats/token: full-mode increases below this are within the run-to-run noise of a near-lossless cache
(fp16 reads 1e-5) and are left out of the fit."""


def fit(results: dict[str, dict[str, Any]]) -> None:
    """Fit quick -> full on every point scored both ways; ship it as models/quick_fit.json."""
    labels = [label for label, _ in LONG_POINTS if {"full", "quick"} <= results.get(label, {}).keys()]
    shown = {name: {k: v for k, v in cfg.items() if k != "cache_dir"} for name, cfg in (("quick", QUICK),
                                                                                      ("full", FULL))}
    source = {"command": "benchmarks/proxy_long.py --fit", **shown, "points": labels}
    qfit = fit_power_law([results[x]["quick"][FEATURE] for x in labels],
                         [results[x]["full"]["loss_increase"] for x in labels],
                         [ALGORITHM[x] for x in labels], FIT_FLOOR, source)
    save_fit(qfit)
    scales = ", ".join(f"{name} {np.exp(c):.4g}" for name, c in qfit.log_scale_by_algorithm.items())
    print(f"fit on {qfit.points} points: loss_increase ~= scale * {FEATURE}^{qfit.exponent:.3f}, "
          f"scale {scales} (pooled {np.exp(qfit.log_scale):.4g})")
    shipped_fit.cache_clear()


def table(results: dict[str, dict[str, Any]], quick_key: str = "loss_increase_est") -> None:
    labels = [label for label, _ in LONG_POINTS if {"full", "quick"} <= results.get(label, {}).keys()]
    if not labels:
        print("no point has both modes yet")
        return
    for x in labels:  # the estimate of the shipped fit (the runs may predate it)
        results[x]["quick"]["loss_increase_est"] = shipped_fit().estimate(results[x]["quick"], ALGORITHM[x])
    quick = [results[x]["quick"][quick_key] for x in labels]
    full = [results[x]["full"]["loss_increase"] for x in labels]
    print(f"points: {len(labels)}; Spearman quick {quick_key} vs full loss_increase: "
          f"{spearmanr(quick, full).statistic:.3f} (quick attn_loss alone: "
          f"{spearmanr([results[x]['quick']['attn_loss'] for x in labels], full).statistic:.3f})")
    est = np.array([results[x]["quick"]["loss_increase_est"] for x in labels])
    fitted = np.array(full) >= FIT_FLOOR
    print(f"estimate vs full on the {int(fitted.sum())} points >= {FIT_FLOOR} nats/token: median |log ratio| "
          f"{np.nanmedian(np.abs(np.log(est[fitted] / np.array(full)[fitted]))):.2f}")
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
        est = r["quick"]["loss_increase_est"]
        print(f"| {x} | {r['bits']:g} | {r['quick']['attn_loss']:.4f} | {est:.4f} | "
              f"{r['full']['loss_increase']:.4f} | {r['full']['ppl_increase_pct']:.2f} | "
              f"{r['full']['long_range_loss_increase']:.4f} | {r['quick_s']:.2f} | {r['full_s']:.0f} |")
    times = np.array([results[x]["quick_s"] for x in labels])
    print(f"quick s/point: mean {times.mean():.2f}, max {times.max():.2f}; full s/point: mean "
          f"{np.mean([results[x]['full_s'] for x in labels]):.0f}")


WIKI_TABLE = ROOT / "docs" / "proxy.md"
"""Where the wiki numbers come from when wiki's JSON lacks a point: the per-point table of its section
"Fidelity at 4K" (the record of `benchmarks/proxy_long.py --full --quick` on wiki)."""


def wiki_numbers() -> tuple[dict[str, dict[str, float]], str]:
    """Wiki's quick attn_loss and full-mode loss_increase, long_range_loss_increase per point, and where
    they come from: wiki's JSON where it holds the point and mode, else the docs table."""
    out: dict[str, dict[str, float]] = {}
    section = ""
    for line in WIKI_TABLE.read_text().splitlines():
        section = line if line.startswith("## ") else section
        cells = [c.strip() for c in line.strip("|").split("|")]
        if section.startswith("## Fidelity at 4K") and len(cells) == 9 and cells[0] in ALGORITHM:
            out[cells[0]] = {"attn_loss": float(cells[2]), "loss_increase": float(cells[4]),
                             "long_range_loss_increase": float(cells[6])}
    stored = load(RESULTS_BY_TEXT["wiki"])
    for x, r in stored.items():
        mine = out.setdefault(x, {})
        if "full" in r:
            mine.update({k: r["full"][k] for k in ("loss_increase", "long_range_loss_increase")})
        if "quick" in r:
            mine["attn_loss"] = r["quick"]["attn_loss"]
    return out, f"{RESULTS_BY_TEXT['wiki'].name}: {len(stored)} points, the rest {WIKI_TABLE.name}"


def against_wiki(results: dict[str, dict[str, Any]]) -> None:
    """Rank agreement of this text's quick attn_loss and full-mode loss increases with wiki's, on the
    points both hold."""
    wiki, source = wiki_numbers()
    quick = [x for x, _ in LONG_POINTS if "quick" in results.get(x, {}) and "attn_loss" in wiki.get(x, {})]
    if len(quick) >= 3:
        rho = spearmanr([results[x]["quick"]["attn_loss"] for x in quick],
                        [wiki[x]["attn_loss"] for x in quick]).statistic
        print(f"vs wiki ({source}): Spearman of quick attn_loss on {len(quick)} points {rho:.3f}")
    labels = [x for x, _ in LONG_POINTS
              if "full" in results.get(x, {}) and "loss_increase" in wiki.get(x, {})]
    if len(labels) < 3:
        print(f"wiki full-mode numbers cover {len(labels)} of this text's full-mode points: too few to rank")
        return
    here = np.array([results[x]["full"]["loss_increase"] for x in labels])
    there = np.array([wiki[x]["loss_increase"] for x in labels])
    above = there >= FIT_FLOOR  # ratios of increases within the noise mean nothing
    rho = spearmanr(here, there).statistic
    long_rho = spearmanr([results[x]["full"]["long_range_loss_increase"] for x in labels],
                         [wiki[x]["long_range_loss_increase"] for x in labels]).statistic
    print(f"vs wiki on {len(labels)} points: Spearman of full loss_increase {rho:.3f}, of "
          f"long_range_loss_increase {long_rho:.3f}; median ratio (this text / wiki) "
          f"{np.median(here[above] / there[above]):.2f} on the {int(above.sum())} points >= {FIT_FLOOR} "
          "nats/token on wiki")
    print("| point | wiki full loss incr. | this text | wiki long-range | this text |")
    print("|---|---|---|---|---|")
    for x in labels:
        here_x, wiki_x = results[x]["full"], wiki[x]
        print(f"| {x} | {wiki_x['loss_increase']:.4f} | {here_x['loss_increase']:.4f} | "
              f"{wiki_x['long_range_loss_increase']:.4f} | {here_x['long_range_loss_increase']:.4f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--long-range-rule", action="store_true")
    ap.add_argument("--time-full", action="store_true")
    ap.add_argument("--text", choices=tuple(RESULTS_BY_TEXT), default="wiki",
                    help="the text scored (default wiki); each keeps its own JSON")
    ap.add_argument("--documents", action="store_true", help="token counts of the plays")
    ap.add_argument("--reverse", action="store_true", help="run the points last to first (a second worker)")
    ap.add_argument("--only", nargs="*", help="point labels to run (default: all)")
    args = ap.parse_args()
    only = set(args.only) if args.only else None
    if args.fit and args.text != "wiki":
        ap.error("--fit rewrites the shipped quick fit (models/quick_fit.json), which is fitted on wiki only")
    use_text(args.text)
    if args.documents:
        documents()
        return
    if args.full:
        run("full", FULL, only, args.reverse)
    if args.quick:
        run("quick", QUICK, only, args.reverse)
    if args.long_range_rule:
        long_range_rule_table()
        return
    if args.time_full:
        time_full()
        return
    if args.fit:
        fit(load())
    table(load())
    if args.text != "wiki":
        against_wiki(load())


if __name__ == "__main__":
    main()
