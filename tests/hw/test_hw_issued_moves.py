"""Softmax and bank <-> buffer-die movement of one attention head as AttAcc!'s controller issues them
(`hw.pim.move_overlap`), worked out in cycles of the HBM3-PIM preset (tCK = 0.769 ns)."""

import pytest
from hwpoints import point

import hw
from hw import dram
from hw.presets import isolated_mapping

TCK = 0.769e-9
REFRESH = 1 / (1 - 455 / 5070)
PE_CYCLE = 1 / 666e6
ONLY_ATTENTION = isolated_mapping(attention="pim")


def one_head(tokens, preset="attacc_hbm3_bank", heads=1, **kw):
    """`heads` heads (d = 128) of `tokens` tokens on one channel (2 pCH x 2 ranks x 4 BG x 4 banks)."""
    cfg = point(
        hw=preset,
        algo="fp16",
        model="llama2_7b",
        hw__pim__stacks=1,
        hw__pim__channels_per_stack=1,
        hw__mapping=ONLY_ATTENTION,
        model__n_layers=1,
        model__n_q_heads=heads,
        model__n_kv_heads=heads,
        model__head_dim=128,
        workload__context_tokens=tokens,
        workload__batch=1,
        **kw,
    )
    return hw.evaluate(*hw.build(*cfg)).kernels


def test_bank_pes_show_query_last_groups_and_the_broadcast_at_alternating_bank_groups():
    k = one_head(4096)
    # Per pCH (each on its own bus): query 2 x 256 B / 2 pCH = 8 WR_GB into one bank group's buffers
    # at tCCD_L = 4 -> 32, of which the first row's activate (passing the barrier) hides tRCD = 19: 13.
    # Scores: 4096 x 2 B / 2 pCH = 128 MV_SB, all under the MACs but the last row's group, one per
    # (rank, BG) = 8 at tCCD_S = 2 -> 16. Probabilities: 128 MV_GB in runs of 128 / 8 = 16 per bank
    # group, under the 32-request window, so they alternate: 128 x 2 = 256. The switch from the last
    # score row to the first value row (tRTP 8 + tRP 19 + tRCD 19 = 46) hides under these 272: 226.
    # Partial outputs: 64 PEs x 32 dims x 2 B summed over 4 BGs = 1 KiB -> 16 columns a pCH, the last
    # group (2 ranks x 4 banks = 8) at 2 -> 16, under the last precharge (8 + 19): 0. Total 239.
    assert k["pim_data_movement"].seconds == pytest.approx(239 * TCK * REFRESH, rel=1e-12)
    # Softmax: 2048 scores a buffer-die PE / 16 lanes = 128 PE cycles = 192 ns, under the 197 ns
    # broadcast it streams into: only the SFM command's data-path slot (tCCD_S = 2) shows.
    assert 128 * PE_CYCLE < 256 * TCK
    assert k["attn_softmax"].seconds == pytest.approx(2 * TCK * REFRESH, rel=1e-12)
    # Energy: every byte still moves (query, scores up, probabilities down, reduced outputs) along
    # bank -> BG mux -> global I/O -> TSV: 1.01 + 1.23 + 0.5 pJ/bit.
    moved = 512 + 2 * 8192 + 1024
    assert k["pim_data_movement"].energy_j == pytest.approx(moved * 8 * 2.74e-12, rel=1e-12)


