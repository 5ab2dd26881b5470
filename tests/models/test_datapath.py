"""The analog crossbar datapath (models/analog): hand-computed small cases of the mapping, the ADC, the
tile accumulation and the conductance variation, the forward's projection hook, bad input."""

import pytest
import torch

from models.analog.crossbar import (
    adc_codes,
    adc_step,
    cell_planes,
    converted_sums,
    crossbar_matmul,
    input_digits,
    program,
    shift_add,
    weight_levels,
)
from models.analog.spec import CrossbarGeometry, parse_geometry, parse_operators, projections
from models.llama import PROJECTIONS, LayerWeights, LlamaConfig, LlamaWeights, exact_project, forward
from spec.errors import SpecError


def geometry(**over: int) -> CrossbarGeometry:
    keys = dict(rows_per_tile=8, cols_per_tile=16, cells_per_weight=2, input_bits=8, dac_bits=1, adc_bits=8)
    return parse_geometry(keys | over)


def test_per_channel_levels_and_scale():
    q, s = weight_levels(torch.tensor([[0.5, -1.5, 0.2], [0.0, 0.1, -0.3]]), "per_channel", 3)
    assert torch.allclose(s, torch.tensor([0.5, 0.1]))
    assert q.tolist() == [[1.0, -3.0, 0.0], [0.0, 1.0, -3.0]]


def test_absmean_is_bitnet_ternary():
    q, s = weight_levels(torch.tensor([[1.0, -2.0, 0.2, 0.0], [0.5, 0.5, -0.5, 0.2]]), "absmean", 7)
    assert torch.allclose(s, torch.full((2,), 4.9 / 8))  # one scale: mean |w| of the whole matrix
    assert q.tolist() == [[1.0, -1.0, 0.0, 0.0], [1.0, 1.0, -1.0, 0.0]]


