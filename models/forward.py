"""The model forward and output head of whichever architecture the weights are (Llama or Gemma 3).

Both take the same hooks (`models.llama.forward`); callers that do not care which model runs (capture,
full mode) import from here.
"""

from __future__ import annotations

from typing import Any

import torch

from . import gemma3, llama

ModelWeights = llama.LlamaWeights | gemma3.Gemma3Weights


def forward(w: ModelWeights, ids: torch.Tensor, **hooks: Any) -> torch.Tensor:
    """Final normed hidden states [B,T,D] of ids [B,T]; hooks (past, attend, on_qkv) as in llama.forward."""
    if isinstance(w, gemma3.Gemma3Weights):
        return gemma3.forward(w, ids, **hooks)
    return llama.forward(w, ids, **hooks)


def logits(w: ModelWeights, hidden: torch.Tensor) -> torch.Tensor:
    """Next-token logits [..., vocab] of final hidden states [..., D]."""
    if isinstance(w, gemma3.Gemma3Weights):
        return gemma3.logits(w, hidden)
    return llama.logits(w, hidden)
