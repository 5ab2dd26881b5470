"""Read scalar GGUF metadata fast, without parsing the whole file.

gguf.GGUFReader builds views of every field, including the ~50K-entry tokenizer arrays (about 9 s
here); validate() only needs a few architecture numbers, which come first in the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, f.read(size))[0]


def _string(f: BinaryIO) -> str:
    return f.read(_read(f, "<Q")).decode("utf-8", errors="replace")


def _value(f: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(f, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        etype, n = _read(f, "<I"), _read(f, "<Q")
        if etype in _SCALARS:  # skipped: no caller needs array contents
            f.seek(n * struct.calcsize(_SCALARS[etype]), 1)
        else:
            for _ in range(n):
                _value(f, etype)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")


def read_metadata(path: Path, wanted: set[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Values of the `wanted` keys ('{arch}.' is replaced by the file's architecture); stops early.

    `optional` keys are returned when present; once `wanted` is found they are looked for only until
    the tokenizer's keys begin (llama.cpp writes the model's hyperparameters before its vocabulary, so
    a missing optional key costs no pass over the ~50K-entry tokenizer arrays)."""
    out: dict[str, Any] = {}
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _read(f, "<I")  # version
        _read(f, "<Q")  # tensor count
        n_kv = _read(f, "<Q")
        arch = None
        for _ in range(n_kv):
            key = _string(f)
            if key.startswith("tokenizer.") and wanted <= out.keys():
                break
            val = _value(f, _read(f, "<I"))
            if key == "general.architecture":
                arch = val
                out[key] = val
            elif arch is not None and key.startswith(arch + "."):
                out["{arch}." + key[len(arch) + 1:]] = val
            else:
                out[key] = val
            if (wanted | optional) <= out.keys():
                break
    return {k: out[k] for k in wanted | optional if k in out}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]  # GGML order: dims[0] varies fastest (= torch's last dim)
    qtype: int  # gguf.GGMLQuantizationType value
    offset: int  # absolute byte offset of the data in the file


def read_index(path: Path) -> tuple[dict[str, Any], dict[str, TensorInfo]]:
    """All scalar/string metadata and every tensor's location, in one sequential pass."""
    meta: dict[str, Any] = {}
    infos: list[tuple[str, tuple[int, ...], int, int]] = []
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _read(f, "<I")
        n_tensors, n_kv = _read(f, "<Q"), _read(f, "<Q")
        for _ in range(n_kv):
            key = _string(f)
            meta[key] = _value(f, _read(f, "<I"))
        for _ in range(n_tensors):
            name = _string(f)
            dims = tuple(_read(f, "<Q") for _ in range(_read(f, "<I")))
            infos.append((name, dims, _read(f, "<I"), _read(f, "<Q")))
        align = int(meta.get("general.alignment") or 32)
        start = -(-f.tell() // align) * align
    return meta, {n: TensorInfo(n, d, t, start + o) for n, d, t, o in infos}
