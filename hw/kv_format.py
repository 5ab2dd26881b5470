"""conf/algo dict -> the hw format object of that algorithm (validated against the model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hw.formats import FORMATS, KvFormat
from hw.model_shape import ModelShape
from spec.algo import parse_algo
from spec.errors import SpecError


def build_kv_format(cfg: Mapping[str, Any], model: ModelShape) -> KvFormat:
    """Parse `cfg` with `spec.algo` (the spec models/ scores too), check it against the model's head
    dim and wrap it in its hw format; raise SpecError naming algo.<field>."""
    algo = parse_algo(cfg, "algo")
    algo.check_model(model.head_dim, "algo")
    fmt = FORMATS.get(algo.name)
    if fmt is None:
        raise SpecError("algo.name", algo.name, f"has no hw cost model; costed: {', '.join(FORMATS)}")
    return fmt(algo)
