"""Design points costed per second by hw/ on a 10^6-point grid, and the single-point call time.

    .venv/bin/python benchmarks/hw_throughput.py [--points 1000000] [--repeat 3]

Five hardware and workload leaves vary at once (stacks, bank-PE lanes, all-bank command interval,
PIM link bandwidth, context length). "grid": a Cartesian product given as broadcast axes; "scattered":
10^6 independent random points (every leaf a flat array, as a sampler would propose them). Each is
one hw.build + hw.evaluate call. "single": one build + evaluate + to_dict on plain Python scalars.
"""

from __future__ import annotations

import argparse
import copy
import platform
import time

import numpy as np

import hw
from hw.presets import load_preset as load

WIDTHS = (19, 16, 9, 13, 17, 11)



def grid_axes(points: int) -> dict[str, np.ndarray]:
    """Cartesian grid: five broadcast axes, 10 x 10 x 10 x 10 x (points / 10^4) values."""
    shape = [10, 10, 10, 10, max(1, points // 10**4)]
    axes = {
        "stacks": np.arange(1, shape[0] + 1, dtype=float),
        "lanes": np.linspace(4, 64, shape[1]).round(),
        "cmd": np.linspace(2, 12, shape[2]).round(),
        "link": np.geomspace(64e9, 1.8e12, shape[3]),
        "ctx": np.geomspace(1024, 262144, shape[4]).round(),
    }
    return {k: v.reshape([-1 if i == j else 1 for j in range(5)]) for i, (k, v) in enumerate(axes.items())}


def random_points(points: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Scattered design points (as a sampler proposes them): every leaf a flat array of `points`."""
    rng = np.random.default_rng(seed)
    return {
        "stacks": rng.integers(1, 17, points).astype(float),
        "lanes": rng.integers(4, 65, points).astype(float),
        "cmd": rng.integers(2, 13, points).astype(float),
        "link": rng.uniform(64e9, 1.8e12, points),
        "ctx": rng.integers(1024, 262145, points).astype(float),
    }


def configs(hw_name: str, algo: str, axes: dict[str, np.ndarray] | None) -> tuple[dict, dict, dict, dict]:
    h, a, m, w = (
        load("hw", hw_name),
        load("algo", algo),
        load("model", "mistral_7b"),
        load("workload", "default"),
    )
    if axes is not None:
        h = copy.deepcopy(h)
        h["pim"]["stacks"] = axes["stacks"]
        h["pim"]["pe"]["bank"]["lanes"] = axes["lanes"]
        h["pim"]["pe"]["bank"]["cmd_interval_cycles"] = axes["cmd"]
        h["pim"]["link"]["bw_bytes_per_s"] = axes["link"]
        w = dict(w, context_tokens=axes["ctx"])
    return h, a, m, w


def time_grid(hw_name: str, algo: str, axes: dict[str, np.ndarray], repeat: int) -> tuple[int, float]:
    """Best-of-`repeat` seconds for one build + evaluate over all points of `axes`."""
    shape = np.broadcast_shapes(*(v.shape for v in axes.values()))
    n = int(np.prod(shape))
    cfg = configs(hw_name, algo, axes)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        cost = hw.evaluate(*hw.build(*cfg))
        np.asarray(cost.latency_s).sum()  # make sure the result is materialised
        best = min(best, time.perf_counter() - start)
    assert np.shape(cost.latency_s) == shape
    return n, best


def time_single(hw_name: str, algo: str, calls: int) -> float:
    cfg = configs(hw_name, algo, None)
    start = time.perf_counter()
    for _ in range(calls):
        hw.evaluate(*hw.build(*cfg)).to_dict()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--single-calls", type=int, default=200)
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}"
    )
    columns = ("preset", "algo", "points", "grid pts/s", "scattered pts/s", "single ms")
    print(
        "".join(
            f"{c:<{w}}" if i < 2 else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(columns, WIDTHS, strict=True))
        )
    )
    for hw_name, algo in [
        ("aqpim_hbm3", "pq"),
        ("aqpim_hbm3", "fp16"),
        ("attacc_hbm3_bank", "fp16"),
        ("aqpim_hbm3", "uniform"),
        ("starc_hbm_pim", "cluster_sparse"),
    ]:
        n, grid_s = time_grid(hw_name, algo, grid_axes(args.points), args.repeat)
        m, scattered_s = time_grid(hw_name, algo, random_points(args.points), args.repeat)
        single = time_single(hw_name, algo, args.single_calls)
        assert n == m
        row = (hw_name, algo, f"{n}", f"{n / grid_s:,.0f}", f"{m / scattered_s:,.0f}", f"{single * 1e3:.3f}")
        print(
            "".join(
                f"{c:<{w}}" if i < 2 else f"{c:>{w}}"
                for i, (c, w) in enumerate(zip(row, WIDTHS, strict=True))
            )
        )


if __name__ == "__main__":
    main()
