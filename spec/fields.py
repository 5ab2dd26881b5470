"""Typed config specs whose fields carry their own schema: type, bounds, default, unit and a doc line.

A spec is a frozen, keyword-only dataclass whose config keys are declared with `number`, `choice`,
`flag`, `text`, `section`, `sections` or `integers`. `build(cls, cfg, path)` reads a plain dict into it
(every key checked, unknown keys rejected, errors are one-line `SpecError`s naming `path.key`), then
calls the spec's `check(path)` for rules between fields. `schema_rows(cls, path)` lists the same
metadata for printing and for the generated docs tables.

Numeric leaves may be Python numbers or numpy arrays (a grid of design points); the checks are
vectorised and name the first offending element. A plain list is not a grid: it is rejected.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import Any

import numpy as np

from spec.errors import SpecError, show

Num = float | np.ndarray
"""A scalar or an array of design points."""


@dataclass(frozen=True)
class Rule:
    """What one config key accepts, in the spec class beside the field."""

    kind: str  # number | choice | flag | text | section | sections | integers
    doc: str
    unit: str = ""
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    integer: bool = False
    options: tuple[Any, ...] = ()
    optional: bool = False  # null is accepted (and means "absent")
    spec: type | None = None  # the nested spec of a section / of each entry of sections
    keys: tuple[str, ...] = ()  # sections: the allowed entry names (empty: any)
    default_doc: str = ""  # how a default computed from other fields is derived
    as_float: bool = False  # integer numbers are kept as floats (for float-only arithmetic downstream)
    name_field: str = ""  # sections: the entry spec's field that receives the entry's name

    def allowed(self) -> str:
        """What the key accepts, in words (the schema's `allowed` column)."""
        if self.kind == "number" or self.kind == "integers":
            parts = [f"> {show(self.gt)}"] if self.gt is not None else []
            parts += [f">= {show(self.ge)}"] if self.ge is not None else []
            parts += [f"<= {show(self.le)}"] if self.le is not None else []
            parts += ["integer"] if self.integer else []
            text = ", ".join(parts) or "any finite number"
            return f"list of {text}" if self.kind == "integers" else text
        if self.kind == "choice":
            return " | ".join(str(o) for o in self.options)
        if self.kind == "flag":
            return "true | false"
        if self.kind == "text":
            return "non-empty string" + (" or null" if self.optional else "")
        if self.kind == "sections":
            return f"mapping of {' | '.join(self.keys)}" if self.keys else "mapping"
        return "mapping" + (" or null" if self.optional else "")


def _field(rule: Rule, default: Any, factory: Any = MISSING) -> Any:
    if factory is not MISSING:
        return dataclasses.field(default_factory=factory, metadata={"rule": rule})
    return dataclasses.field(default=default, metadata={"rule": rule})


def number(
    doc: str,
    *,
    unit: str = "",
    default: Any = MISSING,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    integer: bool = False,
    default_doc: str = "",
    as_float: bool = False,
) -> Any:
    """A finite number (or numpy array of them) within the bounds; `integer` ones read as int
    (as float with `as_float`: whole numbers for arithmetic that must stay in floating point)."""
    rule = Rule("number", doc, unit, gt, ge, le, integer, default_doc=default_doc, as_float=as_float)
    return _field(rule, default)


def choice(doc: str, options: tuple[Any, ...], *, default: Any = MISSING, default_doc: str = "") -> Any:
    """One of `options`."""
    return _field(Rule("choice", doc, options=tuple(options), default_doc=default_doc), default)


def flag(doc: str, *, default: Any = MISSING) -> Any:
    """true or false."""
    return _field(Rule("flag", doc), default)


def text(doc: str, *, default: Any = MISSING, optional: bool = False) -> Any:
    """A non-empty string (or null when `optional`)."""
    return _field(Rule("text", doc, optional=optional), default)


def section(doc: str, spec: type, *, optional: bool = False, default: Any = MISSING) -> Any:
    """A nested mapping read into `spec` (null allowed when `optional`; then the field is None)."""
    if default is MISSING and not optional:
        return _field(Rule("section", doc, spec=spec), MISSING)
    return _field(Rule("section", doc, spec=spec, optional=optional), default)


def sections(doc: str, spec: type, *, keys: tuple[str, ...] = (), name_field: str = "") -> Any:
    """A mapping of names (from `keys`, when given) to nested mappings, each read into `spec`
    (whose field `name_field`, when given, receives the entry's name)."""
    return _field(Rule("sections", doc, spec=spec, keys=tuple(keys), name_field=name_field), MISSING)


def integers(doc: str, *, ge: float | None = None, le: float | None = None, default: tuple = ()) -> Any:
    """A list of integers within the bounds, stored as a sorted tuple without repeats."""
    return _field(Rule("integers", doc, ge=ge, le=le, integer=True), default)


def rule_of(f: dataclasses.Field) -> Rule | None:
    return f.metadata.get("rule")


def config_fields(cls: type) -> list[tuple[dataclasses.Field, Rule]]:
    """The fields of a spec class that are config keys, with their rules, in declaration order."""
    return list(_config_fields(cls))


@functools.cache
def _config_fields(cls: type) -> tuple[tuple[dataclasses.Field, Rule], ...]:
    # Once per class: `build` asks for every section of every design point.
    return tuple((f, r) for f in dataclasses.fields(cls) if (r := rule_of(f)) is not None)


def has_default(f: dataclasses.Field) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def default_of(f: dataclasses.Field) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return f.default


def mapping(cfg: Any, path: str) -> Mapping[str, Any]:
    """`cfg` if it is a mapping; a missing (None) section is a one-line error."""
    if cfg is None:
        raise SpecError(path, None, "required section is missing")
    if not isinstance(cfg, Mapping):
        raise SpecError(path, cfg, "must be a mapping")
    return cfg


def reject_unknown(cfg: Mapping[str, Any], path: str, known: Any) -> None:
    """A key outside `known` is an error: a typo would otherwise fall back to a default silently."""
    known = sorted(known)
    for key in cfg:
        if key not in known:
            raise SpecError(f"{path}.{key}", cfg[key], f"unknown key; known: {', '.join(known)}")


def build(cls: type, cfg: Any, path: str, **given: Any) -> Any:
    """Read the mapping `cfg` into spec class `cls`; raise SpecError naming `path.<key>`.

    `given` supplies fields that are not config keys (e.g. the model a workload runs). A spec may
    define a classmethod `derive(kw, path) -> kw` that receives the keys read (absent ones left out)
    and adds defaults computed from other keys, raising SpecError when given keys conflict.
    """
    cfg = mapping(cfg, path)
    fields = _config_fields(cls)
    reject_unknown(cfg, path, [f.name for f, _ in fields])
    kw: dict[str, Any] = {}
    for f, rule in fields:
        full = f"{path}.{f.name}"
        if f.name not in cfg or (cfg[f.name] is None and rule.optional):
            if f.name not in cfg and not has_default(f):
                raise SpecError(full, None, f"required; {rule.allowed()}")
            if f.name in cfg:
                kw[f.name] = None
            continue
        kw[f.name] = read(rule, cfg[f.name], full)
    derive = getattr(cls, "derive", None)
    if derive is not None:
        kw = derive(kw, path)
    obj = cls(**kw, **given)
    check = getattr(obj, "check", None)
    if check is not None:
        check(path)
    return obj


def read(rule: Rule, raw: Any, full: str) -> Any:
    """One value checked against its rule."""
    if rule.kind == "number":
        return read_number(raw, full, rule)
    if rule.kind == "choice":
        # An array is no option (and `in` would ask it for one truth value).
        if isinstance(raw, bool | np.ndarray) or raw not in rule.options:
            raise SpecError(full, raw, f"must be one of {', '.join(str(o) for o in rule.options)}")
        return raw
    if rule.kind == "flag":
        if not isinstance(raw, bool | np.bool_):
            raise SpecError(full, raw, "must be true or false")
        return bool(raw)
    if rule.kind == "text":
        if not isinstance(raw, str) or not raw:
            raise SpecError(full, raw, "must be a non-empty string")
        return raw
    if rule.kind == "section":
        assert rule.spec is not None
        return build(rule.spec, raw, full)
    if rule.kind == "sections":
        assert rule.spec is not None
        entries = mapping(raw, full)
        if rule.keys:
            reject_unknown(entries, full, rule.keys)
        name = rule.name_field
        return {
            str(k): build(rule.spec, v, f"{full}.{k}", **({name: str(k)} if name else {}))
            for k, v in entries.items()
        }
    if rule.kind == "integers":
        return read_integers(raw, full, rule)
    raise AssertionError(f"unknown rule kind {rule.kind}")


def read_integers(raw: Any, full: str, rule: Rule) -> tuple[int, ...]:
    if not isinstance(raw, list | tuple):
        raise SpecError(full, raw, f"must be a {rule.allowed()}")
    values = []
    for x in raw:
        if isinstance(x, bool) or not isinstance(x, int):
            raise SpecError(full, list(raw), f"must be a {rule.allowed()}")
        values.append(int(read_number(x, full, rule)))
    return tuple(sorted(set(values)))


def read_number(raw: Any, full: str, rule: Rule) -> Num:
    """A finite number within `rule`'s bounds: int for integer rules, float otherwise, or a float
    ndarray for a grid of design points."""
    if type(raw) is float or type(raw) is int:  # the common case first (a Mapping check is slow)
        return _plain(raw, full, rule)
    if isinstance(raw, bool | np.bool_ | str | list | tuple | Mapping) or raw is None:
        grid = " (a grid of values is a numpy array, not a list)" if isinstance(raw, list | tuple) else ""
        raise SpecError(full, raw, f"must be a number{grid}")
    if isinstance(raw, int | float):
        return _plain(raw, full, rule)
    arr = np.asarray(raw)
    # Real numbers only: a bool, complex or object array (Decimal, str, huge int) is no design point.
    if arr.dtype.kind not in "iuf":
        raise SpecError(full, raw, "must be a number or a numpy array of numbers")
    arr = arr.astype(np.float64, copy=False)
    checks: list[tuple[np.ndarray, str]] = [(~np.isfinite(arr), "must be finite")]
    if rule.gt is not None:
        checks.append((~(arr > rule.gt), f"must be > {show(rule.gt)}"))
    if rule.ge is not None:
        checks.append((~(arr >= rule.ge), f"must be >= {show(rule.ge)}"))
    if rule.le is not None:
        checks.append((~(arr <= rule.le), f"must be <= {show(rule.le)}"))
    if rule.integer:
        checks.append((arr != np.round(arr), "must be an integer"))
    for bad, allowed in checks:
        if np.any(bad):
            raise SpecError(full, first_bad(arr, bad), allowed)
    if arr.ndim:
        return arr
    return int(arr) if rule.integer and not rule.as_float else float(arr)


def _plain(raw: int | float, full: str, rule: Rule) -> int | float:
    """One plain Python number checked against `rule`."""
    try:
        x = float(raw)
    except OverflowError:
        raise SpecError(full, raw, "must be a finite number") from None
    x = _scalar(x, full, rule)
    return int(x) if rule.integer and not rule.as_float else x


def _scalar(x: float, full: str, rule: Rule) -> float:
    """The checks of `read_number` for one plain Python number (the single-point fast path)."""
    if not math.isfinite(x):
        raise SpecError(full, x, "must be finite")
    if rule.gt is not None and not x > rule.gt:
        raise SpecError(full, x, f"must be > {show(rule.gt)}")
    if rule.ge is not None and not x >= rule.ge:
        raise SpecError(full, x, f"must be >= {show(rule.ge)}")
    if rule.le is not None and not x <= rule.le:
        raise SpecError(full, x, f"must be <= {show(rule.le)}")
    if rule.integer and x != round(x):
        raise SpecError(full, x, "must be an integer")
    return x


def first_bad(arr: np.ndarray, bad: np.ndarray) -> object:
    """The first element of `arr` where `bad` holds (the whole value for a 0-d array)."""
    return arr.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])].item() if arr.ndim else arr.item()


