"""The analog crossbar from its parts: tile timing and energy by hand, ADC scaling with resolution and
sharing, weight-stationary capacity and its fit, bad input, grids."""

import math

import numpy as np
import pytest
from hwpoints import point

import hw
from hw.kernels import xbar
from hw.kernels.step import Step
from spec.errors import SpecError

BITNET = {"hw": "pimllm_edge", "model": "bitnet_b158_2b", "algo": "uniform", "algo__bits": 8}
LAYERS = 30
# BitNet b1.58 2B: hidden 2560, 20 q heads + 2 x 5 kv heads of 128, intermediate 6912.
QKV = (2560, 2560 + 2 * 640)
FFN_UP, FFN_DOWN = (2560, 2 * 6912), (6912, 2560)


def cost(**overrides):
    return hw.evaluate(*hw.build(*point(**(BITNET | overrides))))


def built(**overrides):
    system, kv, workload = hw.build(*point(**(BITNET | overrides)))
    return Step(system=system, kv=kv, workload=workload)


def test_the_preset_tile_derives_its_cycle_energy_and_area_by_hand():
    x = built().system.xbar
    assert x.input_cycles == 8  # 8-bit inputs, 1-bit DACs
    assert x.conversions_per_adc == 16  # 128 columns on 8 ADCs
    assert x.conversion_s == pytest.approx(8 * 125e-12, rel=1e-12)  # SAR: one step a bit
    assert x.cycle_s == pytest.approx(2e-9 + 16 * 8 * 125e-12, rel=1e-12)
    assert x.conversion_pj == pytest.approx(6.5e-3 * 256, rel=1e-12)  # Walden FOM x 2^8
    assert x.lossless_adc_bits == 8  # ceil(log2(128 x 1 + 1))
    tile_um2 = 128 * 128 * 0.025 + 8 * 4.7 * 256
    assert x.tile_area_mm2 == pytest.approx(tile_um2 * 1e-6 + 0.0001, rel=1e-12)


def test_projection_energy_counts_conversions_drivers_cells_and_partial_sums():
    c = cost()
    conv = 6.5e-3 * 256 + 0.05  # a conversion and its shift-and-add (pJ)

    def stage_pj(rows, cols):
        row_tiles, col_cells = math.ceil(rows / 128), cols * 2
        col_tiles = math.ceil(col_cells / 128)
        per_cycle = row_tiles * col_cells * conv + rows * col_tiles * 0.4 + rows * col_cells * 0.002
        return 8 * per_cycle + (row_tiles - 1) * cols * 0.05

    assert c.kernels["qkv_proj"].energy_j == pytest.approx(LAYERS * stage_pj(*QKV) * 1e-12, rel=1e-12)
    ffn_pj = stage_pj(*FFN_UP) + stage_pj(*FFN_DOWN)
    assert c.kernels["ffn"].energy_j == pytest.approx(LAYERS * ffn_pj * 1e-12, rel=1e-12)
    assert c.kernels["ffn"].energy_components == {"xbar": c.kernels["ffn"].energy_j}


def test_each_adc_bit_doubles_conversion_energy_and_adds_a_sar_step():
    bits = np.array([4.0, 5.0, 6.0])
    x = built(hw__xbar__adc_bits=bits).system.xbar
    assert np.allclose(x.conversion_pj, 6.5e-3 * 2**bits, rtol=1e-12)
    assert np.allclose(x.conversion_s, bits * 125e-12, rtol=1e-12)
    flash = built(hw__xbar__adc_bits=bits, hw__xbar__adc_kind="flash").system.xbar
    assert np.allclose(flash.conversion_s, 125e-12, rtol=1e-12)
    assert np.allclose(flash.tile_area_mm2, x.tile_area_mm2)  # area follows the levels, not the kind


def test_sharing_adcs_trades_time_for_area_at_equal_energy():
    shared = cost(hw__xbar__adcs_per_tile=1)
    own = cost(hw__xbar__adcs_per_tile=128)
    assert shared.kernels["ffn"].energy_j == pytest.approx(own.kernels["ffn"].energy_j, rel=1e-12)
    # 128 conversions one after another against one.
    ratio = (2e-9 + 128 * 1e-9) / (2e-9 + 1e-9)
    assert shared.kernels["ffn"].seconds / own.kernels["ffn"].seconds == pytest.approx(ratio, rel=1e-12)
    assert shared.area_mm2_by_device["xbar"] < own.area_mm2_by_device["xbar"]