def test_cells_hold_bit_slices_of_each_sign():
    cells = cell_planes(torch.tensor([[3.0, -2.0, 0.0]]), 2)  # one output, three inputs, 2 cells a sign
    # columns: (+, bit 0), (+, bit 1), (-, bit 0), (-, bit 1)
    assert cells.tolist() == [[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]


def test_offset_binary_input_slices():
    g = geometry(input_bits=4, dac_bits=2)  # a in [-7, 7], u = a + 8 in two 2-bit slices
    a, s, digits = input_digits(torch.tensor([[7.0, -7.0, 1.0, 0.0]]), g)
    assert s.item() == 1.0 and a.tolist() == [[7, -7, 1, 0]]
    assert digits[:, 0].tolist() == [[3, 1, 1, 0], [3, 0, 2, 2]]  # 15 = 3 + 4 x 3, 1, 9 = 1 + 4 x 2, 8


@pytest.mark.parametrize("over", [{}, {"dac_bits": 3}, {"cells_per_weight": 6}, {"rows_per_tile": 5},
                                  {"input_bits": 5, "dac_bits": 2, "cells_per_weight": 4}])
def test_lossless_tiles_add_up_to_the_integer_matmul(over):
    g = geometry(adc_bits=16, **over)
    gen = torch.Generator().manual_seed(1)
    x, w = torch.randn(6, 23, generator=gen), torch.randn(4, 23, generator=gen)
    prog = program(w, g, "per_channel")
    a, s, digits = input_digits(x, g)
    dots = shift_add(converted_sums(digits, prog, adc_step(g.full_scale, g.adc_bits), g), g, 6)
    exact = a.double() @ prog.levels.double().T
    assert torch.equal(dots - (1 << (g.input_bits - 1)) * prog.level_sum, exact)
    assert prog.cells.shape[0] == -(-23 // g.rows_per_tile)  # every tile took part
    digital = (exact * s.double()[:, None] * prog.scale.double()).float()
    assert torch.allclose(crossbar_matmul(x, prog, g, 1), digital)


def test_adc_step_keeps_the_top_bits():
    assert adc_step(128, 8) == 1 and adc_step(255, 8) == 1  # ceil(log2(129)) = 8 bits: exact
    assert adc_step(128, 6) == 4 and adc_step(256, 6) == 8 and adc_step(40, 4) == 4
    codes = adc_codes(torch.tensor([0, 1, 2, 5, 6, 60, 200], dtype=torch.int32), 4, 4)
    assert codes.tolist() == [0, 0, 1, 1, 2, 15, 15]  # round half up, saturate at code 15


def test_one_bit_adc_closed_form():
    # 4 rows, 2-bit inputs (a in [-1, 1], u = a + 2), 1-bit ADC: full scale 4 -> step 4, code 1 for sums >= 2.
    g = geometry(rows_per_tile=4, input_bits=2, adc_bits=1)
    prog = program(torch.tensor([[1.0, 1.0, 1.0, -1.0]]), g, "per_channel")
    x = torch.ones(1, 4)  # u = 3: both slices drive every row; + column sums 3 (code 1), - column 1 (code 0)
    # (4 + 2 x 4) - offset 2 x sum(q) = 12 - 4 = 8, where the exact product is 2
    assert crossbar_matmul(x, prog, g, adc_step(g.full_scale, g.adc_bits)).item() == 8.0
    assert crossbar_matmul(x, prog, g, None).item() == 2.0


def test_variation_is_seeded_and_the_adc_rounds_small_variation_away():
    g = geometry(adc_bits=4)  # 8 rows, 1-bit inputs: full scale 8 needs 4 bits
    w = torch.randn(5, 16, generator=torch.Generator().manual_seed(2))
    ideal = program(w, g, "per_channel")
    a, b = program(w, g, "per_channel", 0.05, seed=3, tag="0:q"), program(w, g, "per_channel", 0.05, 3, "0:q")
    assert ideal.ideal and not a.ideal and torch.equal(a.cells, b.cells)
    assert not torch.equal(a.cells, program(w, g, "per_channel", 0.05, 4, "0:q").cells)
    assert not torch.equal(a.cells, program(w, g, "per_channel", 0.05, 3, "0:k").cells)
    on = ideal.cells == 1
    assert torch.equal(a.cells[~on], torch.zeros_like(a.cells[~on]))  # an off cell stays off
    x = torch.randn(3, 16, generator=torch.Generator().manual_seed(5))
    tiny = program(w, g, "per_channel", 0.001, 3, "0:q")  # at most 8 x 0.001 x 4 sigma << half a step
    assert torch.equal(crossbar_matmul(x, tiny, g, 1), crossbar_matmul(x, ideal, g, 1))
    assert not torch.equal(crossbar_matmul(x, tiny, g, None), crossbar_matmul(x, ideal, g, None))


def tiny_weights() -> LlamaWeights:
    gen = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * 0.3

    cfg = LlamaConfig(n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, head_dim=4, ffn_dim=12, vocab_size=11,
                      rope_theta=10000.0, norm_eps=1e-5)
    layers = [LayerWeights(torch.ones(8), r(8, 8), r(4, 8), r(4, 8), r(8, 8), torch.ones(8), r(12, 8),
                           r(12, 8), r(8, 12)) for _ in range(2)]
    return LlamaWeights(cfg, r(11, 8), layers, torch.ones(8), r(11, 8))


def test_forward_projection_hook():
    w, ids = tiny_weights(), torch.tensor([[1, 4, 2, 9, 3]])
    seen = []

    def record(layer, name, x, wt):
        seen.append((layer, name, tuple(wt.shape)))
        return exact_project(layer, name, x, wt)

    assert torch.equal(forward(w, ids, project=record), forward(w, ids))
    assert [(i, n) for i, n, _ in seen] == [(i, n) for i in range(2) for n in PROJECTIONS]
    assert seen[-1][2] == (8, 12)  # down: [out, in]
    halved = forward(w, ids, project=lambda i, n, x, wt: x @ wt.T * (0.5 if n == "down" else 1.0))
    assert not torch.allclose(halved, forward(w, ids))


def test_operators_map_to_projections():
    ops = parse_operators(["ffn", "qkv_proj"])
    assert ops == ("qkv_proj", "ffn")
    assert projections(ops) == {"q", "k", "v", "gate", "up", "down"}


@pytest.mark.parametrize(("key", "value"), [("adc_bits", 0), ("adc_bits", 17), ("rows_per_tile", 0),
                                            ("rows_per_tile", 1.5), ("cols_per_tile", -4),
                                            ("cells_per_weight", 3), ("dac_bits", 9)])
def test_bad_crossbar_is_one_line_naming_the_key(key, value):
    with pytest.raises(SpecError) as e:
        geometry(**{key: value})
    assert str(e.value).startswith(f"hw.xbar.{key}=") and "\n" not in str(e.value)


def test_bad_datapath_and_operators():
    from models.analog import validate_datapath

    xbar = dict(rows_per_tile=8, cols_per_tile=16, cells_per_weight=2, input_bits=8, adc_bits=8)
    with pytest.raises(SpecError, match=r"^datapath.weight_bits=1: must be 0"):
        validate_datapath(xbar, ["ffn"], {}, {"weight_bits": 1})
    with pytest.raises(SpecError, match=r"^datapath.adc_range='clip'"):
        validate_datapath(xbar, ["ffn"], {}, {"adc_range": "clip"})
    with pytest.raises(SpecError, match=r"^hw.mapping.attention="):
        validate_datapath(xbar, ["attention"], {}, {})
