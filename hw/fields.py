"""Reading and checking leaves of plain config dicts.

Every numeric leaf may be a Python number or a numpy array (a grid of design points); the checks are
vectorised and the error names the first offending element. Booleans and strings are scalar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hw.errors import SpecError

Num = float | np.ndarray
"""A scalar or an array of design points; every hw quantity has this type."""

_MISSING = object()


def section(cfg: Mapping[str, Any] | None, path: str, *, required: bool = True) -> Mapping[str, Any]:
    """Return the mapping at `path` (already looked up by the caller as `cfg`), checking its type."""
    if cfg is None:
        if required:
            raise SpecError(path, None, "required section is missing")
        return {}
    if not isinstance(cfg, Mapping):
        raise SpecError(path, cfg, "must be a mapping")
    return cfg


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> object:
    return arr.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])].item() if arr.ndim else arr.item()


def number(
    cfg: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: Any = _MISSING,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    integer: bool = False,
) -> Num:
    """Return cfg[key] as float or float ndarray, checking bounds; raise SpecError naming `path.key`."""
    full = f"{path}.{key}"
    raw = cfg.get(key, default)
    if raw is _MISSING:
        raise SpecError(full, None, "required number is missing")
    if isinstance(raw, (bool, str)) or raw is None:
        raise SpecError(full, raw, "must be a number or an array of numbers")
    if isinstance(raw, int | float):
        return _scalar(float(raw), full, gt=gt, ge=ge, le=le, integer=integer)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(full, raw, "must be a number or an array of numbers") from None
    checks: list[tuple[np.ndarray, str]] = [(~np.isfinite(arr), "must be finite")]
    if gt is not None:
        checks.append((~(arr > gt), f"must be > {gt:g}"))
    if ge is not None:
        checks.append((~(arr >= ge), f"must be >= {ge:g}"))
    if le is not None:
        checks.append((~(arr <= le), f"must be <= {le:g}"))
    if integer:
        checks.append((arr != np.round(arr), "must be an integer"))
    for bad, allowed in checks:
        if np.any(bad):
            raise SpecError(full, _first_bad(arr, bad), allowed)
    return arr if arr.ndim else float(arr)


def _scalar(
    x: float, full: str, *, gt: float | None, ge: float | None, le: float | None, integer: bool
) -> float:
    """The checks of `number` for one plain Python number (the single-point fast path)."""
    if not math.isfinite(x):
        raise SpecError(full, x, "must be finite")
    if gt is not None and not x > gt:
        raise SpecError(full, x, f"must be > {gt:g}")
    if ge is not None and not x >= ge:
        raise SpecError(full, x, f"must be >= {ge:g}")
    if le is not None and not x <= le:
        raise SpecError(full, x, f"must be <= {le:g}")
    if integer and x != round(x):
        raise SpecError(full, x, "must be an integer")
    return x


def choice(
    cfg: Mapping[str, Any], key: str, path: str, allowed: Sequence[str], *, default: Any = _MISSING
) -> str:
    """Return cfg[key], which must be one of `allowed`."""
    full = f"{path}.{key}"
    raw = cfg.get(key, default)
    if raw is _MISSING:
        raise SpecError(full, None, f"required; one of {', '.join(allowed)}")
    if raw not in allowed:
        raise SpecError(full, raw, f"must be one of {', '.join(allowed)}")
    return str(raw)


def flag(cfg: Mapping[str, Any], key: str, path: str, *, default: Any = _MISSING) -> bool:
    """Return cfg[key] as a bool (true/false only)."""
    full = f"{path}.{key}"
    raw = cfg.get(key, default)
    if not isinstance(raw, bool | np.bool_):
        raise SpecError(full, raw, "must be true or false")
    return bool(raw)


def text(cfg: Mapping[str, Any], key: str, path: str, *, default: Any = _MISSING) -> str:
    """Return cfg[key] as a non-empty string."""
    full = f"{path}.{key}"
    raw = cfg.get(key, default)
    if not isinstance(raw, str) or not raw:
        raise SpecError(full, raw, "must be a non-empty string")
    return raw


def only(cfg: Mapping[str, Any], path: str, allowed: Iterable[str]) -> None:
    """Reject keys outside `allowed` (a typo would otherwise silently fall back to a default)."""
    allowed = set(allowed)
    unknown = sorted(k for k in cfg if k not in allowed)
    if unknown:
        raise SpecError(
            f"{path}.{unknown[0]}", cfg[unknown[0]], f"unknown field; known: {', '.join(sorted(allowed))}"
        )


def require(ok: Num | bool, path: str, value: Num, allowed: str) -> None:
    """Raise SpecError(path, first offending value, allowed) unless `ok` holds everywhere."""
    bad = ~np.asarray(ok, dtype=bool)
    if np.any(bad):
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), bad.shape)
        raise SpecError(path, _first_bad(np.asarray(arr), bad), allowed)
