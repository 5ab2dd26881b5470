"""hw.pim.power_budget_w_per_stack: a stack's power on PE column commands caps the all-bank rate."""

import pytest
from hwpoints import point
from test_hw_issued_moves import REFRESH, TCK, one_head

import hw
from hw.energy import column_command_j


def test_column_command_energy_by_hand():
    system, _, _ = hw.build(*point(hw="attacc_hbm3_bank", algo="fp16"))
    # A bank PE: one 32 B column = 256 bits x (cell 0.44 + activation 0.11 pJ/bit, no path) plus
    # 16 FP16 MACs x 0.32 pJ = 140.8 + 5.12 = 145.92 pJ.
    assert column_command_j(system.pim, system.pim.pes["bank"]) == pytest.approx(145.92e-12, rel=1e-12)


def test_a_tight_budget_stretches_the_command_interval_and_a_loose_one_does_nothing():
    free = one_head(4096)["attn_score"].seconds
    assert one_head(4096, hw__pim__power_budget_w_per_stack=100.0)["attn_score"].seconds == free
    # A one-channel stack has 64 bank PEs: 64 x 145.92 pJ = 9.339 nJ a command; at 1 W one command
    # every 9.339 ns (12.1 tCK) instead of nCCDAB = 6 (4.614 ns). K: 16 rows a bank, each
    # tRCD + tRTP + tRP = 46 cycles plus 31 command intervals.
    interval = 64 * 145.92e-12 / 1.0
    capped = one_head(4096, hw__pim__power_budget_w_per_stack=1.0)["attn_score"].seconds
    assert capped == pytest.approx(16 * (46 * TCK + 31 * interval) * REFRESH, rel=1e-12)
    # At 2 W the cap (4.669 ns) is just above nCCDAB = 6.
    assert 6 * TCK < 64 * 145.92e-12 / 2.0
    assert free < one_head(4096, hw__pim__power_budget_w_per_stack=2.0)["attn_score"].seconds < capped


def test_a_budget_out_of_range_names_the_key():
    with pytest.raises(hw.SpecError, match=r"^hw\.pim\.power_budget_w_per_stack=0"):
        hw.build(*point(hw="attacc_hbm3_bank", algo="fp16", hw__pim__power_budget_w_per_stack=0))