def test_long_same_bank_group_runs_fill_the_window_only_until_the_next_run_enters_it():
    k = one_head(16384)
    # Probabilities: 16384 x 2 B / 2 pCH / 32 B = 512 MV_GB in runs of 64. The window of 32 holds only
    # the first run's requests for its first 32 moves (tCCD_L = 4), then the next run's enter and the
    # moves alternate (tCCD_S = 2): 512 x 2 + 32 x 2 = 1088. Query 13, middle 16 + 1088 - 46 = 1058.
    assert k["pim_data_movement"].seconds == pytest.approx((13 + 1058) * TCK * REFRESH, rel=1e-12)
    # At 8K the runs are 32 long: the next run enters at once, all at tCCD_S: 13 + 16 + 512 - 46.
    eight = one_head(8192)
    assert eight["pim_data_movement"].seconds == pytest.approx(495 * TCK * REFRESH, rel=1e-12)
    # An 8-request window at 4K: the first run's 16 - 8 moves at tCCD_L (later runs of 16 <= 2 x 8
    # always meet the next): 256 + 8 x 2 = 272; 13 + 16 + 272 - 46 = 255.
    narrow = one_head(4096, hw__pim__move_window=8)
    assert narrow["pim_data_movement"].seconds == pytest.approx(255 * TCK * REFRESH, rel=1e-12)
    # At 64K, runs of 256: 224 + 7 x 192 moves at tCCD_L: 2048 x 2 + 1568 x 2 = 7232.
    assert dram.broadcast_cycles(system_pim(), 2048) == 7232


def test_paired_heads_hide_one_broadcast_and_the_second_query():
    # Two heads on one channel run as AttAcc!'s generator pairs them: one query (13) and one output
    # group (0) show; the first head's scores and probabilities move under the second head's MACs;
    # the second head's 256-cycle broadcast queues behind the first head's value MACs and shows but
    # for the last 32 MACs (6 tCK each): max(0, 256 - 192) = 64.
    k = one_head(4096, heads=2)
    assert k["pim_data_movement"].seconds == pytest.approx((13 + 64) * TCK * REFRESH, rel=1e-12)


def system_pim():
    system, _, _ = hw.build(*point(hw="attacc_hbm3_bank", algo="fp16", model="llama2_7b"))
    return system.pim


def test_a_slow_softmax_unit_shows_what_outlasts_the_broadcast():
    k = one_head(4096, hw__pim__softmax_ops_per_score=5)
    # 5 x 2048 / 16 = 640 PE cycles = 961 ns against the 256-cycle (197 ns) broadcast.
    busy, broadcast = 640 * PE_CYCLE, 256 * TCK
    expected = (2 * TCK + busy - broadcast) * REFRESH
    assert k["attn_softmax"].seconds == pytest.approx(expected, rel=1e-12)


def test_bank_group_pes_move_one_output_column_per_rank_last():
    k = one_head(4096, preset="attacc_hbm3_bankgroup")
    # As at bank level, but a bank-group PE holds the whole head (head_split 1): the last output
    # group is one column per rank (2 x 2 = 4 cycles), under the last precharge: 13 + 226.
    assert k["pim_data_movement"].seconds == pytest.approx(239 * TCK * REFRESH, rel=1e-12)


def test_without_move_overlap_every_byte_crosses_after_the_macs():
    k = one_head(4096, hw__pim__move_overlap=False)
    # Scores up and down, 64 x 32 unreduced partial outputs and the query, 64 B per 4 cycles.
    moved = 2 * 4096 * 2 + 64 * 32 * 2 + 2 * 128 * 2
    assert k["pim_data_movement"].seconds == pytest.approx(moved / (64 / (4 * TCK)) * REFRESH, rel=1e-12)
    # Softmax: 4096 scores / (2 PEs x 16 lanes) = 128 PE cycles.
    assert k["attn_softmax"].seconds == pytest.approx(128 * PE_CYCLE * REFRESH, rel=1e-12)


def test_buffer_die_pes_move_nothing_with_or_without_overlap():
    on = one_head(4096, preset="attacc_hbm3_bufferdie", hw__pim__move_overlap=True)
    off = one_head(4096, preset="attacc_hbm3_bufferdie")
    assert on["pim_data_movement"].seconds == off["pim_data_movement"].seconds == 0.0


