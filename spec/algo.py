"""The KV-cache algorithm of a design point (conf/algo): one spec class per algorithm, read once and
shared by the cost model (hw/) and the accuracy proxy (models/), so a point is always costed as the
same algorithm it is scored as.

Every key either scorer reads is here, with one default, its bounds and a doc line. Rules that need
the model (subvector dim divides head_dim) are checked by `check_model`; rules that need the
proxy's sequence geometry (centroids <= prefill tokens) stay with the proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from spec.errors import SpecError
from spec.fields import Num, build, choice, flag, mapping, number, require

REFRESH_POLICIES = ("static", "windowed", "online")


@dataclass(frozen=True, kw_only=True)
class Algorithm:
    """What every algorithm spec has; subclasses add their keys as fields."""

    exact_tokens: ClassVar[bool] = False
    """Whether every cached token stays in FP16 (nothing is quantized)."""

    def check(self, path: str) -> None:
        """Rules between fields (none by default)."""

    def check_model(self, head_dim: Num, path: str) -> None:
        """Rules between the algorithm and the model's head dimension (none by default)."""


@dataclass(frozen=True, kw_only=True)
class Fp16(Algorithm):
    """Uncompressed FP16 KV cache (the AttAcc! baseline)."""

    name: str = choice("algorithm", ("fp16",), default="fp16")
    exact_tokens: ClassVar[bool] = True

    @property
    def sink_tokens(self) -> int:
        return 0

    @property
    def window_tokens(self) -> int:
        return 0


@dataclass(frozen=True, kw_only=True)
class Uniform(Algorithm):
    """KIVI-style int-k (arXiv 2402.02750): keys per channel over groups of group_size tokens,
    values per token over groups of group_size channels; each group has a scale and a zero point."""

    name: str = choice("algorithm", ("uniform",), default="uniform")
    bits: Num = number("bits per stored element; 1-8 or 16", unit="bit", default=4, ge=1, le=16, integer=True)
    group_size: Num = number(
        "elements sharing one scale and zero point", default=32, ge=1, le=65536, integer=True
    )
    sink_tokens: Num = number(
        "first tokens kept in FP16", unit="token", default=0, ge=0, le=1 << 20, integer=True
    )
    window_tokens: Num = number(
        "most recent tokens kept in FP16", unit="token", default=32, ge=0, le=1 << 20, integer=True
    )
    scale_bytes: Num = number(
        "bytes of one scale (a zero point of the same width is stored too)", unit="B", default=2, ge=0, le=8
    )

    def check(self, path: str) -> None:
        bits = np.asarray(self.bits)
        require((bits <= 8) | (bits == 16), f"{path}.bits", self.bits, "must be 1..8 or 16")


@dataclass(frozen=True, kw_only=True)
class Pq(Algorithm):
    """AQPIM product quantization (HPCA'26): m = head_dim / subvector_dim subspaces with n_centroids
    each, separate codebooks per layer, KV head and tensor (K, V)."""

    name: str = choice("algorithm", ("pq",), default="pq")
    subvector_dim: Num = number(
        "s: head dims per subvector (m = head_dim / s)", default=4, ge=1, le=4096, integer=True
    )
    n_centroids: Num = number(
        "K: centroids per subspace; a code has ceil(log2 K) bits", default=512, ge=2, le=1 << 16, integer=True
    )
    sink_tokens: Num = number(
        "first tokens kept in FP16", unit="token", default=8, ge=0, le=1 << 20, integer=True
    )
    window_tokens: Num = number(
        "most recent tokens kept in FP16", unit="token", default=32, ge=0, le=1 << 20, integer=True
    )
    kmeans_iters: Num = number(
        "k-means iterations building the codebooks", default=4, ge=1, le=1000, integer=True
    )
    importance_weighted: bool = flag(
        "weight k-means by the attention the last prefill queries give", default=True
    )
    importance_queries: Num = number(
        "last prefill queries whose attention sets the weights", default=32, ge=1, le=4096, integer=True
    )
    channel_sort: bool = flag("fixed head-dim permutation grouping similar channels", default=True)
    refresh: str = choice("codebook refresh policy", REFRESH_POLICIES, default="static")
    refresh_window_tokens: Num = number(
        "windowed: tokens per window (a new codebook each)",
        unit="token",
        default=1024,
        ge=1,
        le=1 << 24,
        integer=True,
    )
    refresh_interval: Num = number(
        "online: decode steps between centroid updates",
        unit="step",
        default=1,
        ge=1,
        le=1 << 24,
        integer=True,
    )

    def check_model(self, head_dim: Num, path: str) -> None:
        require(
            np.asarray(head_dim) % np.asarray(self.subvector_dim) == 0,
            f"{path}.subvector_dim",
            self.subvector_dim,
            f"must divide model.head_dim ({_num(head_dim)})",
        )

    @property
    def code_bits(self) -> Num:
        """Bits of one code: ceil(log2 n_centroids)."""
        return np.ceil(np.log2(self.n_centroids))


@dataclass(frozen=True, kw_only=True)
class ClusterSparse(Algorithm):
    """STARC (arXiv 2505.05772): keys clustered after prefill (cosine k-means), whole clusters read
    until token_budget is met; new tokens sit in a buffer re-clustered every recluster_interval steps."""

    name: str = choice("algorithm", ("cluster_sparse",), default="cluster_sparse")
    cluster_tokens: Num = number(
        "mean tokens a cluster", unit="token", default=32, ge=1, le=1 << 20, integer=True
    )
    token_budget: Num = number(
        "tokens read a decode step (whole clusters)",
        unit="token",
        default=1024,
        ge=1,
        le=1 << 30,
        integer=True,
    )
    recluster_interval: Num = number(
        "decode steps between re-clusterings of the new-token buffer",
        unit="step",
        default=128,
        ge=1,
        le=1 << 24,
        integer=True,
    )
    kmeans_iters: Num = number("k-means iterations", default=4, ge=1, le=1000, integer=True)
    # 4, not STARC's 0: without the attention sink the loss collapses at 4K tokens (docs/proxy.md).
    sink_tokens: Num = number(
        "first tokens kept always read", unit="token", default=4, ge=0, le=1 << 20, integer=True
    )
    window_tokens: Num = number(
        "most recent tokens always read", unit="token", default=0, ge=0, le=1 << 20, integer=True
    )
    exact_tokens: ClassVar[bool] = True


ALGORITHMS: dict[str, type] = {"fp16": Fp16, "uniform": Uniform, "pq": Pq, "cluster_sparse": ClusterSparse}
"""Algorithm name (conf/algo `name`) -> spec class. Adding an algorithm adds an entry here."""

AlgoSpec = Fp16 | Uniform | Pq | ClusterSparse


def parse_algo(cfg: Mapping[str, Any] | Any, path: str = "algo") -> AlgoSpec:
    """Validate a conf/algo dict and return its spec; raise SpecError naming `algo.<key>`."""
    cfg = mapping(cfg, path)
    name = cfg.get("name")
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise SpecError(f"{path}.name", name, f"must be one of {', '.join(ALGORITHMS)}")
    return build(ALGORITHMS[name], cfg, path)


def _num(x: Num) -> str:
    return f"{float(x):g}" if np.ndim(x) == 0 else "per design point"
