"""KV-cache formats, hw side: one module per format, each defining one `KvFormat` subclass.

`FORMATS` maps the algorithm name (conf/algo `name`, a key of `spec.algo.ALGORITHMS`) to that class.
It is collected from the modules of this package, so adding a format adds one module here (next to
its `spec.algo` class and its conf/algo file) and touches no composer.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType

from hw.formats.base import (
    CodebookLayout,
    Footprint,
    GpuAttentionWork,
    KvFormat,
    PimAttention,
)


def _collect() -> dict[str, type[KvFormat]]:
    """Every `KvFormat` subclass the modules of this package define, by its algorithm name."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return {fmt.name: fmt for fmt in KvFormat.__subclasses__()}


FORMATS: Mapping[str, type[KvFormat]] = MappingProxyType(_collect())

__all__ = ["FORMATS", "CodebookLayout", "Footprint", "GpuAttentionWork", "KvFormat", "PimAttention"]
