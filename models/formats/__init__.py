"""The KV formats of the proxy, one module each, registered by algorithm name (conf/algo `name`).

Every module of this package is imported here and every `KvFormat` subclass it defines is
registered, so adding a format is one new module (next to its spec class in `spec.algo` and its
conf/algo file).
"""

from __future__ import annotations

import importlib
import pkgutil

from spec.algo import AlgoSpec

from ..spec import ProxySpec
from .base import Compressed, KvBatch, KvFormat


def _registry() -> dict[str, type[KvFormat]]:
    """Import every module of the package; each KvFormat subclass is registered under its algorithm."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return {cls.algorithm: cls for cls in KvFormat.__subclasses__()}


FORMATS = _registry()
"""Algorithm name -> KV format class."""


def format_for(algo: AlgoSpec, proxy: ProxySpec) -> KvFormat:
    """The KV format that runs `algo` under `proxy`."""
    return FORMATS[algo.name](algo, proxy)


__all__ = ["FORMATS", "Compressed", "KvBatch", "KvFormat", "format_for"]
