"""On-disk result cache keyed by the algorithm's accuracy parameters and the proxy config; safe across
processes.

One JSON file per key, written to a temporary name and renamed (atomic on POSIX), under a per-key
file lock so concurrent workers scoring the same point compute it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .formats import KvFormat
from .quick_fit import FIT_FILE
from .result import Accuracy
from .spec import ProxySpec

CACHE_VERSION = 2  # bump when the numbers a key produces change (2: records carry the metric's unit and
# direction from models.spec.METRICS)


def result_key(fmt: KvFormat, proxy: ProxySpec) -> str:
    blob: dict[str, Any] = fmt.cache_key() | {"proxy": proxy.key_dict(), "v": CACHE_VERSION}
    if proxy.mode == "quick":  # quick records carry loss_increase_est: a refit changes the numbers
        blob["fit"] = hashlib.sha256(FIT_FILE.read_bytes()).hexdigest()[:16]
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=list).encode()).hexdigest()[:32]


def cached(fmt: KvFormat, proxy: ProxySpec, compute: Callable[[], Accuracy]) -> Accuracy:
    if not proxy.result_cache:
        return compute()
    root = Path(proxy.cache_dir) / "results"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{result_key(fmt, proxy)}.json"
    with FileLock(str(path) + ".lock"):
        if path.exists():
            return Accuracy.from_dict(json.loads(path.read_text()), cached=True)
        acc = compute()
        payload: dict[str, Any] = acc.to_dict() | {"algo": fmt.accuracy_params()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
        tmp.replace(path)
        return acc
