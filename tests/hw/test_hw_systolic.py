"""The digital systolic array and its buffer by hand: GEMM cycles against LPDDR reads, decode attention
at the dense shape's utilisation, KV held on chip, precision scaling, area, tokens/s and tokens/J."""

import math

import numpy as np
import pytest
from hwpoints import load, point

import hw
from hw.kernels import systolic
from spec.errors import SpecError

BASE = {"model": "bitnet_b158_2b", "algo": "uniform", "algo__bits": 8, "workload__context_tokens": 4096}
CLOCK, MEM_BW = 5e8, 51.2e9 * 0.8  # the presets' array clock and achievable LPDDR bandwidth
LAYERS = 30


def cost(preset="pimllm_baseline", **overrides):
    cfg = BASE | overrides
    if cfg["algo"] != "uniform":
        del cfg["algo__bits"]
    return hw.evaluate(*hw.build(*point(hw=preset, **cfg)))


def test_gemm_cycles_hold_each_tile_for_its_vectors_or_its_load():
    arr = hw.build(*point(hw="pimllm_baseline", **BASE))[0].systolic
    # 40 x 60 tiles of 64 x 64, each held 64 cycles (the next tile's load), one fill and drain of 126.
    assert systolic.gemm_cycles(arr, 2560, 3840, 1, 30) == 30 * (40 * 60 * 64 + 126)
    assert systolic.gemm_cycles(arr, 2560, 3840, 100, 1) == 40 * 60 * 100 + 126


def test_a_projection_is_the_larger_of_its_cycles_and_its_weight_reads():
    c = cost()
    k, n = 2560, 3840  # qkv_proj
    compute_s = LAYERS * (40 * 60 * 64 + 126) / CLOCK
    weight_bytes = k * n * 1.58 / 8 * LAYERS
    assert c.kernels["qkv_proj"].seconds == pytest.approx(max(compute_s, weight_bytes / MEM_BW), rel=1e-12)
    assert c.kernels["qkv_proj"].bound == "compute"
    io_bytes = (k + n) * LAYERS  # one 8-bit token in, its outputs out
    energy_pj = k * n * LAYERS * 0.23 + weight_bytes * 8 * 5.0 + (weight_bytes + io_bytes) * 8 * 1.56
    assert c.kernels["qkv_proj"].energy_j == pytest.approx(energy_pj * 1e-12, rel=1e-12)
    lm_bytes = 2560 * 128256 * 2  # BF16 LM head
    assert c.kernels["lm_head"].seconds == pytest.approx(lm_bytes / MEM_BW, rel=1e-12)
    assert c.kernels["lm_head"].bound == "memory_bw"


def test_dense_attention_takes_the_dense_shape_cycles():
    c = cost(algo="fp16")
    calls = LAYERS * 5  # layers x KV heads x batch 1; 4 query heads a group stream through each
    cycles = calls * ((2 * 64 * 64 + 126) + (64 * 2 * 64 + 126))  # q.K^T (128 x 4096), p.V (4096 x 128)
    kv_bytes = 2 * LAYERS * 5 * 4096 * 128 * 2
    assert c.kv_bytes == kv_bytes
    expected = max(cycles / CLOCK, kv_bytes / MEM_BW)
    assert c.kernels["attention_gpu"].seconds == pytest.approx(expected, rel=1e-12)


def test_extra_format_work_runs_at_the_streaming_utilisation():
    c = cost()  # uniform int8: 2 FLOPs an element to dequantise beside the dense work
    dense_flops = 4 * 20 * 128 * LAYERS * 4096
    dequantise = 2 * 5 * 4096 * 128 * LAYERS * 2
    cycles = (dense_flops + dequantise) / 2 * 64 / (4 * 64 * 64)  # group 4 of 64 rows busy
    assert cycles > LAYERS * 5 * 2 * (2 * 64 * 64 + 126)  # above the dense shape's cycles
    mem_s = c.kv_bytes / MEM_BW
    assert c.kernels["attention_gpu"].seconds == pytest.approx(max(cycles / CLOCK, mem_s), rel=1e-12)


def test_kv_held_on_chip_is_read_from_sram_not_lpddr():
    lpddr = cost(algo="fp16", hw__systolic__buffer_bytes=8 << 20)
    on_chip = cost(algo="fp16", hw__systolic__buffer_bytes=8 << 20, hw__systolic__kv_buffer_share=1.0)
    share = (8 << 20) / lpddr.kv_bytes
    saved_j = lpddr.kv_bytes * share * 8 * 5.0e-12  # LPDDR pJ/bit; both pass the buffer once
    diff = lpddr.kernels["attention_gpu"].energy_j - on_chip.kernels["attention_gpu"].energy_j
    assert diff == pytest.approx(saved_j, rel=1e-9)
    everything = cost(algo="fp16", hw__systolic__buffer_bytes=1 << 30, hw__systolic__kv_buffer_share=1.0)
    assert everything.kernels["attention_gpu"].bound == "compute"  # nothing left to read from LPDDR


