"""On-disk result cache keyed by algorithm parameters and the proxy config; safe across processes.

One JSON file per key, written to a temporary name and renamed (atomic on POSIX), under a per-key
file lock so concurrent workers scoring the same point compute it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from filelock import FileLock

from .channel_sort import VERSION as SORT_VERSION
from .result import Accuracy
from .spec import AlgoSpec, PQSpec, ProxySpec

CACHE_VERSION = 1  # bump when the numbers a key produces change


def result_key(algo: AlgoSpec, proxy: ProxySpec) -> str:
    blob: dict[str, Any] = {"algo": asdict(algo), "proxy": proxy.key_dict(), "v": CACHE_VERSION}
    if isinstance(algo, PQSpec) and algo.channel_sort:
        blob["channel_sort"] = SORT_VERSION  # only sorted points change when the sort does
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=list).encode()).hexdigest()[:32]


def cached(algo: AlgoSpec, proxy: ProxySpec, compute: Callable[[], Accuracy]) -> Accuracy:
    if not proxy.result_cache:
        return compute()
    root = Path(proxy.cache_dir) / "results"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{result_key(algo, proxy)}.json"
    with FileLock(str(path) + ".lock"):
        if path.exists():
            return Accuracy.from_dict(json.loads(path.read_text()), cached=True)
        acc = compute()
        payload: dict[str, Any] = acc.to_dict() | {"algo": asdict(algo)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
        tmp.replace(path)
        return acc
