"""Activation-window limits, per-bank refresh and bus turnarounds as preset settings, by hand."""

import pytest
from hwpoints import point

import hw
from hw import dram

TCK = 0.769e-9  # AttAcc!'s HBM3_5.2Gbps


def pim(preset="attacc_hbm3_bufferdie", **overrides):
    system, _, _ = hw.build(*point(hw=preset, algo="fp16", model="llama2_7b", **overrides))
    return system.pim


def test_interleaved_streaming_pays_the_activation_window_when_it_binds():
    # Buffer-die PE of a pseudo-channel: 32 banks, 2 tCK a column. 4 KiB a bank = 4 rows of 32
    # columns. Columns alone: 4 x 32 x 32 x 2 = 8192 tCK. With tFAW = 1024 (four activates in it) the
    # 32 banks x 4 rows open at 256 tCK each: 32768 tCK, plus one exposed tRCD of 19.
    p = pim(hw__pim__refresh=False, hw__pim__timings__t_faw_cycles=1024)
    st = dram.stream(p, p.pes["buffer_die"], 4096.0)
    assert st.seconds == pytest.approx((32768 + 19) * TCK, rel=1e-12)


def test_the_activation_window_of_the_simulator_spec_does_not_bind_a_buffer_die_stream():
    # HBM3_5.2Gbps nRRDS 2, nFAW 39: 32 x 4 activates x 9.75 = 1248 tCK, under the 8192 of columns.
    free = pim(hw__pim__refresh=False)
    limited = pim(
        hw__pim__refresh=False, hw__pim__timings__t_rrd_s_cycles=2, hw__pim__timings__t_faw_cycles=39
    )
    assert dram.stream(limited, limited.pes["buffer_die"], 4096.0).seconds == pytest.approx(
        dram.stream(free, free.pes["buffer_die"], 4096.0).seconds, rel=1e-12
    )


def test_lockstep_all_bank_streams_are_exempt_from_the_window():
    # Bank PEs activate all banks with one all-bank command: tFAW does not apply.
    free = pim("attacc_hbm3_bank", hw__pim__refresh=False)
    limited = pim("attacc_hbm3_bank", hw__pim__refresh=False, hw__pim__timings__t_faw_cycles=4096)
    assert (
        dram.stream(limited, limited.pes["bank"], 4096.0).seconds
        == dram.stream(free, free.pes["bank"], 4096.0).seconds
    )


def test_per_bank_refresh_stalls_lockstep_pim_for_every_bank_refreshed():
    # One bank of the pseudo-channel refreshed for 260 tCK every 2600: lockstep PEs lose 10 %.
    p = pim(
        "attacc_hbm3_bank",
        hw__pim__refresh_mode="per_bank",
        hw__pim__timings__t_refi_pb_cycles=2600,
        hw__pim__timings__t_rfc_pb_cycles=260,
    )
    assert dram.refresh_factor(p) == pytest.approx(1 / 0.9, rel=1e-12)
    assert dram.refresh_factor(pim("attacc_hbm3_bank")) == pytest.approx(1 / (1 - 455 / 5070), rel=1e-12)


def test_per_bank_refresh_slower_than_its_interval_is_rejected():
    # AttAcc!'s spec: nRFCSB 260 against a per-bank interval of 107 tCK (82 ns).
    with pytest.raises(
        hw.SpecError, match=r"^hw\.pim\.timings\.t_refi_pb_cycles=107: must be > t_rfc_pb_cycles"
    ):
        pim(
            "attacc_hbm3_bank",
            hw__pim__refresh_mode="per_bank",
            hw__pim__timings__t_refi_pb_cycles=107,
            hw__pim__timings__t_rfc_pb_cycles=260,
        )


def test_turnarounds_from_the_pimsim_ini():
    # RL 20, WL 8, BL/2 2, tRTRS 1, tWTRL 9, tWR 16, tRTPL 5, tCCDL 4.
    t = pim("hbm2_pim_pimsim").timings
    assert (t.read_to_write, t.write_to_read, t.write_to_precharge, t.read_to_precharge) == (15, 19, 26, 3)
