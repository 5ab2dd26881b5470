"""hbm2_pim_pimsim: Aquabolt-XL's organisation with PIMSimulator's own HBM2 timings (tCK = 1 ns), its
GEMVs issued as the simulator's stock kernel issues them (register tiles)."""

import pytest
from hwpoints import point

import hw
from hw.kernels.register_gemv import tile_cycles
from hw.presets import isolated_mapping

REFRESH = 1 / (1 - 350 / 3900)  # tRFC / tREFI of the simulator's ini
ONLY_LM_HEAD = isolated_mapping(lm_head="pim")


def gemv(preset, rows, cols, channels, *, stacks=1, batch=1, **overrides):
    cfg = point(
        hw=preset,
        algo="fp16",
        model="llama2_7b",
        hw__pim__stacks=stacks,
        hw__pim__channels_per_stack=channels,
        hw__mapping=ONLY_LM_HEAD,
        model__n_layers=1,
        model__hidden_size=cols,
        model__vocab_size=rows,
        model__weight_bits=16,
        workload__batch=batch,
        **overrides,
    )
    return hw.evaluate(*hw.build(*cfg)).kernels["lm_head"]


def gemv_s(preset, rows, cols, channels, **kw):
    return gemv(preset, rows, cols, channels, **kw).seconds


STREAM = {"hw__pim__gemv_kernel": "stream"}


def test_the_kernel_pieces_from_the_device_ini():
    # RL 20, WL 8, BL/2 2, tCCDL 4, tRCDRD 14, tRCDWR 10, tRP 14, tRTPL 5, tWR 16, tWTRL 9, tRTRS 1:
    # read->precharge 2 + max(5, 4) - 4 = 3, write->precharge 8 + 2 + 16 = 26, read->write
    # 20 + 2 + 1 - 8 = 15, write->read 8 + 2 + 9 = 19. 64 MAC reads over two 1 KiB rows:
    # 63 x 4 + (3 + 14 + 14 - 4) = 279. Even tile: writes 15 after the last read, 7 x 4 more, MACs 19
    # after the last write: 15 + 28 + 19 + 279 = 341. Odd tiles (register row and weights in one bank):
    # close the weight row 3 + 14 + 10 = 27, writes 28, close the register row 26 + 14 + 14 = 54:
    # 27 + 28 + 54 + 279 = 388; the first odd tile finds the register row closed: 15 + 28 + 54 + 279
    # = 376. Between output tiles: write-back 27 + 28, reopen the register row 26 + 14 + 10, inputs
    # 28 + 19: 152. Entry: 16 park-in activations x tRRDS 4 + 2 x 50 + 47 = 211; exit 55 + 100 + 10.
    system, _, _ = hw.build(*point(hw="hbm2_pim_pimsim", algo="fp16", model="llama2_7b"))
    c = tile_cycles(system.pim, system.pim.pes["bank"])
    pieces = (c.macs, c.even_tile, c.first_odd_tile, c.odd_tile, c.tile_lead, c.entry, c.exit)
    assert pieces == (279, 341, 376, 388, 152, 211, 165)


def test_4096_square_gemv_on_the_simulators_64_pseudo_channels():
    # One output tile (8 registers x 8 PCUs x 64 pCHs = 4096 rows), 32 input tiles of 128 inputs:
    # 211 + 279 + 15 x 341 + 376 + 15 x 388 + 165 = 11966 cycles of 1 ns, then refresh.
    # (benchmarks/hw_pimsim_gemv_count.py replays the kernel command by command: 11989 without refresh.)
    expected = 11966e-9 * REFRESH
    assert gemv_s("hbm2_pim_pimsim", 4096, 4096, 8, stacks=4) == pytest.approx(expected, rel=1e-12)


def test_outputs_pad_to_whole_tiles_over_many_pseudo_channels():
    # 1024 rows on 64 pCHs still fill one 4096-row tile: the same time as 4096 rows (the streamed
    # model charged a quarter of it).
    padded = gemv_s("hbm2_pim_pimsim", 1024, 4096, 8, stacks=4)
    assert padded == gemv_s("hbm2_pim_pimsim", 4096, 4096, 8, stacks=4)
    streamed = gemv_s("hbm2_pim_pimsim", 1024, 4096, 8, stacks=4, **STREAM)
    assert padded / streamed == pytest.approx(4.29, abs=0.01)


def test_every_token_of_the_batch_reruns_the_output_tiles():
    # batch 2: two runs of the 11590-cycle tile body and one 152-cycle lead between them.
    expected = (211 + 2 * 11590 + 152 + 165) * 1e-9 * REFRESH
    assert gemv_s("hbm2_pim_pimsim", 4096, 4096, 8, stacks=4, batch=2) == pytest.approx(expected, rel=1e-12)


def test_register_tiles_need_pcus_of_two_banks():
    with pytest.raises(hw.SpecError, match=r"^hw\.pim\.gemv_kernel='register_tiles': needs bank PEs of two"):
        gemv("hbm2_pim_pimsim", 4096, 4096, 8, hw__pim__pe__bank__banks_per_pe=1)


def test_one_channel_gemv_streams_both_banks_of_a_pcu_at_tccd_l():
    # gemv_kernel: stream. 4096 x 4096 x 2 B = 32 MiB over 2 pCH x 16 banks = 1 MiB = 1024 rows a
    # bank. A round opens a row in both banks of a PCU and reads 2 x 32 columns 4 ns apart, the last
    # waiting no interval: tRCD 14 + 63 x 4 + tRTP 5, then tRP 14 = 285 ns. The 8 KiB input goes into
    # both pCHs at one column per tCCD_S (2 ns) each: 256 x 2 = 512 ns. 16 PCUs x 16 lanes x 300 MHz
    # do the 16 M MACs in 218 us, under the 292 us stream.
    assert 4096 * 4096 / 16 / (16 * 300e6) < 1024 * 285e-9
    expected = (1024 * 285 + 512) * 1e-9 * REFRESH
    assert gemv_s("hbm2_pim_pimsim", 4096, 4096, 1, **STREAM) == pytest.approx(expected, rel=1e-12)


def test_the_simulator_timings_stream_slower_than_the_aquabolt_estimates():
    # 8 channels: 128 rows a bank. Aquabolt preset: 17 + 63 x 4 + 4 + 17 = 290 cycles of 0.833 ns a
    # row, refresh 420 / 4680; the simulator's: 285 cycles of 1 ns, 350 / 3900. Input: 512 cycles.
    aquabolt = (128 * 290 + 512) * 0.833e-9 / (1 - 420 / 4680)
    pimsim = (128 * 285 + 512) * 1e-9 * REFRESH
    assert gemv_s("hbm2_pim_aquabolt", 4096, 4096, 8) == pytest.approx(aquabolt, rel=1e-12)
    assert gemv_s("hbm2_pim_pimsim", 4096, 4096, 8, **STREAM) == pytest.approx(pimsim, rel=1e-12)
    assert pimsim / aquabolt == pytest.approx(1.18, abs=0.01)
