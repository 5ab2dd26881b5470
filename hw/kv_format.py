"""KV-cache formats (algorithm side of a design point) as typed, validated specs.

Only what changes bytes, operations or data movement is kept; accuracy-only keys (kmeans weighting,
channel sorting) are accepted and ignored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hw.fields import Num, choice, number, require, section
from hw.model_shape import ModelShape

FORMATS = ("fp16", "uniform", "pq", "cluster_sparse")
REFRESH_POLICIES = ("static", "windowed", "online")


@dataclass(frozen=True)
class Fp16Kv:
    name: str = "fp16"


@dataclass(frozen=True)
class UniformKv:
    """KIVI-style int-k: keys per channel, values per token, groups of group_size share scale+zero."""

    bits: Num
    group_size: Num
    sink_tokens: Num
    window_tokens: Num
    scale_bytes: Num  # bytes of one scale (a zero point of the same width is also stored)
    name: str = "uniform"


@dataclass(frozen=True)
class PqKv:
    """AQPIM product quantization: m = head_dim / subvector_dim subspaces of n_centroids each."""

    subvector_dim: Num
    n_centroids: Num
    sink_tokens: Num
    window_tokens: Num
    kmeans_iters: Num
    refresh: str
    refresh_window_tokens: Num
    refresh_interval: Num
    name: str = "pq"

    @property
    def code_bits(self) -> Num:
        return np.ceil(np.log2(self.n_centroids))


@dataclass(frozen=True)
class ClusterSparseKv:
    """STARC: keys clustered after prefill; whole clusters read until token_budget is met."""

    cluster_tokens: Num
    token_budget: Num
    recluster_interval: Num
    kmeans_iters: Num
    sink_tokens: Num
    window_tokens: Num
    name: str = "cluster_sparse"


KvFormat = Fp16Kv | UniformKv | PqKv | ClusterSparseKv


def build_kv_format(cfg: Mapping[str, Any], model: ModelShape) -> KvFormat:
    """Validate a conf/algo dict against the model's shapes; raise SpecError naming algo.<field>."""
    cfg = section(cfg, "algo")
    name = choice(cfg, "name", "algo", FORMATS)
    if name == "fp16":
        return Fp16Kv()
    if name == "uniform":
        return UniformKv(
            bits=number(cfg, "bits", "algo", ge=1, le=16, integer=True),
            group_size=number(cfg, "group_size", "algo", ge=1, integer=True),
            sink_tokens=number(cfg, "sink_tokens", "algo", ge=0, integer=True, default=0),
            window_tokens=number(cfg, "window_tokens", "algo", ge=0, integer=True, default=0),
            scale_bytes=number(cfg, "scale_bytes", "algo", ge=0, default=2),
        )
    if name == "pq":
        s = number(cfg, "subvector_dim", "algo", ge=1, integer=True)
        allowed = f"must divide model.head_dim ({model.head_dim:g})"
        require(model.head_dim % s == 0, "algo.subvector_dim", s, allowed)
        return PqKv(
            subvector_dim=s,
            n_centroids=number(cfg, "n_centroids", "algo", ge=2, integer=True),
            sink_tokens=number(cfg, "sink_tokens", "algo", ge=0, integer=True, default=0),
            window_tokens=number(cfg, "window_tokens", "algo", ge=0, integer=True, default=0),
            kmeans_iters=number(cfg, "kmeans_iters", "algo", ge=1, integer=True, default=4),
            refresh=choice(cfg, "refresh", "algo", REFRESH_POLICIES, default="static"),
            refresh_window_tokens=number(
                cfg, "refresh_window_tokens", "algo", ge=1, integer=True, default=1024
            ),
            refresh_interval=number(cfg, "refresh_interval", "algo", ge=1, integer=True, default=1),
        )
    return ClusterSparseKv(
        cluster_tokens=number(cfg, "cluster_tokens", "algo", ge=1, integer=True),
        token_budget=number(cfg, "token_budget", "algo", ge=1, integer=True),
        recluster_interval=number(cfg, "recluster_interval", "algo", ge=1, integer=True),
        kmeans_iters=number(cfg, "kmeans_iters", "algo", ge=1, integer=True, default=4),
        sink_tokens=number(cfg, "sink_tokens", "algo", ge=0, integer=True, default=0),
        window_tokens=number(cfg, "window_tokens", "algo", ge=0, integer=True, default=0),
    )
