"""hbm2_pim_pimsim: Aquabolt-XL's organisation with PIMSimulator's own HBM2 timings (tCK = 1 ns)."""

import pytest
from hwpoints import point

import hw
from hw.presets import isolated_mapping

REFRESH = 1 / (1 - 350 / 3900)  # tRFC / tREFI of the simulator's ini
ONLY_LM_HEAD = isolated_mapping(lm_head="pim")


def gemv_s(preset, rows, cols, channels):
    cfg = point(
        hw=preset,
        algo="fp16",
        model="llama2_7b",
        hw__pim__stacks=1,
        hw__pim__channels_per_stack=channels,
        hw__mapping=ONLY_LM_HEAD,
        model__n_layers=1,
        model__hidden_size=cols,
        model__vocab_size=rows,
        model__weight_bits=16,
    )
    return hw.evaluate(*hw.build(*cfg)).kernels["lm_head"].seconds


def test_one_channel_gemv_streams_both_banks_of_a_pcu_at_tccd_l():
    # 4096 x 4096 x 2 B = 32 MiB over 2 pCH x 16 banks = 1 MiB = 1024 rows a bank. A round opens a
    # row in both banks of a PCU and reads 2 x 32 columns 4 ns apart, the last waiting no interval:
    # tRCD 14 + 63 x 4 + tRTP 5, then tRP 14 = 285 ns. The 8 KiB input goes into both pCHs at one
    # column per tCCD_S (2 ns) each: 256 x 2 = 512 ns. 16 PCUs x 16 lanes x 300 MHz do the 16 M MACs
    # in 218 us, under the 292 us stream.
    assert 4096 * 4096 / 16 / (16 * 300e6) < 1024 * 285e-9
    expected = (1024 * 285 + 512) * 1e-9 * REFRESH
    assert gemv_s("hbm2_pim_pimsim", 4096, 4096, 1) == pytest.approx(expected, rel=1e-12)


def test_the_simulator_timings_stream_slower_than_the_aquabolt_estimates():
    # 8 channels: 128 rows a bank. Aquabolt preset: 17 + 63 x 4 + 4 + 17 = 290 cycles of 0.833 ns a
    # row, refresh 420 / 4680; the simulator's: 285 cycles of 1 ns, 350 / 3900. Input: 512 cycles.
    aquabolt = (128 * 290 + 512) * 0.833e-9 / (1 - 420 / 4680)
    pimsim = (128 * 285 + 512) * 1e-9 * REFRESH
    assert gemv_s("hbm2_pim_aquabolt", 4096, 4096, 8) == pytest.approx(aquabolt, rel=1e-12)
    assert gemv_s("hbm2_pim_pimsim", 4096, 4096, 8) == pytest.approx(pimsim, rel=1e-12)
    assert pimsim / aquabolt == pytest.approx(1.18, abs=0.01)
