"""Accuracy of the analog datapath: the proxy's model with its crossbar projections emulated, on
held-out text, against the same model computed exactly. Deterministic; cached on disk by its
parameters only (crossbar arithmetic, operators, mapping, model, text), like the KV proxy.

Three runs of the model over the evaluation sequences (docs/proxy.md "Analog datapath emulation"):
exact (the checkpoint's weights), mapped (the weights the cells store, exact arithmetic) and emulated
(mapped weights through DACs, ADCs and shift-and-add). The searched value is the datapath's own
next-token loss increase, NLL(emulated) - NLL(mapped) in nats/token (as the KV proxy's full-mode
`loss_increase`); the weight mapping's share (mapped against exact) and the total (emulated against
exact) are reported beside it, each also as a next-token KL.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from spec.fields import build

from ..llama import LlamaWeights, forward, logits
from ..runtime import get_model
from ..spec import ProxySpec, parse_proxy
from ..text import check_text_fits, make_splits
from .emulator import Emulator
from .spec import (
    CrossbarGeometry,
    DatapathSpec,
    parse_geometry,
    parse_operators,
    projections,
    stored_geometry,
)

CACHE_VERSION = 1  # bump when the numbers a key produces change
UNIT = "nats/token"
METRICS = ("loss_increase", "ppl_increase_pct", "kl", "top1_agree", "weight_loss_increase", "weight_kl",
           "loss_increase_vs_exact", "kl_vs_exact", "ppl_exact", "ppl_mapped", "ppl_emulated")
"""Every metric of a datapath record (`compare`)."""


@dataclass(frozen=True)
class DatapathPoint:
    """One validated emulation: the crossbar's arithmetic (cells as stored: `stored_geometry`), its
    operators, the mapping, the proxy."""

    geom: CrossbarGeometry
    operators: tuple[str, ...]
    datapath: DatapathSpec
    proxy: ProxySpec

    @property
    def text_spec(self) -> ProxySpec:
        """The proxy's model and text, cut into the datapath's (shorter) sequences."""
        n = self.datapath.seq_tokens
        return replace(self.proxy, seq_tokens=n, n_seqs=self.datapath.n_seqs, prefill_tokens=n // 2,
                       queries_per_seq=1)

    def key_dict(self) -> dict[str, Any]:
        proxy = self.proxy.key_dict()
        return {"xbar": self.geom.key_dict(), "operators": list(self.operators),
                "datapath": asdict(self.datapath), "model": proxy["model"], "text": proxy["text"],
                "v": CACHE_VERSION}

    def key(self) -> str:
        blob = json.dumps(self.key_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DatapathAccuracy:
    """value: next-token loss increase of the datapath, nats/token (lower is better); metrics: every
    number of `compare`."""

    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    operators: tuple[str, ...] = ()
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": "loss_increase", "value": self.value, "higher_is_better": False, "unit": UNIT,
                "metrics": dict(self.metrics), "operators": list(self.operators)}

    @classmethod
    def unscored(cls, operators: Iterable[str]) -> DatapathAccuracy:
        """The record's keys without a run (every metric 0): what the search checks objectives against."""
        return cls(0.0, dict.fromkeys(METRICS, 0.0), tuple(operators))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], cached: bool = False) -> DatapathAccuracy:
        return cls(float(d["value"]), {k: float(v) for k, v in d["metrics"].items()},
                   tuple(d["operators"]), cached)


def parse(xbar_cfg: Any, operators: Iterable[str], proxy_cfg: Any, datapath_cfg: Any = None) -> DatapathPoint:
    """Validate without loading the model; SpecError naming hw.xbar.<key>, hw.mapping.<op>, datapath.<key>
    or proxy.<key>."""
    ops = parse_operators(operators)
    datapath = build(DatapathSpec, datapath_cfg or {}, "datapath")
    geom = stored_geometry(parse_geometry(xbar_cfg), datapath)
    point = DatapathPoint(geom, ops, datapath, parse_proxy(proxy_cfg))
    check_text_fits(point.text_spec)
    return point


def validate_datapath(xbar_cfg: Any, operators: Iterable[str], proxy_cfg: Any, datapath_cfg: Any = None
                      ) -> None:
    """Check the crossbar, operators, datapath and proxy configs; raises SpecError naming the field."""
    parse(xbar_cfg, operators, proxy_cfg, datapath_cfg)


def score_datapath(xbar_cfg: Any, operators: Iterable[str], proxy_cfg: Any, datapath_cfg: Any = None
                   ) -> DatapathAccuracy:
    """Accuracy of the analog datapath of one crossbar; deterministic, cached on disk."""
    point = parse(xbar_cfg, operators, proxy_cfg, datapath_cfg)
    if not point.proxy.result_cache:
        return compute(point)
    root = Path(point.proxy.cache_dir) / "datapath"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{point.key()}.json"
    with FileLock(str(path) + ".lock"):
        if path.exists():
            return DatapathAccuracy.from_dict(json.loads(path.read_text()), cached=True)
        acc = compute(point)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(acc.to_dict() | {"key": point.key_dict()}, indent=1, sort_keys=True))
        tmp.replace(path)
        return acc