def test_multi_bit_dacs_take_fewer_cycles_and_drive_more_levels():
    step = built(hw__xbar__dac_bits=2)
    assert step.system.xbar.input_cycles == 4
    assert step.system.xbar.lossless_adc_bits == math.ceil(math.log2(128 * 3 + 1))
    serial, two_bit = cost(), cost(hw__xbar__dac_bits=2)
    assert two_bit.kernels["o_proj"].seconds == pytest.approx(serial.kernels["o_proj"].seconds / 2, rel=1e-12)


def test_tiles_needed_by_hand_and_unprovisioned_tiles_fit_exactly():
    # Per layer: qkv 20 x 60, o_proj 20 x 40, FFN up 20 x 216 and down 54 x 40 tiles.
    per_layer = 20 * 60 + 20 * 40 + 20 * 216 + 54 * 40
    step = built()
    assert xbar.tiles_needed(step) == LAYERS * per_layer == 254400
    assert xbar.provisioned_tiles(step) == 254400
    assert cost().xbar_tiles_needed == cost().xbar_tiles == 254400
    c = cost()
    assert c.fits is True and c.fits_by == {"kv": True, "weights": True, "xbar_tiles": True}
    assert c.area_mm2_by_device["xbar"] == pytest.approx(254400 * step.system.xbar.tile_area_mm2, rel=1e-12)


def test_a_model_that_does_not_fit_the_crossbar_says_why():
    c = cost(hw__xbar__tiles=254399)
    assert c.fits is False
    assert c.fits_by == {"kv": True, "weights": True, "xbar_tiles": False}
    d = c.to_dict()
    assert d["fits"] is False
    assert d["fits_reason"] == "xbar_tiles: over capacity (254400 needed, 254399 provisioned)"
    assert d["xbar_tiles_needed"] == 254400 and d["xbar_tiles"] == 254399
    assert d["fits_by"]["xbar_tiles"] is False
    assert cost(hw__xbar__tiles=254400).fits is True
    assert cost().to_dict()["fits_reason"] == ""


def test_a_grid_of_crossbars_equals_its_points():
    rows, adcs = np.array([64.0, 128.0, 256.0]), np.array([1.0, 4.0, 16.0])
    grid = cost(hw__xbar__rows_per_tile=rows, hw__xbar__adcs_per_tile=adcs, hw__xbar__adc_bits=np.array(6.0))
    for i in range(3):
        one = cost(
            hw__xbar__rows_per_tile=int(rows[i]), hw__xbar__adcs_per_tile=int(adcs[i]), hw__xbar__adc_bits=6
        )
        assert grid.latency_s[i] == pytest.approx(one.latency_s, rel=1e-12)
        assert grid.energy_j[i] == pytest.approx(one.energy_j, rel=1e-12)
        assert grid.area_mm2_by_device["xbar"][i] == pytest.approx(one.area_mm2_by_device["xbar"], rel=1e-12)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("adc_bits", 0, "hw.xbar.adc_bits=0: must be >= 1"),
        ("adc_bits", 17, "hw.xbar.adc_bits=17: must be <= 16"),
        ("adc_bits", 6.5, "hw.xbar.adc_bits=6.5: must be an integer"),
        ("rows_per_tile", 0, "hw.xbar.rows_per_tile=0: must be >= 1"),
        ("cols_per_tile", 127.5, "hw.xbar.cols_per_tile=127.5: must be an integer"),
        ("tiles", -1, "hw.xbar.tiles=-1: must be >= 1"),
        ("adcs_per_tile", 129, "hw.xbar.adcs_per_tile=129: must be <= cols_per_tile"),
        ("dac_bits", 9, "hw.xbar.dac_bits=9: must be <= input_bits"),
        ("adc_kind", "pipelined", "hw.xbar.adc_kind='pipelined': must be one of sar, flash"),
    ],
)
def test_bad_crossbar_input_is_one_line_naming_the_key(key, value, message):
    with pytest.raises(SpecError) as err:
        hw.build(*point(**(BITNET | {f"hw__xbar__{key}": value})))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_bad_element_of_a_grid_is_named():
    with pytest.raises(SpecError, match=r"^hw\.xbar\.adc_bits=20: must be <= 16$"):
        hw.build(*point(**(BITNET | {"hw__xbar__adc_bits": np.array([8.0, 20.0])})))
