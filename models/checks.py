"""Checks of a proxy spec against what it names on this machine: the model file (its metadata only:
shape and native context), the corpus (its token counts), the torch device and the cache directory.
Each raises a one-line SpecError naming the field; none loads a model or writes outside the cache
directory.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from spec.errors import SpecError

from .gguf_meta import read_metadata
from .plays import missing_default
from .spec import ProxySpec
from .text import check_text_fits, corpus_path, model_path

CONTEXT_KEY = "{arch}.context_length"
HEAD_DIM_KEY = "{arch}.attention.key_length"  # Gemma: not d_model / heads; absent from Llama GGUFs


@dataclass(frozen=True)
class ModelShape:
    head_dim: int
    n_layers: int
    context_tokens: int | None  # native context (positions the model was trained on); None: not stated


def check_machine(proxy: ProxySpec) -> ModelShape:
    """Every check of this module, in the order of the keys; returns the model's shape."""
    shape = model_shape(proxy.model.source, model_path(proxy))
    check_device(proxy.model.device)
    if proxy.layers and proxy.layers[-1] >= shape.n_layers:
        raise SpecError("proxy.layers", list(proxy.layers), f"layer indices must be < {shape.n_layers}")
    if shape.context_tokens is not None and proxy.seq_tokens > shape.context_tokens:
        raise SpecError("proxy.seq_tokens", proxy.seq_tokens,
                        f"must be <= {shape.context_tokens}: the model's native context")
    if proxy.mode == "retrieval":
        check_retrieval_lengths(proxy, shape)
    check_cache_dir(proxy.cache_dir)  # before the corpus: an unknown corpus's token count is cached there
    check_corpus(proxy)
    return shape


@cache
def model_shape(source: str, path: Path | None) -> ModelShape:
    """Head dim, layer count and native context from the model's metadata only (no weights are read)."""
    try:
        return _gguf_shape(path) if source == "gguf" else _hf_shape(path)
    except (OSError, ValueError) as e:  # unreadable paths: too long, a NUL byte, no permission
        raise SpecError("proxy.model.path", str(path), f"not a readable model path ({_reason(e)})") from None


def _gguf_shape(path: Path | None) -> ModelShape:
    if path is None or not path.is_file():
        raise SpecError("proxy.model.path", str(path), "GGUF file does not exist")
    keys = {"{arch}.embedding_length", "{arch}.attention.head_count", "{arch}.block_count"}
    try:
        meta = read_metadata(path, keys, frozenset({CONTEXT_KEY, HEAD_DIM_KEY}))
    except (ValueError, struct.error, UnicodeDecodeError) as e:
        raise SpecError("proxy.model.path", str(path), f"not a readable GGUF file ({e})") from None
    if keys - meta.keys():
        raise SpecError("proxy.model.path", str(path), f"GGUF file lacks {sorted(keys - meta.keys())}")
    context = meta.get(CONTEXT_KEY)
    heads = int(meta["{arch}.attention.head_count"])
    head_dim = int(meta.get(HEAD_DIM_KEY) or int(meta["{arch}.embedding_length"]) // heads)
    return ModelShape(head_dim, int(meta["{arch}.block_count"]), None if context is None else int(context))


def _hf_shape(path: Path | None) -> ModelShape:
    if path is None or not (path / "config.json").is_file():
        raise SpecError("proxy.model.path", None if path is None else str(path),
                        "must be a local Hugging Face model dir with config.json")
    c = json.loads((path / "config.json").read_text())
    context = c.get("max_position_embeddings")
    return ModelShape(int(c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]),
                      int(c["num_hidden_layers"]), None if context is None else int(context))


def check_retrieval_lengths(proxy: ProxySpec, shape: ModelShape) -> None:
    """Every retrieval prompt fits the model's native context (checked in retrieval mode only)."""
    lengths = proxy.retrieval.lengths
    if shape.context_tokens is not None and lengths[-1] > shape.context_tokens:
        raise SpecError("proxy.retrieval.lengths", list(lengths),
                        f"every length must be <= {shape.context_tokens}: the model's native context")


def check_device(device: str) -> None:
    """The device exists here: cpu always; cuda / cuda:N / mps when torch sees it."""
    field = "proxy.model.device"
    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device[5:]) if device != "cuda" else 0
        if index >= count:
            raise SpecError(field, device, f"torch sees {count} CUDA device(s) here; use cpu")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise SpecError(field, device, "torch sees no MPS device here; use cpu")


def check_corpus(proxy: ProxySpec) -> None:
    """The corpus exists and holds the calibration and evaluation sequences asked for."""
    path = corpus_path(proxy)
    try:
        exists = path.is_file()
    except OSError as e:
        raise SpecError("proxy.text.path", str(path), f"not a readable path ({_reason(e)})") from None
    if not exists and proxy.text.source == "plays" and not proxy.text.path:
        raise missing_default(path)
    if not exists:
        raise SpecError("proxy.text.path", str(path), "corpus file does not exist")
    check_text_fits(proxy)


def check_cache_dir(cache_dir: str) -> None:
    """The directory exists or can be created: its nearest existing ancestor is a writable directory
    and the missing names are legal. Nothing is created here."""
    field = "proxy.cache_dir"
    try:
        path = Path(os.path.abspath(cache_dir))
        missing = []
        while not path.exists():
            missing.append(path.name)
            path = path.parent
        is_dir = path.is_dir()
        name_max = os.pathconf(path, "PC_NAME_MAX") if is_dir else 0
        names = [os.fsencode(name) for name in missing]  # a name the file system cannot encode fails here
    except (OSError, ValueError) as e:
        raise SpecError(field, cache_dir, f"not a usable directory path ({_reason(e)})") from None
    if not is_dir:
        raise SpecError(field, cache_dir, f"{str(path)!r} is a file, not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise SpecError(field, cache_dir, f"{str(path)!r} is not writable")
    if any(b"\0" in name or len(name) > name_max for name in names):
        raise SpecError(field, cache_dir, f"a directory name holds NUL or is longer than {name_max} bytes")


def _reason(e: Exception) -> str:
    """Why a path failed, without repeating the (possibly very long) path."""
    return getattr(e, "strerror", None) or str(e)