def small_gemv(rows=1024, cols=1024, preset="attacc_hbm3_bank", pe="bank", **kw):
    """A rows x cols FP16 GEMV alone on 16 channels of one stack (the LM head of a one-layer model)."""
    mapping = dict(ONLY_ATTENTION, attention="none", lm_head="pim")
    cfg = point(
        hw=preset,
        algo="fp16",
        model="llama2_7b",
        hw__pim__stacks=1,
        hw__pim__channels_per_stack=16,
        hw__pim__gemv_pe=pe,
        hw__mapping=mapping,
        model__n_layers=1,
        model__hidden_size=cols,
        model__vocab_size=rows,
        model__weight_bits=16,
        **kw,
    )
    return hw.evaluate(*hw.build(*cfg)).kernels["lm_head"]


def test_small_gemv_pays_the_input_broadcast_and_the_last_output_group():
    # 2 MiB of weights over 16 x 64 banks = 2 KiB = 2 rows a bank: 2 x (19 + 31 x 6 + 8 + 19) = 464.
    # Before the first MAC: 1024 inputs x 2 B into each pCH = 64 WR_GB into one bank group, at
    # tCCD_L = 4 -> 256, less the first activate that passes the barrier (tRCD 19): 237. After the
    # last MAC: one MV_SB per adder tree (2 ranks x 4 BGs) at 2 -> 16, under the last precharge (27).
    k = small_gemv()
    assert k.seconds == pytest.approx((464 + 237) * TCK * REFRESH, rel=1e-12)
    # Without move_overlap the outputs stay in the PEs and the broadcast goes at move_interval (4).
    off = small_gemv(hw__pim__move_overlap=False)
    assert off.seconds == pytest.approx((464 + 256) * TCK * REFRESH, rel=1e-12)


def test_inputs_beyond_the_buffer_go_in_tiles_each_beside_a_row_switch():
    # 1024 x 4096: 8 MiB over 1024 banks = 8 rows a bank: 8 x (19 + 31 x 6 + 8 + 19) = 1856. Each pCH
    # takes 4096 x 2 B = 8 KiB of inputs, a bank its quarter (2 KiB) in a 512 B buffer: 4 tiles of 64
    # WR_GB (256 cycles). The first less the first activate: 237. Each later tile waits for the last
    # MAC of the one before, then its 8 output MV_SB (16) and its writes (256) run beside the switch
    # to its first row (tRTP 8 + tRP 19 + tRCD 19 = 46): 3 x 226. The last outputs hide under the last
    # precharge. benchmarks/hw_attacc_gemv_count.py counts 2751 (no refresh before cycle 5070).
    k = small_gemv(cols=4096)
    assert k.seconds == pytest.approx((1856 + 237 + 3 * 226) * TCK * REFRESH, rel=1e-12)
    # 256 x 4096 packs into 2 rows a bank (464), so only one of the 3 tile starts has a row switch to
    # hide beside; the other two show their outputs and writes whole: 237 + 226 + 2 x (16 + 256).
    few_rows = small_gemv(rows=256, cols=4096)
    assert few_rows.seconds == pytest.approx((464 + 237 + 226 + 2 * 272) * TCK * REFRESH, rel=1e-12)


def test_interleaved_bank_group_pes_hide_no_row_switch_at_a_tile_start():
    # Bank-group PEs hold the whole input (head_split 1) in 512 B: a pCH's 2 KiB in 4 tiles of 16 WR_GB
    # (64 cycles). Their stream reads one bank while the other three activate, so a tile start has no
    # switch to hide beside: 64 - 19 + 3 x (16 + 64) = 285. Stream: 2 KiB a bank = 64 columns x 4
    # banks at nCCDSB = 6 = 1536 (longer than a bank's own 64 x 6 + 2 x 46 = 476), plus one tRCD: 1555.
    k = small_gemv(preset="attacc_hbm3_bankgroup", pe="bank_group")
    assert k.seconds == pytest.approx((1555 + 285) * TCK * REFRESH, rel=1e-12)
