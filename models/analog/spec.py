"""What the analog-datapath emulation reads: the crossbar's geometry (keys of hw.xbar) and how the
proxy maps the model onto it (proxy.datapath).

models/ does not import hw/: the crossbar keys arrive as the plain hw.xbar dict, and only the keys that
change the arithmetic are read here (the rest, times, energies and areas, are hw/'s). The operators
emulated are the hw mapping's operators placed on the crossbar (`OPERATORS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from spec.errors import SpecError
from spec.fields import build, choice, number, require

from ..spec import require_one_point

OPERATORS = {"qkv_proj": ("q", "k", "v"), "o_proj": ("o",), "ffn": ("gate", "up", "down"),
             "lm_head": ("lm_head",)}
"""hw mapping operator -> the model's projections it holds (models.llama.PROJECTIONS, plus the head)."""


@dataclass(frozen=True, kw_only=True)
class CrossbarGeometry:
    """The hw.xbar keys that decide the crossbar's arithmetic (docs/proxy.md "Analog datapath
    emulation"). Cells are binary (on/off); a signed weight is a differential pair of bit-sliced cells."""

    rows_per_tile: int = number("rows (inputs) summed on one column of a tile", ge=1, le=1 << 16,
                                integer=True)
    cols_per_tile: int = number("columns of a tile (checked; the arithmetic does not depend on it)", ge=1,
                                le=1 << 16, integer=True)
    cells_per_weight: int = number("binary cells a weight takes: half for +, half for -, bit-sliced",
                                   ge=2, le=64, integer=True)
    input_bits: int = number("activation bits (signed, per-token absmax scale)", unit="bit", ge=2, le=16,
                             integer=True)
    dac_bits: int = number("input bits applied per input cycle", unit="bit", ge=1, le=16, integer=True,
                           default=1)
    adc_bits: int = number("ADC resolution", unit="bit", ge=1, le=16, integer=True)

    def check(self, path: str) -> None:
        require_one_point(self, path)
        require(self.cells_per_weight % 2 == 0, f"{path}.cells_per_weight", self.cells_per_weight,
                "must be even: a signed weight is a differential pair of bit-sliced binary cells")
        require(self.dac_bits <= self.input_bits, f"{path}.dac_bits", self.dac_bits,
                "must be <= input_bits")

    @property
    def cells_per_sign(self) -> int:
        """Binary cells of one polarity: the magnitude's bit slices."""
        return self.cells_per_weight // 2

    @property
    def weight_levels(self) -> int:
        """Largest weight magnitude the cells store: 2^cells_per_sign - 1 (1: ternary)."""
        return (1 << self.cells_per_sign) - 1

    @property
    def input_cycles(self) -> int:
        return -(-self.input_bits // self.dac_bits)

    @property
    def full_scale(self) -> int:
        """Largest column sum of a tile: every row at the top DAC level on an on cell."""
        return self.rows_per_tile * ((1 << self.dac_bits) - 1)

    def key_dict(self) -> dict[str, int]:
        """What changes the numbers (cols_per_tile does not: every column is converted alone)."""
        d = asdict(self)
        d.pop("cols_per_tile")
        return d


@dataclass(frozen=True, kw_only=True)
class DatapathSpec:
    """How the proxy runs the model's projections through the crossbar (conf/proxy `datapath`)."""

    weights: str = choice("weight mapping: per_channel (symmetric per output channel to the levels the "
                          "cells store) | absmean (BitNet b1.58's ternary absmean, one scale a matrix)",
                          ("per_channel", "absmean"), default="per_channel")
    adc_range: str = choice("ADC full scale: full_scale (rows x top DAC level) | calibrated (largest "
                            "column sum of the matrix on a calibration sequence)",
                            ("full_scale", "calibrated"), default="calibrated")
    weight_bits: int = number("signed bits of a stored weight for a model without low-bit weights: "
                              "2 x (weight_bits - 1) bit-sliced binary cells a weight; 0: the crossbar's "
                              "cells_per_weight (a model whose weights the cells hold as they are)",
                              unit="bit", ge=0, le=9, integer=True, default=4)
    cell_sigma: float = number("cell conductance variation: relative sigma of an on cell (Gaussian, "
                               "fixed when programmed)", ge=0, le=1, default=0.0)
    seed: int = number("seed of the conductance variation", ge=0, le=(1 << 32) - 1, integer=True, default=0)
    seq_tokens: int = number("tokens per evaluation sequence", unit="token", ge=16, le=8192, integer=True,
                             default=128)
    n_seqs: int = number("evaluation sequences (after proxy.text's calibration sequences)", ge=1, le=64,
                         integer=True, default=2)

    def check(self, path: str) -> None:
        require(self.weight_bits != 1, f"{path}.weight_bits", self.weight_bits,
                "must be 0 (the crossbar's cells) or 2..9: one signed bit holds no magnitude")


def stored_geometry(geom: CrossbarGeometry, datapath: DatapathSpec) -> CrossbarGeometry:
    """The geometry the emulation runs: the crossbar's, with datapath.weight_bits' cells when given."""
    if datapath.weight_bits == 0:
        return geom
    return replace(geom, cells_per_weight=2 * (datapath.weight_bits - 1))


def parse_geometry(xbar_cfg: Any, path: str = "hw.xbar") -> CrossbarGeometry:
    """The emulated keys of an hw.xbar dict (others ignored: hw/ validates them); SpecError naming the key."""
    if not isinstance(xbar_cfg, Mapping):
        raise SpecError(path, xbar_cfg, "must be a mapping (the crossbar of an operator mapped to xbar)")
    keys = {f for f in CrossbarGeometry.__dataclass_fields__}
    return build(CrossbarGeometry, {k: v for k, v in xbar_cfg.items() if k in keys}, path)


def parse_operators(ops: Iterable[str], path: str = "hw.mapping") -> tuple[str, ...]:
    """The crossbar's operators in a fixed order; an unknown one is a SpecError."""
    ops = tuple(ops)
    for op in ops:
        if op not in OPERATORS:
            raise SpecError(f"{path}.{op}", "xbar", f"must be one of {', '.join(OPERATORS)} on the crossbar")
    if not ops:
        raise SpecError(path, "{}", "no operator mapped to xbar: nothing to emulate")
    return tuple(op for op in OPERATORS if op in ops)


def projections(ops: tuple[str, ...]) -> frozenset[str]:
    return frozenset(p for op in ops for p in OPERATORS[op])
