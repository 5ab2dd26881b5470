"""Capture per-layer decode queries, post-RoPE keys and values on real text, cached in safetensors.

What the cache holds is what a KV cache holds: keys AFTER RoPE (HF rotate-half layout) and values.
Queries are post-RoPE too. Tensors (S sequences, Y captured layers, G KV heads, H query heads, d):
  k, v     [S, Y, G, L, d]   every position
  q_tail   [S, Y, H, T, d]   the last T = min(Q_TAIL, P) prefill queries (importance weights)
  q_dec    [S, Y, H, L - P, d]   every decode query (quick mode scores the last few; optional)
  ids      [S, L]            token ids
  hidden   [S, L - P, D]     final normed hidden state at decode positions (full-mode reference)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from .errors import ActivationError
from .forward import forward
from .progress import long_run
from .runtime import get_model
from .spec import ProxySpec
from .text import corpus_path, make_splits

Q_TAIL = 128  # prefill queries kept for importance weights (algo.importance_queries must be <= this)


def tail_queries(prefill: int) -> int:
    """Prefill queries captured: the last Q_TAIL, or the whole prefill when it is shorter."""
    return min(Q_TAIL, prefill)
_MEMO: dict[str, dict[str, torch.Tensor]] = {}


@dataclass(frozen=True)
class CaptureKey:
    split: str  # "calib" | "eval"
    layers: tuple[int, ...]  # () = all layers
    decode_queries: bool = True  # keep q_dec (quick mode scores it; full mode recomputes queries)

    def digest(self, spec: ProxySpec) -> str:
        path = corpus_path(spec)
        blob = {
            "model": spec.model.source + ":" + str(spec.model.path), "text": [path.name, path.stat().st_size],
            "seq": spec.seq_tokens, "prefill": spec.prefill_tokens, "n": spec.n_seqs,
            "calib": spec.text.calib_seqs, "offset": spec.text.eval_offset_tokens, "split": self.split,
            "layers": list(self.layers), "q_tail": tail_queries(spec.prefill_tokens),
            "q_dec": self.decode_queries, "v": 1,
        }
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:20]


def _run(spec: ProxySpec, key: CaptureKey) -> dict[str, torch.Tensor]:
    n_seqs = spec.text.calib_seqs if key.split == "calib" else spec.n_seqs
    what = f"capture of {key.split} activations ({n_seqs} x {spec.seq_tokens:,} tokens)"
    with long_run(what, "layer") as progress:  # the model and the text load inside: part of the wait
        model = get_model(spec.model)
        cfg = model.weights.config
        splits = make_splits(model.tokenizer, spec)
        ids = splits.calib if key.split == "calib" else splits.eval
        layers = list(key.layers) or list(range(cfg.n_layers))
        bad = [i for i in layers if i >= cfg.n_layers]
        if bad:
            raise ValueError(f"proxy.layers={bad}: the model has {cfg.n_layers} layers")
        p = spec.prefill_tokens
        tail = tail_queries(p)
        out: dict[str, list[torch.Tensor]] = {"k": [], "v": [], "q_tail": [], "q_dec": [], "hidden": []}
        progress.expect(len(ids) * cfg.n_layers)
        for row in ids:
            rec: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

            def on_qkv(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rec=rec) -> None:
                progress.advance()  # layer i has begun: a bar over every layer of every sequence
                if i in layers:
                    rec[i] = (q[0].cpu(), k[0].cpu(), v[0].cpu())

            hidden = forward(model.weights, row[None].to(spec.model.device), on_qkv=on_qkv)
            out["k"].append(torch.stack([rec[i][1] for i in layers]))
            out["v"].append(torch.stack([rec[i][2] for i in layers]))
            out["q_tail"].append(torch.stack([rec[i][0][:, p - tail:p] for i in layers]))
            out["q_dec"].append(torch.stack([rec[i][0][:, p:] for i in layers]))
            out["hidden"].append(hidden[0, p:].cpu())
    if not key.decode_queries:
        del out["q_dec"]
    cap = {name: torch.stack(t).contiguous() for name, t in out.items()}
    cap["ids"] = ids.clone()
    cap["layers"] = torch.tensor(layers)
    check_finite(cap, layers)
    return cap


def check_finite(cap: dict[str, torch.Tensor], layers: list[int]) -> None:
    """Raise ActivationError naming the first layer and head whose k, v or q holds NaN/inf."""
    for name in ("k", "v", "q_tail", "q_dec"):
        if name not in cap:
            continue
        bad = ~torch.isfinite(cap[name]).flatten(3).all(-1).all(0)  # [Y, heads]
        if bad.any():
            y, h = (int(i) for i in bad.nonzero()[0])
            raise ActivationError(f"non-finite {name} activations in layer {layers[y]} head {h}")


def load_capture(spec: ProxySpec, key: CaptureKey) -> dict[str, torch.Tensor]:
    """Captured tensors for `key`, computed once per cache_dir and reused across processes."""
    digest = key.digest(spec)
    if digest in _MEMO:
        return _MEMO[digest]
    root = Path(spec.cache_dir) / "activations"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{key.split}-{digest}.safetensors"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            save_file(_run(spec, key), str(tmp))
            tmp.replace(path)
    cap = load_file(str(path))
    _MEMO[digest] = cap
    return cap
