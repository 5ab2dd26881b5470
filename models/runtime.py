"""One loaded model per process, chosen by the proxy's model spec."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .loader import LoadedModel, load_gguf, load_hf_dir
from .locate import default_gguf
from .spec import ModelSpec


@cache
def get_model(spec: ModelSpec) -> LoadedModel:
    if spec.source == "gguf":
        model = load_gguf(Path(spec.path) if spec.path else default_gguf())
    else:
        if not spec.path:
            raise ValueError("proxy.model.path=None: source hf needs a local model directory")
        model = load_hf_dir(Path(spec.path))
    model.weights = model.weights.to(spec.device)
    return model
