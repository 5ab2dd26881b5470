"""Long-range tokens: decode positions whose prediction needs context far back.

A position p (predicting token p + 1) is long-range when the exact model's loss with the whole
sequence before it is at least `LongRangeRule.margin_nats` lower than with only a short context: the
first `sinks` tokens of the sequence plus the most recent `window` to `window + chunk - 1` tokens.
The sinks are kept because a model whose first tokens are cut off degrades everywhere (the
attention-sink effect, docs/sources.md [streamingllm]); without them every token would look
long-range. The short-context run is done in chunks of `chunk` positions, each one forward over
sinks + [chunk start - window, chunk end), so it costs about (window + chunk) / chunk forwards of the
decode span instead of one forward per position.
Computed once per evaluation capture with the exact model and cached on disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from .forward import ModelWeights, forward, logits
from .progress import long_run

POSITION_CHUNK = 1024
"""Positions whose vocab-sized logits are held at once: ~0.2 GB per fp32 [1024, 49152] tensor for
SmolLM2, so an 8K sequence stays bounded."""


@dataclass(frozen=True)
class LongRangeRule:
    """Which positions count as long-range (see the module doc); the defaults are justified in
    docs/proxy.md "Long-range tokens"."""

    sinks: int = 4  # tokens, the first of the sequence
    window: int = 256  # tokens: the least recent context a short-context position sees
    chunk: int = 256  # positions per short-context forward (each sees window .. window + chunk - 1)
    margin_nats: float = 0.5  # loss(short) - loss(full) >= this: far context makes it >= 1.65x likelier


def token_nll(w: ModelWeights, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Next-token NLL [S, T] (nats) of targets [S, T] under final normed hidden states [S, T, D]."""
    out = torch.empty(targets.shape, dtype=torch.float32)
    for s in range(hidden.shape[0]):
        for a in range(0, hidden.shape[1], POSITION_CHUNK):
            b = a + POSITION_CHUNK
            lp = torch.log_softmax(logits(w, hidden[s, a:b]).float(), -1)
            out[s, a:b] = -lp.gather(-1, targets[s, a:b][:, None].to(lp.device))[:, 0].cpu()
    return out


def short_context_nll(w: ModelWeights, ids: torch.Tensor, prefill: int, rule: LongRangeRule,
                      on_chunk: Callable[[], None] = lambda: None) -> torch.Tensor:
    """NLL [S, L - prefill - 1] of tokens prefill + 1 .. L - 1 seen with only sinks + a recent window;
    `on_chunk()` after each chunk's forward (a progress bar)."""
    n_seq, length = ids.shape
    out = torch.empty(n_seq, length - prefill - 1)
    for a in range(prefill, length - 1, rule.chunk):
        b = min(a + rule.chunk, length - 1)  # positions a .. b - 1 predict tokens a + 1 .. b
        start = max(rule.sinks, a - rule.window)
        ctx = torch.cat([ids[:, :rule.sinks], ids[:, start:b]], dim=1)
        hidden = forward(w, ctx)[:, -(b - a):]
        out[:, a - prefill:b - prefill] = token_nll(w, hidden, ids[:, a + 1:b + 1])
        on_chunk()
    return out


@dataclass(frozen=True)
class LongRange:
    """Per scored decode position [S, T]: exact NLL with the full and with the short context, and the mask."""

    nll_full: torch.Tensor
    nll_short: torch.Tensor
    mask: torch.Tensor  # bool: long-range positions


def long_range(w: ModelWeights, ids: torch.Tensor, ref_hidden: torch.Tensor, prefill: int,
               rule: LongRangeRule, cache_dir: Path, capture_digest: str) -> LongRange:
    """The long-range positions of one evaluation capture (ids [S, L], exact hidden [S, L - prefill, D]),
    computed once per (capture, rule) and kept under cache_dir/activations."""
    blob = json.dumps({"capture": capture_digest, "rule": asdict(rule), "v": 1}, sort_keys=True)
    name = f"longrange-{hashlib.sha256(blob.encode()).hexdigest()[:20]}.safetensors"
    path = cache_dir / "activations" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            dev = w.embed.device
            targets = ids[:, prefill + 1:]
            what = f"long-range tokens ({ids.shape[0]} x {ids.shape[1] - prefill - 1:,} positions)"
            with long_run(what, "chunk") as progress:
                progress.expect(len(range(prefill, ids.shape[1] - 1, rule.chunk)))
                full = token_nll(w, ref_hidden[:, :-1].to(dev), targets)
                short = short_context_nll(w, ids.to(dev), prefill, rule, progress.advance)
            tmp = path.with_suffix(".tmp")
            save_file({"nll_full": full.contiguous(), "nll_short": short.contiguous()}, str(tmp))
            tmp.replace(path)
    saved = load_file(str(path))
    full, short = saved["nll_full"], saved["nll_short"]
    return LongRange(full, short, short - full >= rule.margin_nats)