def require(ok: Num | bool, path: str, value: Num, allowed: str) -> None:
    """Raise SpecError(path, first offending value, allowed) unless `ok` holds everywhere."""
    if ok is True:  # a scalar rule that holds (the common case) needs no array work
        return
    bad = ~np.asarray(ok, dtype=bool)
    if np.any(bad):
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), bad.shape)
        raise SpecError(path, first_bad(np.asarray(arr), bad), allowed)


@dataclass(frozen=True)
class SchemaRow:
    """One key of a spec as the schema printer and the docs tables show it."""

    key: str
    unit: str
    default: str
    allowed: str
    doc: str


def schema_rows(cls: type, path: str) -> list[SchemaRow]:
    """Every key of `cls` (nested sections expanded, `sections` entries as `<name>`), in order."""
    rows = []
    for f, rule in config_fields(cls):
        key = f"{path}.{f.name}"
        if rule.kind in ("section", "sections") and rule.spec is not None:
            inner = key if rule.kind == "section" else f"{key}.<{'|'.join(rule.keys) or 'name'}>"
            rows.append(SchemaRow(key, "", _default_text(f, rule), rule.allowed(), rule.doc))
            rows += schema_rows(rule.spec, inner)
            continue
        rows.append(SchemaRow(key, rule.unit, _default_text(f, rule), rule.allowed(), rule.doc))
    return rows


def _default_text(f: dataclasses.Field, rule: Rule) -> str:
    if rule.default_doc:
        return rule.default_doc
    if not has_default(f):
        return "required"
    value = default_of(f)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):
        return "(section)"
    return str(value)


def format_schema(rows: list[SchemaRow], markdown: bool = False) -> str:
    """The rows as an aligned text table, or as a Markdown table for docs/."""
    head = ("key", "unit", "default", "allowed", "doc")
    cells = [head] + [(r.key, r.unit, r.default, r.allowed, r.doc) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in cells
    ).rstrip()
