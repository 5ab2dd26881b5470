"""Projection layers on an analog crossbar (weights stay in the cells; inputs stream bit-serially)."""

from __future__ import annotations

import numpy as np

from hw.energy import PJ
from hw.fields import Num
from hw.kernels.step import Step
from hw.roofline import BOUND, KernelCost
from hw.system import Crossbar


def tiles_for(xbar: Crossbar, rows: Num, cols: Num) -> Num:
    """Tiles holding one rows x cols weight matrix."""
    return np.ceil(rows / xbar.rows_per_tile) * np.ceil(cols * xbar.cells_per_weight / xbar.cols_per_tile)


def stages(step: Step, op: str) -> list[tuple[Num, Num]]:
    """The dependent matrix stages (rows = inputs, cols = outputs) of one layer's operator."""
    m = step.model
    q_dim, kv_dim = m.n_q_heads * m.head_dim, m.n_kv_heads * m.head_dim
    if op == "qkv_proj":
        return [(m.hidden_size, q_dim + 2 * kv_dim)]
    if op == "o_proj":
        return [(q_dim, m.hidden_size)]
    if op == "ffn":
        return [(m.hidden_size, 2 * m.intermediate_size), (m.intermediate_size, m.hidden_size)]
    return [(m.hidden_size, m.vocab_size)]


def tiles_needed(step: Step) -> Num:
    """Tiles all operators mapped to the crossbar occupy (every layer keeps its own weights)."""
    xbar = step.system.xbar
    assert xbar is not None
    total = 0.0
    for op, dev in step.system.mapping.devices.items():
        if dev == "xbar":
            layers = 1.0 if op == "lm_head" else step.model.n_layers
            total = total + layers * sum(tiles_for(xbar, r, c) for r, c in stages(step, op))
    return total


def xbar_projection(step: Step, op: str, layers: Num) -> KernelCost:
    """Each stage: input_bits MVM steps per token, tokens of the batch one after another."""
    xbar = step.system.xbar
    assert xbar is not None
    per_token_s = 0.0
    per_token_j = 0.0
    for rows, cols in stages(step, op):
        per_token_s = per_token_s + xbar.input_bits * xbar.t_mvm_s
        per_token_j = (
            per_token_j + tiles_for(xbar, rows, cols) * xbar.input_bits * xbar.energy_pj_per_tile_mvm * PJ
        )
    tokens = step.batch * layers
    return KernelCost.of(tokens * per_token_s, {"xbar": tokens * per_token_j}, BOUND["compute"], "xbar")
