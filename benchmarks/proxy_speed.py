"""Wall-clock cost of the accuracy proxy on this machine (run alone: timings are shared-CPU sensitive).

    .venv/bin/python benchmarks/proxy_speed.py            # quick mode, validate, capture load
    .venv/bin/python benchmarks/proxy_speed.py --full     # + full mode for three points

Each figure is the median of --repeat runs with the result cache off (captures and channel
permutations warm, as in a search after its first trial).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_points import ROOT, algo, pq, proxy  # noqa: E402

import models  # noqa: E402

QUICK_POINTS: list[tuple[str, dict[str, Any]]] = [
    ("fp16", algo("fp16")),
    ("uniform 4b", algo("uniform")),
    ("cluster_sparse (budget 256)", algo("cluster_sparse", token_budget=256)),
    ("pq s4 K16", pq(4, 16)),
    ("pq s4 K64", pq(4, 64)),
    ("pq s4 K256", pq(4, 256)),
    ("pq s4 K512 (AQPIM default)", pq(4, 512)),
    ("pq s2 K256", pq(2, 256)),
    ("pq s4 K64 windowed 64", pq(4, 64, refresh="windowed", refresh_window_tokens=64)),
    ("pq s4 K64 online 1", pq(4, 64, refresh="online", refresh_interval=1)),
]
FULL_POINTS = [("uniform 4b", algo("uniform")), ("pq s4 K64", pq(4, 64)), ("pq s4 K512", pq(4, 512))]


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time full mode (about a minute a point)")
    args = ap.parse_args()
    quick = proxy("quick") | {"result_cache": False}
    models.score(pq(4, 64), quick)  # warm: capture, permutations
    print("| quick point | s |\n|---|---|")
    for label, a in QUICK_POINTS:
        print(f"| {label} | {timed(lambda a=a: models.score(a, quick), args.repeat):.2f} |", flush=True)
    print(f"\nvalidate: {timed(lambda: models.validate(pq(4, 512), quick), 20) * 1e3:.1f} ms")
    cached = proxy("quick")
    models.score(pq(4, 64), cached)
    print(f"cached result: {timed(lambda: models.score(pq(4, 64), cached), 20) * 1e3:.1f} ms")
    code = ("import time, sys; sys.path.insert(0, 'benchmarks'); from proxy_points import proxy; "
            "from models.spec import parse_proxy; from models.capture import CaptureKey, load_capture; "
            "s = parse_proxy(proxy('quick')); t = time.perf_counter(); "
            "load_capture(s, CaptureKey('eval', s.layers)); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    print(f"capture load in a fresh process: {float(out.stdout.strip()):.3f} s")
    if args.full:
        full = proxy("full") | {"result_cache": False}
        models.score(algo("fp16"), full)  # warm: model, capture
        print("\n| full point | s |\n|---|---|")
        for label, a in FULL_POINTS:
            print(f"| {label} | {timed(lambda a=a: models.score(a, full), 1):.1f} |", flush=True)


if __name__ == "__main__":
    main()
