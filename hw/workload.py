"""What one decode step asks for: context length, batch, steps to amortise one-off work over."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hw.fields import Num, number, section
from hw.model_shape import ModelShape


@dataclass(frozen=True)
class Workload:
    """A decode step of `model` over `context_tokens` cached tokens for `batch` sequences."""

    model: ModelShape
    context_tokens: Num  # tokens already in the KV cache at the costed step
    batch: Num
    decode_steps: Num  # steps after prefill over which prefill clustering and refreshes amortise


def build_workload(cfg: Mapping[str, Any], model: ModelShape) -> Workload:
    cfg = section(cfg, "workload")
    return Workload(
        model=model,
        context_tokens=number(cfg, "context_tokens", "workload", ge=1, integer=True),
        batch=number(cfg, "batch", "workload", ge=1, integer=True),
        decode_steps=number(cfg, "decode_steps", "workload", ge=1, integer=True),
    )
