"""Real text, tokenized and cut into disjoint calibration and evaluation sequences.

Layout of the corpus tokens: `calib_seqs` calibration sequences, `eval_offset_tokens` skipped, then
`n_seqs` evaluation sequences, each `seq_tokens` long. Whether that fits is checked against the
corpus's token count, which costs a tokenizer load once and is then cached on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

from spec.errors import SpecError

from .loader import load_tokenizer
from .locate import DEFAULT_GGUF, default_gguf, gensim_corpus
from .spec import ProxySpec

DEFAULT_CORPUS = "lee_background.cor"  # Lee et al. news corpus, ~60K words, shipped with gensim
KNOWN_TOKEN_COUNTS = {(DEFAULT_GGUF, 98362432, DEFAULT_CORPUS, 360082): 75680}
"""(model file, its bytes, corpus file, its bytes) -> tokens: the shipped model on the shipped corpus,
so validating the default text needs no tokenizer (a test re-counts it)."""


@dataclass(frozen=True)
class Splits:
    calib: torch.Tensor  # [calib_seqs, seq_tokens] token ids, taken first from the corpus
    eval: torch.Tensor  # [n_seqs, seq_tokens] token ids, after the calibration tokens (disjoint)


def corpus_path(spec: ProxySpec) -> Path:
    return Path(spec.text.path) if spec.text.path else gensim_corpus(DEFAULT_CORPUS)


def model_path(spec: ProxySpec) -> Path | None:
    """The model file (gguf) or directory (hf); None for an hf model without a path (an error)."""
    if spec.model.path:
        return Path(spec.model.path)
    return default_gguf() if spec.model.source == "gguf" else None


def tokenize(tokenizer: Any, path: Path) -> torch.Tensor:
    """Token ids [T] of a UTF-8 text file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError("proxy.text.path", str(path), f"not a readable UTF-8 text file ({e})") from None
    return torch.tensor(tokenizer(text).input_ids, dtype=torch.long)


def check_fits(spec: ProxySpec, total: int) -> None:
    """SpecError naming the first key (in corpus order) whose sequences run past the corpus's `total`
    tokens."""
    n, t = spec.seq_tokens, spec.text
    name = corpus_path(spec).name
    calib = t.calib_seqs * n
    if 2 * n > total:
        raise SpecError("proxy.seq_tokens", n, f"must be <= {total // 2}: one calibration and one "
                        f"evaluation sequence of the corpus {name} ({total} tokens)")
    if calib + n > total:
        raise SpecError("proxy.text.calib_seqs", t.calib_seqs, f"must be <= {total // n - 1}: "
                        f"{name} has {total} tokens for calibration and one evaluation sequence")
    if calib + t.eval_offset_tokens + n > total:
        raise SpecError("proxy.text.eval_offset_tokens", t.eval_offset_tokens,
                        f"must be <= {total - calib - n}: {name} has {total} tokens, calibration takes "
                        f"{calib} and one evaluation sequence {n}")
    before = calib + t.eval_offset_tokens
    if before + spec.n_seqs * n > total:
        raise SpecError("proxy.n_seqs", spec.n_seqs, f"must be <= {(total - before) // n}: {name} has "
                        f"{total} tokens, calibration and offset take {before}")


def corpus_tokens(spec: ProxySpec) -> int:
    """Tokens of the corpus under the model's tokenizer: known, cached on disk, or counted once."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None, "validated before: an hf model has a path"
    size = corpus.stat().st_size
    known = (model.name, model.stat().st_size if model.is_file() else -1, corpus.name, size)
    if spec.model.source == "gguf" and known in KNOWN_TOKEN_COUNTS:
        return KNOWN_TOKEN_COUNTS[known]
    ident = [spec.model.source, str(model.resolve()), str(corpus.resolve()), size, corpus.stat().st_mtime_ns]
    return _counted(Path(spec.cache_dir) / "corpus", json.dumps(ident), spec.model.source, model, corpus)


@cache
def _counted(root: Path, ident: str, source: str, model: Path, corpus: Path) -> int:
    path = root / f"tokens-{hashlib.sha256(ident.encode()).hexdigest()[:20]}.json"
    if path.is_file():
        return int(json.loads(path.read_text())["tokens"])
    count = int(tokenize(load_tokenizer(source, model), corpus).numel())
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent writers write the same count
    tmp.write_text(json.dumps({"tokens": count, "ident": json.loads(ident)}))
    tmp.replace(path)
    return count


def make_splits(tokenizer: Any, spec: ProxySpec) -> Splits:
    ids = tokenize(tokenizer, corpus_path(spec))
    check_fits(spec, ids.numel())
    n = spec.seq_tokens
    n_calib = spec.text.calib_seqs * n
    start = n_calib + spec.text.eval_offset_tokens
    need = start + spec.n_seqs * n
    return Splits(ids[:n_calib].view(-1, n), ids[start:need].view(-1, n))
