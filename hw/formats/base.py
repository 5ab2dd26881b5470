"""What the cost model asks of a KV-cache format, and the typed answers.

A format object wraps the algorithm's spec (`spec.algo`) and owns everything format-specific: its
footprint, the bytes a new vector takes, its attention work on a GPU, and its attention kernels on
PIM. The composers (`hw.evaluate`, the `max_context_tokens` solver, GPU attention) only call these
methods, so they hold no per-format branch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from hw.fields import Num
from hw.model_shape import ModelShape
from hw.roofline import KernelCost
from spec.algo import Algorithm

if TYPE_CHECKING:
    from hw.kernels.step import Step

FP16_BYTES = 2


@dataclass(frozen=True)
class Footprint:
    """KV bytes of the whole batch (all layers, KV heads, K and V)."""

    codes: Num
    codebooks: Num  # codebooks, centroids, or uniform scales and zero points
    full_precision: Num

    @property
    def total(self) -> Num:
        return self.codes + self.codebooks + self.full_precision


@dataclass(frozen=True)
class CodebookLayout:
    """How the quantizer parameters of one slice ((K or V) x layer x KV head x sequence) are placed:
    `banks` PEs hold the slice's tokens of one subspace, `copies` of them keep its codebooks. One
    bank and one copy unless a format spreads a slice over banks (PQ attention on PIM)."""

    banks: Num = 1.0
    copies: Num = 1.0


ONE_BANK = CodebookLayout()
"""A slice's tokens on one bank, with one codebook."""


@dataclass(frozen=True)
class GpuAttentionWork:
    """What one decode step's attention needs on a GPU: `flops` (all layers, the batch) and
    `bytes_read` (KV bytes read, B)."""

    flops: Num
    bytes_read: Num


@dataclass(frozen=True)
class PimAttention:
    """A format's attention kernels on PIM, and what the shared score/softmax round trip carries.

    kernels: the format's own kernels (everything between `kv_append` and `attn_softmax`), in report
    order; softmax_scores: scores per layer over the batch that go through softmax; moved_bytes:
    other bank -> buffer-die bytes per layer (e.g. PQ partial scores); output_dims_per_pe: values
    per query head in every PE's partial output (None: the head dim over `head_split`).
    """

    kernels: dict[str, KernelCost]
    softmax_scores: Num
    moved_bytes: Num = 0.0
    output_dims_per_pe: Num | None = None


@dataclass(frozen=True)
class KvFormat(ABC):
    """One KV-cache format, hw side: subclasses set `name` (the conf/algo name) and hold `algo`,
    that algorithm's spec from `spec.algo` (the one models/ scores)."""

    name: ClassVar[str]
    algo: Algorithm

    def fp_tokens(self, context_tokens: Num) -> Num:
        """Tokens kept in FP16 at `context_tokens` tokens: the spec's sinks plus recent window, capped."""
        return np.minimum(context_tokens, self.algo.sink_tokens + self.algo.window_tokens)

    @property
    def knee_tokens(self) -> Num:
        """Context up to which every token is kept in FP16 (above it the footprint is affine)."""
        return self.fp_tokens(np.inf)

    def codebook_layout(self, step: Step) -> CodebookLayout:
        """Where this point keeps the quantizer parameters of a slice (see `CodebookLayout`)."""
        return ONE_BANK

    @abstractmethod
    def footprint(
        self, model: ModelShape, context_tokens: Num, batch: Num, layout: CodebookLayout = ONE_BANK
    ) -> Footprint:
        """KV bytes of the batch at `context_tokens` tokens a sequence."""

    @abstractmethod
    def rounding_slack(self, model: ModelShape, batch: Num, layout: CodebookLayout) -> Num:
        """Bytes that rounding up (a new group, window codebook or cluster) can add above the affine
        fit of the footprint in the context: `max_context_tokens` adds it so it never overestimates."""

    @abstractmethod
    def stored_bytes_per_vector(self, head_dim: Num) -> Num:
        """Bytes one new K or V vector takes once stored (codes for compressed formats)."""

    @abstractmethod
    def gpu_attention_work(self, step: Step) -> GpuAttentionWork:
        """FLOPs and KV bytes of one decode step's attention on a GPU."""

    @abstractmethod
    def pim_attention(self, step: Step) -> PimAttention:
        """Attention kernels over the KV in PIM, at the step's context."""


def slices(model: ModelShape, batch: Num) -> Num:
    """(K or V) x layer x KV head x sequence: the units a KV cache is stored in."""
    return 2 * model.n_layers * model.n_kv_heads * batch


def dense_gpu_flops(step: Step) -> Num:
    """GPU FLOPs per cached FP16 token: q.K and p.V, 2 FLOPs a MAC, every query head and layer."""
    return 4 * step.q_heads_total * step.model.head_dim * step.model.n_layers
