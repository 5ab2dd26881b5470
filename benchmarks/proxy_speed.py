"""Wall-clock cost of the accuracy proxy on this machine (run alone: timings are shared-CPU sensitive).

    .venv/bin/python benchmarks/proxy_speed.py            # quick mode at 4K tokens, validate, capture load
    .venv/bin/python benchmarks/proxy_speed.py --full     # + full mode for three points
    .venv/bin/python benchmarks/proxy_speed.py --kernel   # only the k-means assignment kernel
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/proxy_speed.py --threads 1 --train-tokens 0
        # CPU seconds on 1 thread (what a loaded machine inflates least), k-means on every prefill token

Quick mode is timed at the issue-10 length (wiki text, 4,096-token sequences, 3,584-token prefill,
1 sequence x layers 10 and 26) whatever conf/proxy/quick.yaml says, over the default search space's
PQ points (s 2/4/8 x K 64/256/512) plus K = 1,024 and a few others. Each figure is the median of
--repeat runs with the result cache off (captures and channel permutations warm, as in a search after
its first trial): wall seconds, and the process's CPU seconds (what contention cannot inflate much;
with 2 torch threads on 2 idle cores CPU ~ 2 x wall). The load average before and after is printed:
figures taken at a load above 2 are not the machine's speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from proxy_points import ROOT, algo, pq, proxy  # noqa: E402

import models  # noqa: E402
from models import kmeans  # noqa: E402

LONG = {"text": {"source": "wiki"}, "seq_tokens": 4096, "prefill_tokens": 3584, "n_seqs": 1,
        "layers": [10, 26]}  # the issue-10 quick setting
QUICK_POINTS: list[tuple[str, dict[str, Any]]] = [
    ("fp16", algo("fp16")),
    ("uniform 2b", algo("uniform", bits=2)),
    ("uniform 4b", algo("uniform", bits=4)),
    ("cluster_sparse (budget 256)", algo("cluster_sparse", token_budget=256, sink_tokens=0)),
    *[(f"pq s{s} K{k}" + (" (AQPIM default)" if (s, k) == (4, 512) else ""), pq(s, k))
      for s in (2, 4, 8) for k in (64, 256, 512, 1024)],
    ("pq s4 K512 windowed 1024", pq(4, 512, refresh="windowed", refresh_window_tokens=1024)),
    ("pq s4 K512 online 1", pq(4, 512, refresh="online", refresh_interval=1)),
]
FULL_POINTS = [("uniform 4b", algo("uniform")), ("pq s4 K64", pq(4, 64)), ("pq s4 K512", pq(4, 512))]


def timed(fn, repeat: int) -> float:
    return timed_cpu(fn, repeat)[0]


def timed_cpu(fn, repeat: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of `repeat` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def baddbmm_assign(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The assignment models.kmeans used before the grouped argmin: one baddbmm and a plain argmin
    per 4 MiB chunk of problems (kept here as the speed reference)."""
    b, n, _ = x.shape
    step = max(1, (1 << 20) // (n * c.shape[1]))
    return torch.cat([torch.baddbmm(c[i:i + step].pow(2).sum(-1)[:, None, :], x[i:i + step],
                                    c[i:i + step].transpose(1, 2), alpha=-2.0).argmin(-1)
                      for i in range(0, b, step)])


def kernel_table(repeat: int) -> None:
    """CPU seconds of one assignment pass at the 4K quick shapes (2 layers x 3 KV heads x 64 / s
    subspaces, 3,576 training tokens), random data, 1 torch thread: contention inflates CPU time
    far less than wall time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    print(f"before: {load()}")
    print("| s | K | baddbmm + argmin CPU s | models.kmeans.assign CPU s | speed-up | codes differing |")
    print("|---|---|---|---|---|---|")
    for s in (2, 4, 8):
        for k in (64, 256, 512, 1024):
            x = torch.randn(6 * 64 // s, 3576, s, generator=gen)
            c = torch.randn(x.shape[0], k, s, generator=gen)
            ref = baddbmm_assign(x, c)
            diff = int((ref != kmeans.assign(x, c)).sum())
            t_ref = timed_cpu(lambda x=x, c=c: baddbmm_assign(x, c), repeat)[1]
            t_new = timed_cpu(lambda x=x, c=c: kmeans.assign(x, c), repeat)[1]
            print(f"| {s} | {k} | {t_ref:.3f} | {t_new:.3f} | {t_ref / t_new:.1f}x "
                  f"| {diff} of {ref.numel()} |", flush=True)
    print(f"after: {load()}")
    torch.set_num_threads(threads)


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time full mode (minutes a point)")
    ap.add_argument("--kernel", action="store_true", help="only time the k-means assignment kernel")
    ap.add_argument("--cache-dir", default=None, help="proxy.cache_dir (default: the repo's .cache/pimdse)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one a core)")
    ap.add_argument("--train-tokens", type=int, default=None,
                    help="quick proxy.kmeans_train_tokens (default: quick.yaml's; 0: every prefill token)")
    args = ap.parse_args()
    if args.kernel:
        kernel_table(args.repeat)
        return
    where = {"cache_dir": args.cache_dir} if args.cache_dir else {}
    if args.threads:
        torch.set_num_threads(args.threads)
    sampled = {} if args.train_tokens is None else {"kmeans_train_tokens": args.train_tokens}
    quick = proxy("quick") | LONG | where | sampled | {"result_cache": False}
    print(f"torch threads {torch.get_num_threads()}, kmeans_train_tokens {quick['kmeans_train_tokens']}; "
          f"before: {load()}")
    for s in (2, 4, 8):
        models.score(pq(s, 64), quick)  # warm: capture, permutations of every subvector dim
    print("| quick point (4K tokens) | wall s | CPU s |\n|---|---|---|")
    for label, a in QUICK_POINTS:
        wall, cpu = timed_cpu(lambda a=a: models.score(a, quick), args.repeat)
        print(f"| {label} | {wall:.2f} | {cpu:.2f} |", flush=True)
    print(f"after: {load()}")
    print(f"\nvalidate: {timed(lambda: models.validate(pq(4, 512), quick), 20) * 1e3:.1f} ms")
    cached = proxy("quick") | LONG | where
    models.score(pq(4, 64), cached)
    print(f"cached result: {timed(lambda: models.score(pq(4, 64), cached), 20) * 1e3:.1f} ms")
    code = ("import time; from models.spec import parse_proxy; "
            "from models.capture import CaptureKey, load_capture; "
            f"s = parse_proxy({quick!r}); t = time.perf_counter(); "
            "load_capture(s, CaptureKey('eval', s.layers)); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    print(f"capture load in a fresh process: {float(out.stdout.strip()):.3f} s")
    if args.full:
        full = proxy("full") | where | {"result_cache": False}
        models.score(algo("fp16"), full)  # warm: model, capture
        print("\n| full point | s |\n|---|---|")
        for label, a in FULL_POINTS:
            print(f"| {label} | {timed(lambda a=a: models.score(a, full), 1):.1f} |", flush=True)


if __name__ == "__main__":
    main()
