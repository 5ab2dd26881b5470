"""What every KV format of the proxy has: the batch it compresses, what compression leaves, and the
base class whose subclasses (one a format, registered by algorithm name) fit and compress.

A format is an algorithm spec (`spec.algo`) bound to the proxy spec it is scored under. The proxy
walks it in one line: `check_proxy` and `check_model` (rules needing the proxy geometry or the
model), `fit` (calibration: channel orders, importance weights, codebooks, clusters), `compress`
(reconstructions, exact region, read mask, refreshes).
Shapes: N independent caches (sequences x layers), G KV heads, H query heads, L tokens, d head dim.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import torch

from spec.algo import Algorithm
from spec.errors import SpecError
from spec.fields import config_fields

from ..attention import ExactRegion
from ..calibration import Calibration
from ..spec import ProxySpec, require_one_point

AlgoT = TypeVar("AlgoT", bound=Algorithm)
FitT = TypeVar("FitT")

ReadMask = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(q [N,H,T,d], q_pos [T]) -> bool [N,H,T,L]: the tokens each query reads at all."""


@dataclass(frozen=True, eq=False)
class KvBatch:
    """N caches as stored (FP16 values held in FP32) and the queries calibration may read."""

    k16: torch.Tensor  # [N, G, L, d] post-RoPE keys, FP16-rounded
    v16: torch.Tensor  # [N, G, L, d]
    q_tail: torch.Tensor  # [N, H, T, d] the last T prefill queries (positions prefill-T .. prefill-1)
    prefill: int  # tokens [0, prefill) are prefilled; the cache is compressed when prefill ends

    @classmethod
    def stored(cls, k: torch.Tensor, v: torch.Tensor, q_tail: torch.Tensor, prefill: int) -> KvBatch:
        """The cache holds FP16, so every format starts from FP16-rounded K and V."""
        return cls(k.half().float(), v.half().float(), q_tail, prefill)


@dataclass(frozen=True, eq=False)
class Compressed:
    """The cache as a format leaves it after the whole stream."""

    k_hat: torch.Tensor  # [N, G, L, d] reconstructions read outside the exact region
    v_hat: torch.Tensor
    region: ExactRegion  # tokens read exactly
    refreshes: int  # codebook (or cluster) rebuilds after prefill, per codebook
    read_mask: ReadMask | None = None  # None: every visible token is read

    def read(self, q: torch.Tensor, q_pos: torch.Tensor) -> torch.Tensor | None:
        """Read mask [N, H, T, L] for the queries q at positions q_pos, None when every token is read."""
        return None if self.read_mask is None else self.read_mask(q, q_pos)


@dataclass(frozen=True)
class KvFormat(ABC, Generic[AlgoT, FitT]):
    """One KV-cache algorithm as the proxy runs it. Subclasses set `algorithm` (the conf/algo name)."""

    algo: AlgoT
    proxy: ProxySpec

    algorithm: ClassVar[str]
    cost_only: ClassVar[tuple[str, ...]] = ()
    """Spec keys that change the cost model's numbers but not the proxy's (left out of cache keys)."""

    def check_proxy(self) -> None:
        """Rules between the algorithm and the proxy geometry; one-line SpecError naming the field."""
        require_one_point(self.algo, "algo")
        self._check_exact_region()
        self.check_geometry()

    def check_model(self, head_dim: int) -> None:
        """Rules between the algorithm and the model (subvector dim divides head_dim)."""
        self.algo.check_model(head_dim, "algo")

    def check_geometry(self) -> None:
        """The format's own rules against the proxy geometry (none by default)."""

    def accuracy_params(self) -> dict[str, Any]:
        """The algorithm's keys that change the proxy's numbers, as plain JSON values."""
        out: dict[str, Any] = {}
        for f, rule in config_fields(type(self.algo)):
            if f.name not in self.cost_only:
                value = getattr(self.algo, f.name)
                out[f.name] = int(value) if rule.kind == "number" and rule.integer else value
        return out

    def cache_key(self) -> dict[str, Any]:
        """What identifies the format's numbers in the result cache."""
        return {"algo": self.accuracy_params()}

    def fit(self, batch: KvBatch, calibration: Calibration) -> FitT:
        """Calibrate on the batch (and the calibration split); nothing by default."""
        return None  # type: ignore[return-value]

    @abstractmethod
    def compress(self, batch: KvBatch, fitted: FitT) -> Compressed:
        """The cache as the format leaves it after the whole stream, from what `fit` returned."""

    def region(self, batch: KvBatch) -> ExactRegion:
        return ExactRegion(self.sink_tokens, self.window_tokens, batch.prefill)

    @property
    def sink_tokens(self) -> int:
        return int(getattr(self.algo, "sink_tokens", 0))  # a format without sinks keeps none

    @property
    def window_tokens(self) -> int:
        return int(getattr(self.algo, "window_tokens", 0))

    def _check_exact_region(self) -> None:
        sinks, window, prefill = self.sink_tokens, self.window_tokens, self.proxy.prefill_tokens
        if sinks + window >= prefill:
            name, value = ("sink_tokens", sinks) if sinks > window else ("window_tokens", window)
            raise SpecError(f"algo.{name}", value, f"sink_tokens ({sinks}) + window_tokens ({window}) must "
                            f"be < proxy.prefill_tokens ({prefill})")
