"""Real text, tokenized and cut into disjoint calibration and evaluation sequences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .locate import gensim_corpus
from .spec import ProxySpec

DEFAULT_CORPUS = "lee_background.cor"  # Lee et al. news corpus, ~60K words, shipped with gensim


@dataclass(frozen=True)
class Splits:
    calib: torch.Tensor  # [calib_seqs, seq_tokens] token ids, taken first from the corpus
    eval: torch.Tensor  # [n_seqs, seq_tokens] token ids, after the calibration tokens (disjoint)


def corpus_path(spec: ProxySpec) -> Path:
    return Path(spec.text.path) if spec.text.path else gensim_corpus(DEFAULT_CORPUS)


def make_splits(tokenizer: Any, spec: ProxySpec) -> Splits:
    path = corpus_path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"proxy.text.path: corpus {str(path)!r} does not exist")
    ids = torch.tensor(tokenizer(path.read_text(encoding="utf-8")).input_ids, dtype=torch.long)
    n = spec.seq_tokens
    n_calib = spec.text.calib_seqs * n
    start = n_calib + spec.text.eval_offset_tokens
    need = start + spec.n_seqs * n
    if need > ids.numel():
        raise ValueError(f"proxy.n_seqs={spec.n_seqs}: corpus {path.name} has {ids.numel()} tokens, "
                         f"calibration + evaluation need {need}")
    return Splits(ids[:n_calib].view(-1, n), ids[start:need].view(-1, n))