_MEMO: dict[str, torch.Tensor] = {}
"""Process memo of runs that many points share: token ids, the exact model's and a mapping's hidden
states (keyed by what they depend on)."""
_RANGES: dict[str, dict[tuple[int, str], float]] = {}
"""Process memo of calibrated ADC ranges (they depend on everything but the ADC)."""


def _memo(key: dict[str, Any], make: Any) -> torch.Tensor:
    k = json.dumps(key, sort_keys=True)
    if k not in _MEMO:
        _MEMO[k] = make()
    return _MEMO[k]


def compute(point: DatapathPoint) -> DatapathAccuracy:
    spec = point.text_spec
    model = get_model(spec.model)
    w = model.weights
    text_key = {"model": spec.key_dict()["model"], "text": spec.key_dict()["text"],
                "seq": spec.seq_tokens, "n": spec.n_seqs}
    ids = _memo(text_key | {"split": "eval"}, lambda: make_splits(model.tokenizer, spec).eval)
    ids = ids.to(spec.model.device)
    emu = Emulator(point.geom, point.datapath, projections(point.operators))
    map_key = text_key | {"weights": point.datapath.weights, "cells": point.geom.cells_per_weight,
                          "ops": list(point.operators)}
    exact = _memo(text_key | {"run": "exact"}, lambda: forward(w, ids))
    mapped = _memo(map_key | {"run": "mapped"}, lambda: forward(w, ids, project=emu.mapped))
    if point.datapath.adc_range == "calibrated" and not emu.covers_full_scale:  # shared by ADC resolutions
        unconverted = {"geom": point.geom.key_dict() | {"adc_bits": None},
                       "datapath": asdict(point.datapath) | {"adc_range": None}}
        range_key = map_key | unconverted | {"run": "ranges"}
        k = json.dumps(range_key, sort_keys=True)
        if k not in _RANGES:
            calib = make_splits(model.tokenizer, spec).calib[:1].to(spec.model.device)
            emu.calibrate(w, calib)
            _RANGES[k] = dict(emu.ranges)
        emu.ranges = dict(_RANGES[k])
    emulated = forward(w, ids, project=emu.analog)
    metrics = compare(w, emu, exact, mapped, emulated, ids[:, 1:])
    return DatapathAccuracy(metrics["loss_increase"], metrics, point.operators)


def compare(w: LlamaWeights, emu: Emulator, exact: torch.Tensor, mapped: torch.Tensor, emulated: torch.Tensor,
            targets: torch.Tensor) -> dict[str, float]:
    """Hidden states [S, T, D] of the three runs and next tokens [S, T - 1] -> metrics per token:
    loss_increase (NLL emulated - mapped), ppl_increase_pct, kl (mapped || emulated), top1_agree
    (emulated against mapped); weight_loss_increase, weight_kl (mapped against exact);
    loss_increase_vs_exact, kl_vs_exact (emulated against exact); ppl_exact, ppl_mapped, ppl_emulated."""
    sums = dict.fromkeys(("kl", "weight_kl", "kl_vs_exact", "nll_exact", "nll_mapped", "nll_emulated",
                          "agree"), 0.0)
    for s in range(exact.shape[0]):  # one sequence's vocab-sized logits at a time
        tgt = targets[s][:, None]
        lp = {
            "exact": torch.log_softmax(logits(w, exact[s, :-1]).float(), -1),
            "mapped": torch.log_softmax(emu.mapped(-1, "lm_head", mapped[s, :-1], w.lm_head).float(), -1),
            "emulated": torch.log_softmax(emu.analog(-1, "lm_head", emulated[s, :-1], w.lm_head).float(), -1),
        }
        sums["kl"] += _kl(lp["mapped"], lp["emulated"])
        sums["weight_kl"] += _kl(lp["exact"], lp["mapped"])
        sums["kl_vs_exact"] += _kl(lp["exact"], lp["emulated"])
        for run, v in lp.items():
            sums[f"nll_{run}"] -= v.gather(-1, tgt).sum().item()
        sums["agree"] += (lp["emulated"].argmax(-1) == lp["mapped"].argmax(-1)).sum().item()
    n = targets.numel()
    m = {k: v / n for k, v in sums.items()}
    increase = m["nll_emulated"] - m["nll_mapped"]
    return {"loss_increase": increase, "ppl_increase_pct": 100.0 * math.expm1(increase), "kl": m["kl"],
            "top1_agree": m["agree"], "weight_loss_increase": m["nll_mapped"] - m["nll_exact"],
            "weight_kl": m["weight_kl"], "loss_increase_vs_exact": m["nll_emulated"] - m["nll_exact"],
            "kl_vs_exact": m["kl_vs_exact"],
            "ppl_exact": math.exp(m["nll_exact"]), "ppl_mapped": math.exp(m["nll_mapped"]),
            "ppl_emulated": math.exp(m["nll_emulated"])}


def _kl(ref: torch.Tensor, other: torch.Tensor) -> float:
    """Summed KL(ref || other) over positions of log-probabilities [T, V]."""
    return (ref.exp() * (ref - other)).sum(-1).clamp_min(0).sum().item()
