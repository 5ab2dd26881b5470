"""What one decode step asks for: context length, batch, steps to amortise one-off work over."""

from __future__ import annotations

from dataclasses import dataclass

from hw.fields import Num, count
from hw.model_shape import ModelShape


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A decode step of `model` over `context_tokens` cached tokens for `batch` sequences."""

    model: ModelShape  # the model the step runs (from conf/model; not a workload key)
    context_tokens: Num = count("tokens already in the KV cache at the costed step", unit="token", le=1 << 30)
    batch: Num = count("sequences decoded together", unit="sequence", le=1 << 16)
    decode_steps: Num = count(
        "steps after prefill over which prefill clustering and refreshes amortise", unit="step", le=1 << 30
    )
