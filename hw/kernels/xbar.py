"""Projection layers on an analog crossbar, built from its parts (weights stay in the cells; inputs
stream in dac_bits at a time; shared column ADCs convert; digital shift-and-add and partial-sum adds).

Per token and matrix stage of R inputs x C outputs on tiles of `rows` x `cols` cells:
row_tiles = ceil(R / rows), col_cells = C x cells_per_weight, col_tiles = ceil(col_cells / cols).
Every tile fires at once, so a stage takes input_cycles x cycle_s (the busiest tile converts all its
columns). Energy counts the cells, rows and columns actually used: per input cycle
row_tiles x col_cells conversions (each with a shift-and-add), R x col_tiles driven rows and
R x col_cells cells; per token (row_tiles - 1) x C partial-sum adds across row tiles. The digital
adds are pipelined behind the next conversions and add no time.
"""

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


def provisioned_tiles(step: Step) -> Num:
    """The tiles the crossbar has: `tiles`, or as many as its operators need when not given."""
    xbar = step.system.xbar
    assert xbar is not None
    return tiles_needed(step) if xbar.tiles is None else xbar.tiles


def stage_pj_per_token(xbar: Crossbar, rows: Num, cols: Num) -> Num:
    """Energy of one token through one R x C stage (pJ): conversions and their shift-and-adds,
    row drivers, cells, and the partial-sum adds across row tiles."""
    row_tiles = np.ceil(rows / xbar.rows_per_tile)
    col_cells = cols * xbar.cells_per_weight
    col_tiles = np.ceil(col_cells / xbar.cols_per_tile)
    per_cycle = (
        row_tiles * col_cells * (xbar.conversion_pj + xbar.shift_add_pj)
        + rows * col_tiles * xbar.drive_pj_per_row_level * (2.0**xbar.dac_bits - 1.0)
        + rows * col_cells * xbar.cell_pj_per_read
    )
    return xbar.input_cycles * per_cycle + (row_tiles - 1.0) * cols * xbar.psum_add_pj


def xbar_projection(step: Step, op: str, layers: Num) -> KernelCost:
    """Each stage: input_cycles tile cycles per token, tokens of the batch one after another."""
    xbar = step.system.xbar
    assert xbar is not None
    op_stages = stages(step, op)
    per_token_s = len(op_stages) * xbar.input_cycles * xbar.cycle_s
    per_token_pj = sum((stage_pj_per_token(xbar, r, c) for r, c in op_stages), start=0.0)
    tokens = step.batch * layers
    # Weights stay in the cells: the crossbar reads no memory (bytes 0).
    return KernelCost.of(
        tokens * per_token_s,
        {"xbar": tokens * per_token_pj * PJ},
        BOUND["compute"],
        "xbar",
        flops=tokens * sum((2 * r * c for r, c in op_stages), start=0.0),
    )