def test_precision_scales_mac_energy_and_pe_area_quadratically():
    arr8 = hw.build(*point(hw="pimllm_baseline", **BASE))[0].systolic
    arr16 = hw.build(*point(hw="pimllm_baseline", hw__systolic__mac_bits=16, **BASE))[0].systolic
    assert arr8.mac_pj == 0.23 and arr16.mac_pj == pytest.approx(4 * 0.23, rel=1e-12)
    assert arr8.area_mm2 == pytest.approx(64 * 64 * 0.0004 + 2 * 3.0, rel=1e-12)
    assert arr16.area_mm2 == pytest.approx(64 * 64 * 0.0004 * 4 + 2 * 3.0, rel=1e-12)


def test_tokens_per_second_and_joule_and_the_area_total():
    c = cost(workload__batch=4)
    assert c.tokens_per_s == pytest.approx(4 / c.latency_s, rel=1e-12)
    assert c.tokens_per_j == pytest.approx(4 / c.energy_j, rel=1e-12)
    d = c.to_dict()
    assert d["tokens_per_s"] == c.tokens_per_s and d["tokens_per_j"] == c.tokens_per_j
    assert d["area_mm2_by_device"] == {"systolic": pytest.approx(7.6384, rel=1e-12)}
    edge = cost("pimllm_edge").to_dict()
    assert edge["area_mm2"] == pytest.approx(sum(edge["area_mm2_by_device"].values()), rel=1e-12)
    assert set(edge["area_mm2_by_device"]) == {"xbar", "systolic"}


def test_the_baseline_is_the_edge_system_without_crossbars():
    edge, base = load("hw", "pimllm_edge"), load("hw", "pimllm_baseline")
    assert base["xbar"] is None and base["systolic"] == edge["systolic"] and base["gpu"] == edge["gpu"]
    assert {base["mapping"][op] for op in ("qkv_proj", "o_proj", "ffn", "lm_head", "attention")} == {"gpu"}
    e, b = cost("pimllm_edge"), cost()
    for kernel in ("lm_head", "attention_gpu"):
        assert e.kernels[kernel].seconds == b.kernels[kernel].seconds
        assert e.kernels[kernel].energy_j == b.kernels[kernel].energy_j
    assert e.tokens_per_s > b.tokens_per_s and e.tokens_per_j > b.tokens_per_j


def test_a_grid_of_arrays_equals_its_points():
    rows = np.array([16.0, 32.0, 64.0])
    grid = cost(hw__systolic__rows=rows, hw__systolic__kv_buffer_share=np.array([0.0, 0.5, 1.0]))
    for i, share in enumerate((0.0, 0.5, 1.0)):
        one = cost(hw__systolic__rows=int(rows[i]), hw__systolic__kv_buffer_share=share)
        assert grid.latency_s[i] == pytest.approx(one.latency_s, rel=1e-12)
        assert grid.energy_j[i] == pytest.approx(one.energy_j, rel=1e-12)
        assert grid.tokens_per_j[i] == pytest.approx(one.tokens_per_j, rel=1e-12)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hw__systolic__rows": 0}, "hw.systolic.rows=0: must be >= 1"),
        ({"hw__systolic__cols": 8.5}, "hw.systolic.cols=8.5: must be an integer"),
        ({"hw__systolic__kv_buffer_share": 1.5}, "hw.systolic.kv_buffer_share=1.5: must be <= 1"),
        ({"hw__systolic__clock_hz": 0}, "hw.systolic.clock_hz=0: must be >= 1000000"),
    ],
)
def test_bad_array_input_is_one_line_naming_the_key(overrides, message):
    with pytest.raises(SpecError) as err:
        hw.build(*point(hw="pimllm_baseline", **(BASE | overrides)))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_systolic_array_beside_pim_is_refused():
    hw_cfg, algo, model, workload = point(hw="aqpim_hbm3")
    hw_cfg["systolic"] = load("hw", "pimllm_edge")["systolic"]
    with pytest.raises(SpecError, match=r"^hw\.systolic='\(section\)': modelled only without PIM"):
        hw.build(hw_cfg, algo, model, workload)


def test_every_hardware_value_of_the_pimllm_space_builds():
    """conf/space/pimllm.yaml's hw.* choices (the sweeper validates them too, with Hydra)."""
    import re

    from hwpoints import CONF

    text = (CONF / "space" / "pimllm.yaml").read_text()
    params = re.findall(r"^  (hw\.[\w.]+): choice\(([^)]*)\)$", text, flags=re.M)
    assert len(params) == 8
    for key, values in params:
        for value in (float(v) for v in values.split(",")):
            override = {"hw__" + key[3:].replace(".", "__"): int(value) if value.is_integer() else value}
            c = cost("pimllm_edge", **override)
            assert c.fits and math.isfinite(c.tokens_per_j), (key, value)
