"""Algorithm points shared by the proxy benchmarks: PQ (m, K, refresh, accuracy fixes) and uniform bits.

Each point is (label, algo dict overriding conf/algo/<name>.yaml). bits_per_element() gives the code
bits a KV element costs (scales and codebooks excluded; cluster-sparse keeps FP16), which groups points
the bits alone cannot rank.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def algo(name: str, **over: Any) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "conf" / "algo" / f"{name}.yaml").read_text()) | over


def proxy(name: str, **over: Any) -> dict[str, Any]:
    cfg = yaml.safe_load((ROOT / "conf" / "proxy" / f"{name}.yaml").read_text())
    cfg["cache_dir"] = str(ROOT / ".cache" / "pimdse")  # the ${oc.env:...} default, resolved
    return cfg | over


def pq(s: int, k: int, **over: Any) -> dict[str, Any]:
    return algo("pq", subvector_dim=s, n_centroids=k, **over)


def bits_per_element(a: dict[str, Any]) -> float:
    if a["name"] == "pq":
        return math.ceil(math.log2(a["n_centroids"])) / a["subvector_dim"]
    if a["name"] == "uniform":
        return float(a["bits"])
    return 16.0


PLAIN = {"importance_weighted": False, "channel_sort": False}

POINTS: list[tuple[str, dict[str, Any]]] = [
    # 0.75 .. 1 bit per element
    ("pq s8 K64", pq(8, 64)),
    ("pq s8 K256", pq(8, 256)),
    ("pq s4 K16", pq(4, 16)),
    ("pq s2 K4", pq(2, 4)),
    ("uniform 1b g32", algo("uniform", bits=1)),
    # 1.5 bits: refresh policies and the accuracy fixes at the same m and K
    ("pq s4 K64", pq(4, 64)),
    ("pq s4 K64 windowed 64", pq(4, 64, refresh="windowed", refresh_window_tokens=64)),
    ("pq s4 K64 online 16", pq(4, 64, refresh="online", refresh_interval=16)),
    ("pq s4 K64 online 1", pq(4, 64, refresh="online", refresh_interval=1)),
    ("pq s4 K64 plain", pq(4, 64, **PLAIN)),
    ("pq s4 K64 no-sort", pq(4, 64, channel_sort=False)),
    ("pq s4 K64 no-importance", pq(4, 64, importance_weighted=False)),
    ("pq s4 K64 no sinks/window", pq(4, 64, sink_tokens=0, window_tokens=0)),
    # 2 bits
    ("pq s4 K256", pq(4, 256)),
    ("pq s4 K256 windowed 128", pq(4, 256, refresh="windowed", refresh_window_tokens=128)),
    ("pq s4 K256 plain", pq(4, 256, **PLAIN)),
    ("pq s2 K16", pq(2, 16)),
    ("pq s2 K16 plain", pq(2, 16, **PLAIN)),
    ("pq s2 K16 online 8", pq(2, 16, refresh="online", refresh_interval=8)),
    ("uniform 2b g32", algo("uniform", bits=2)),
    ("uniform 2b g128", algo("uniform", bits=2, group_size=128)),
    # 2.25 bits: AQPIM's default
    ("pq s4 K512", pq(4, 512)),
    ("pq s4 K512 plain", pq(4, 512, **PLAIN)),
    # 3 bits
    ("pq s2 K64", pq(2, 64)),
    ("pq s2 K64 plain", pq(2, 64, **PLAIN)),
    ("uniform 3b g32", algo("uniform", bits=3)),
    ("uniform 3b g128", algo("uniform", bits=3, group_size=128)),
    # 4 bits
    ("pq s2 K256", pq(2, 256)),
    ("pq s1 K16", pq(1, 16)),
    ("uniform 4b g32", algo("uniform", bits=4)),
    ("uniform 4b g128", algo("uniform", bits=4, group_size=128)),
    # 8 bits
    ("uniform 8b g32", algo("uniform", bits=8)),
    # cluster-sparse (FP16 values, fewer tokens read)
    ("cluster_sparse budget 128", algo("cluster_sparse", token_budget=128, sink_tokens=0)),
    ("cluster_sparse budget 256", algo("cluster_sparse", token_budget=256, sink_tokens=0)),
    ("cluster_sparse budget 512", algo("cluster_sparse", token_budget=512, sink_tokens=0)),
]

ABLATION = [(f"pq s{s} K{k} {tag}", pq(s, k, importance_weighted=imp, channel_sort=srt))
            for s, k in ((4, 64), (2, 16), (4, 256))
            for tag, imp, srt in (("plain", False, False), ("+importance", True, False),
                                  ("+channel sort", False, True), ("+both", True, True))]

# Long-context points (issue 10: 4,096-token sequences, 3,584-token prefill): PQ subvector dim 2-64 x
# centroids 16-1,024, the refresh policies, uniform 1-8 bits, cluster-sparse budgets 256-4,096.
LONG_POINTS: list[tuple[str, dict[str, Any]]] = [
    ("fp16", algo("fp16")),
    *((f"pq s{s} K{k}", pq(s, k)) for s, ks in ((2, (16, 64, 256)), (4, (16, 64, 256, 512, 1024)),
                                                (8, (16, 64, 256, 1024)), (16, (64, 256, 1024)),
                                                (32, (256, 1024)), (64, (1024,)))
      for k in ks),
    ("pq s4 K64 windowed 256", pq(4, 64, refresh="windowed", refresh_window_tokens=256)),
    ("pq s4 K64 online 16", pq(4, 64, refresh="online", refresh_interval=16)),
    ("pq s4 K256 windowed 256", pq(4, 256, refresh="windowed", refresh_window_tokens=256)),
    ("pq s4 K256 online 16", pq(4, 256, refresh="online", refresh_interval=16)),
    ("pq s8 K256 windowed 256", pq(8, 256, refresh="windowed", refresh_window_tokens=256)),
    ("pq s4 K256 plain", pq(4, 256, **PLAIN)),
    ("pq s4 K256 no sinks/window", pq(4, 256, sink_tokens=0, window_tokens=0)),
    *((f"uniform {b}b g32", algo("uniform", bits=b)) for b in (1, 2, 3, 4, 5, 6, 8)),
    ("uniform 2b g128", algo("uniform", bits=2, group_size=128)),
    ("uniform 4b g128", algo("uniform", bits=4, group_size=128)),
    # sink_tokens=0: STARC as published (the shipped conf/algo reads 4 sinks, for the reason below)
    *((f"cluster_sparse budget {b}", algo("cluster_sparse", token_budget=b, sink_tokens=0))
      for b in (256, 512, 1024, 2048, 3072, 4096)),
    # the attention sink: cluster selection does not always read token 0 (docs/proxy.md "Fidelity at 4K")
    *((f"cluster_sparse budget {b} sinks 4", algo("cluster_sparse", token_budget=b, sink_tokens=4))
      for b in (256, 1024)),
]
