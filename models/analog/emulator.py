"""The model's projections through the crossbar: `models.llama.forward`'s `project` hooks.

An `Emulator` programs each emulated matrix once (weights mapped, cells laid out, conductance
variation drawn) and offers three projections: `exact` (the model's own matmul), `mapped` (the mapped
weights with exact activations and arithmetic: the digital model the crossbar stores) and `analog`
(the whole datapath: inputs through the DACs, column sums through the ADCs, shift-and-add).
Projections the hardware does not place on the crossbar stay exact in all three.
"""

from __future__ import annotations

import torch

from ..llama import LlamaWeights, forward
from .crossbar import Programmed, adc_step, crossbar_matmul, input_digits, program, tile_sums, token_chunks
from .spec import CrossbarGeometry, DatapathSpec


class Emulator:
    """Per scoring run: the programmed matrices (memoised) and, with adc_range=calibrated, the
    largest column sum of each matrix on the calibration tokens (its ADC range)."""

    def __init__(self, geom: CrossbarGeometry, datapath: DatapathSpec, names: frozenset[str]) -> None:
        self.geom = geom
        self.datapath = datapath
        self.names = names
        self._programmed: dict[tuple[int, str], Programmed] = {}
        self.ranges: dict[tuple[int, str], float] = {}

    def programmed(self, layer: int, name: str, w: torch.Tensor) -> Programmed:
        key = (layer, name)
        if key not in self._programmed:
            dp = self.datapath
            tag = f"{layer}:{name}"
            self._programmed[key] = program(w, self.geom, dp.weights, dp.cell_sigma, dp.seed, tag)
        return self._programmed[key]

    def step(self, layer: int, name: str) -> int:
        """The ADC step of this matrix: from the tile's full scale, or its calibrated range."""
        if self.datapath.adc_range == "full_scale" or self.covers_full_scale:
            return adc_step(self.geom.full_scale, self.geom.adc_bits)
        return adc_step(self.ranges[(layer, name)], self.geom.adc_bits)

    @property
    def covers_full_scale(self) -> bool:
        """The ADC's codes reach every column sum at step 1: exact under either range rule (no
        calibration needed)."""
        return (1 << self.geom.adc_bits) - 1 >= self.geom.full_scale

    def mapped(self, layer: int, name: str, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if name not in self.names:
            return x @ w.T
        p = self.programmed(layer, name, w)
        return x @ (p.levels * p.scale[:, None]).to(x.device, x.dtype).T

    def analog(self, layer: int, name: str, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if name not in self.names:
            return x @ w.T
        return crossbar_matmul(x, self.programmed(layer, name, w), self.geom, self.step(layer, name))

    def calibrate(self, w: LlamaWeights, ids: torch.Tensor) -> None:
        """Record each emulated matrix's largest column sum over the tokens `ids` [S, T] (the model
        runs on the mapped weights, exact arithmetic, so the ranges do not depend on the ADC)."""

        def record(layer: int, name: str, x: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
            if name in self.names:
                prog = self.programmed(layer, name, wt)
                _, _, digits = input_digits(x.reshape(-1, x.shape[-1]).float().cpu(), self.geom)
                top = max(float(s.max()) for chunk in token_chunks(digits.shape[1], prog, self.geom)
                          for s in tile_sums(digits[:, chunk], prog, self.geom))
                self.ranges[(layer, name)] = max(self.ranges.get((layer, name), 0.0), top)
            return self.mapped(layer, name, x, wt)

        hidden = forward(w, ids, project=record)
        if "lm_head" in self.names:
            record(-1, "lm_head", hidden, w.lm_head)
