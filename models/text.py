"""Real text, tokenized and cut into disjoint calibration and evaluation sequences.

proxy.text.source lee (a plain text file, by default gensim's Lee news corpus): the file is one token
stream: `calib_seqs` calibration sequences, `eval_offset_tokens` skipped, then `n_seqs` evaluation
sequences, each `seq_tokens` long. Whether that fits is checked against the corpus's token count.
proxy.text.source wiki (a MediaWiki dump, by default gensim's English Wikipedia test dump): sequences
are cut inside one article, calibration and evaluation take disjoint articles (`models.wiki`); the
fit is checked against every article's token count.
Counts of a corpus other than the shipped one cost a tokenizer load once and are then cached on disk.
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
from .wiki import DEFAULT_WIKI, ArticleCut, plan_articles, read_articles

DEFAULT_CORPUS = "lee_background.cor"  # Lee et al. news corpus, ~60K words, shipped with gensim
KNOWN_TOKEN_COUNTS = {(DEFAULT_GGUF, 98362432, DEFAULT_CORPUS, 360082): 75680}
"""(model file, its bytes, corpus file, its bytes) -> tokens: the shipped model on the shipped corpus,
so validating the default text needs no tokenizer (a test re-counts it)."""


@dataclass(frozen=True)
class Splits:
    calib: torch.Tensor  # [calib_seqs, seq_tokens] token ids, taken first from the corpus
    eval: torch.Tensor  # [n_seqs, seq_tokens] token ids, after the calibration tokens (disjoint)


def corpus_path(spec: ProxySpec) -> Path:
    if spec.text.path:
        return Path(spec.text.path)
    return gensim_corpus(DEFAULT_WIKI if spec.text.source == "wiki" else DEFAULT_CORPUS)


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


def check_text_fits(spec: ProxySpec) -> None:
    """SpecError naming the first key whose sequences do not fit the text (see the module doc)."""
    if spec.text.source == "wiki":
        plan_articles(article_tokens(spec), spec.seq_tokens, spec.text.calib_seqs, spec.n_seqs,
                      corpus_path(spec).name)
    else:
        check_fits(spec, corpus_tokens(spec))


def corpus_tokens(spec: ProxySpec) -> int:
    """Tokens of the corpus under the model's tokenizer: known, cached on disk, or counted once."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None, "validated before: an hf model has a path"
    size = corpus.stat().st_size
    known = (model.name, model.stat().st_size if model.is_file() else -1, corpus.name, size)
    if spec.model.source == "gguf" and known in KNOWN_TOKEN_COUNTS:
        return KNOWN_TOKEN_COUNTS[known]
    return _counted(Path(spec.cache_dir) / "corpus", _ident(spec), spec.model.source, model, corpus, False)[0]


def article_tokens(spec: ProxySpec) -> tuple[int, ...]:
    """Tokens of every article of the wiki dump (dump order), cached on disk: the first count costs a
    tokenizer load (~10 s CPU) plus parsing and tokenizing the dump (~7 s CPU for the default)."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None, "validated before: an hf model has a path"
    root = Path(spec.cache_dir) / "corpus"
    return _counted(root, _ident(spec, "articles"), spec.model.source, model, corpus, True)


def _ident(spec: ProxySpec, *kind: str) -> str:
    """What a count depends on (model, corpus file and its version); `kind` tells article counts apart."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None
    stat = corpus.stat()
    return json.dumps([spec.model.source, str(model.resolve()), str(corpus.resolve()), stat.st_size,
                       stat.st_mtime_ns, *kind])


@cache
def _counted(root: Path, ident: str, source: str, model: Path, corpus: Path, per_article: bool
             ) -> tuple[int, ...]:
    """(whole-file count,) of a text file, or one count per article of a wiki dump."""
    path = root / f"tokens-{hashlib.sha256(ident.encode()).hexdigest()[:20]}.json"
    if path.is_file():
        stored = json.loads(path.read_text())["tokens"]
        return tuple(stored) if isinstance(stored, list) else (int(stored),)
    tokens: int | list[int]
    if per_article:
        articles = read_articles(corpus)  # a file that is not a dump fails here, before the tokenizer loads
        tokenizer = load_tokenizer(source, model)
        tokens = [len(tokenizer(a).input_ids) for a in articles]
    else:
        tokens = int(tokenize(load_tokenizer(source, model), corpus).numel())
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent writers write the same counts
    tmp.write_text(json.dumps({"tokens": tokens, "ident": json.loads(ident)}))
    tmp.replace(path)
    return tuple(tokens) if isinstance(tokens, list) else (tokens,)


def make_splits(tokenizer: Any, spec: ProxySpec) -> Splits:
    if spec.text.source == "wiki":
        return _article_splits(tokenizer, spec)
    ids = tokenize(tokenizer, corpus_path(spec))
    check_fits(spec, ids.numel())
    n = spec.seq_tokens
    n_calib = spec.text.calib_seqs * n
    start = n_calib + spec.text.eval_offset_tokens
    need = start + spec.n_seqs * n
    return Splits(ids[:n_calib].view(-1, n), ids[start:need].view(-1, n))


def _article_splits(tokenizer: Any, spec: ProxySpec) -> Splits:
    """Sequences cut back to back from the start of the planned articles (`models.wiki`)."""
    path, n = corpus_path(spec), spec.seq_tokens
    ids = [torch.tensor(tokenizer(a).input_ids, dtype=torch.long) for a in read_articles(path)]
    plan = plan_articles([len(t) for t in ids], n, spec.text.calib_seqs, spec.n_seqs, path.name)

    def cut(cuts: tuple[ArticleCut, ...]) -> torch.Tensor:
        return torch.cat([ids[c.article][:c.seqs * n].view(-1, n) for c in cuts])

    return Splits(cut(plan.calib), cut(plan.eval))
