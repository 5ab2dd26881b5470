"""Kernels costed in isolation through configuration alone (how they are compared with simulators)."""

import json

import pytest
from hwpoints import point

import hw
from hw.presets import isolated_mapping

TCK = 0.769e-9
REFRESH = 1 / (1 - 455 / 5070)
# Cycles to stream one 1 KiB row at nCCDAB = 6: tRCD, 32 columns (the last waits no interval), tRTP, tRP.
ROW = 19 + 31 * 6 + 8 + 19
ONLY_ATTENTION = isolated_mapping(attention="pim")


def one_head(tokens, head_dim, algo="fp16", **kw):
    """One attention head of `tokens` tokens on one channel of one stack, nothing else mapped."""
    return point(
        algo=algo,
        hw__pim__stacks=1,
        hw__pim__channels_per_stack=1,
        hw__mapping=ONLY_ATTENTION,
        model__n_layers=1,
        model__n_q_heads=1,
        model__n_kv_heads=1,
        model__head_dim=head_dim,
        workload__context_tokens=tokens,
        **kw,
    )


def test_one_head_on_one_channel_streams_k_and_v_row_by_row():
    c = hw.evaluate(*hw.build(*one_head(4096, 128)))
    # K = 4096 x 128 x 2 B = 1 MiB over 2 pCH x 32 banks = 16 KiB = 16 rows a bank.
    assert c.kernels["attn_score"].seconds == pytest.approx(16 * ROW * TCK * REFRESH, rel=1e-12)
    assert c.kernels["attn_value"].seconds == c.kernels["attn_score"].seconds
    assert c.kernels["attn_score"].bound == "internal_bw"
    # 4096 scores up, 4096 probabilities down, 64 banks x 32 dims (the head split over 4 banks) of
    # partial outputs up, the query into both pseudo-channels: over 2 pCH buses at one 32 B column
    # per 4-cycle move command.
    moved = 2 * 4096 * 2 + 64 * 32 * 2 + 2 * 128 * 2
    assert c.kernels["pim_data_movement"].seconds == pytest.approx(
        moved / (2 * 32 / (4 * TCK)) * REFRESH, rel=1e-12
    )
    pim_kernels = {
        "link_gpu_pim",
        "kv_append",
        "attn_score",
        "attn_value",
        "attn_softmax",
        "pim_data_movement",
    }
    # The new K and V (256 B each) go to two banks in parallel: one row write of 8 columns (the last
    # waits no interval), tRCD + 7 x 6 + tWR (21), then tRP.
    assert c.kernels["kv_append"].seconds == pytest.approx((19 + 7 * 6 + 21 + 19) * TCK * REFRESH, rel=1e-12)
    spill_kernels = {"attention_spill_gpu", "kv_spill_transfer"}
    assert set(c.kernels) == pim_kernels | spill_kernels
    for name in spill_kernels:  # nothing spills
        assert (c.kernels[name].seconds, c.kernels[name].bound) == (0.0, "none")


def test_short_rows_pay_activation_more_than_columns():
    # 64 tokens x 64 dims x 2 B = 8 KiB over 64 banks = 128 B a bank: 4 columns but a full row cycle.
    c = hw.evaluate(*hw.build(*one_head(64, 64)))
    k = c.kernels["attn_score"]
    assert k.bound == "activation"
    assert k.seconds == pytest.approx(max(19 + 3 * 6 + 8, 45) * TCK * REFRESH + 19 * TCK * REFRESH, rel=1e-12)


def test_refresh_off_removes_exactly_the_refresh_stretch():
    on = hw.evaluate(*hw.build(*one_head(4096, 128))).kernels["attn_score"].seconds
    off = hw.evaluate(*hw.build(*one_head(4096, 128, hw__pim__refresh=False))).kernels["attn_score"].seconds
    assert on / off == pytest.approx(REFRESH, rel=1e-12)


def test_without_the_power_limit_the_bank_pe_streams_faster():
    limited = hw.evaluate(*hw.build(*one_head(4096, 128))).kernels["attn_score"].seconds
    free = hw.evaluate(*hw.build(*one_head(4096, 128, hw__pim__pe__bank__cmd_interval_cycles=4)))
    assert free.kernels["attn_score"].seconds == pytest.approx(16 * (19 + 31 * 4 + 8 + 19) * TCK * REFRESH)
    assert free.kernels["attn_score"].seconds < limited


def test_cluster_sparse_reads_whole_row_aligned_clusters_up_to_the_budget():
    c = hw.evaluate(*hw.build(*point(hw="starc_hbm_pim", algo="cluster_sparse")))
    # Mistral-7B, 32K tokens: 64 buffer tokens, 1022 clusters of 32; 32 selected (budget 1024).
    # A cluster is 32 x 128 x 2 B = 8 rows of 4 tokens; 8 KV heads x 32 clusters x 8 rows = 2048 rows
    # over 5120 banks -> one row on the busiest bank: 4 tokens x 128 x 4 (GQA) MACs = 0.192 us, just
    # over the 0.178 us row cycle: the PE sets the time.
    macs_s = 4 * 128 * 4 / (16 * 666e6)
    assert macs_s > ROW * TCK
    k = c.kernels["cs_cluster_reads"]
    assert k.seconds == pytest.approx(2 * 32 * macs_s * REFRESH, rel=1e-12)
    assert k.bound == "compute"
    dense = hw.evaluate(*hw.build(*point(hw="starc_hbm_pim", algo="fp16")))
    dense_s = dense.kernels["attn_score"].seconds + dense.kernels["attn_value"].seconds
    # 32x fewer tokens, but only 2048 of 5120 banks busy: between 10x and 32x faster.
    assert dense_s / 32 < c.kernels["cs_cluster_reads"].seconds < dense_s / 10


def test_pq_value_by_reconstruction_fetches_each_centroid_once_for_all_query_heads():
    hist = hw.evaluate(*hw.build(*point(algo="pq"))).kernels["pq_value_accumulate"]
    rec = hw.evaluate(*hw.build(*point(algo="pq", hw__pim__pq_value="reconstruct"))).kernels[
        "pq_value_accumulate"
    ]
    # Mistral-7B, 32K tokens (40 in FP16), 8 stacks = 8192 bank PEs; per PE and layer:
    # codes 8 KV heads x 32728 x 32 x 9 bit / 8192 = 1150.6 B (2 rows, 36 columns: 296 cycles);
    # 4 x 1022.75 = 4091 (query head, code) pairs; code chunks of 256 B: 5.
    codes = 2 * 27 + (36 - 2) * 6 + 2 * 19
    # histogram: 2 commands (read, write) per pair; each chunk revisits the code row and 4 histograms.
    hist_cycles = 4091 * 2 * 6 + 5 * (1 + 4) * 38
    assert hist.seconds == pytest.approx(32 * (codes + hist_cycles) * TCK * REFRESH, rel=1e-12)
    # reconstruct: one fetch per code shared by the 4 query heads, but the 512 x 4 FP16 codebook
    # spans 4 rows, so 3 of 4 fetches open another row (tRP + tRCD = 38 cycles).
    fetches = 1022.75
    rec_cycles = fetches * 6 + (fetches * 3 / 4 + 5 * 2) * 38
    assert rec.seconds == pytest.approx(32 * (codes + rec_cycles) * TCK * REFRESH, rel=1e-12)
    assert rec.bound == hist.bound == "command"


def test_pq_score_lookups_are_one_command_per_code_and_query_head():
    k = hw.evaluate(*hw.build(*point(algo="pq"))).kernels["pq_score_lookup"]
    # As above: 4091 lookups a PE in 4 one-row tables (512 x 2 B = 1 KiB), 5 chunks of codes each
    # switching to the code row and the 4 table rows; the 16-lane adds (0.38 us) hide under them.
    codes = 2 * 27 + (36 - 2) * 6 + 2 * 19
    lookups = 4091 * 6 + 5 * (1 + 4) * 38
    assert k.seconds == pytest.approx(32 * (codes + lookups) * TCK * REFRESH, rel=1e-12)
    assert k.bound == "command"


def test_pe_buffer_tables_skip_the_row_and_fall_back_when_too_big():
    row = hw.evaluate(*hw.build(*point(algo="pq")))
    buf = hw.evaluate(
        *hw.build(*point(algo="pq", hw__pim__pq_lookup="pe_buffer", hw__pim__pe__bank__buffer_bytes=16384))
    )
    small = hw.evaluate(*hw.build(*point(algo="pq", hw__pim__pq_lookup="pe_buffer")))
    assert buf.kernels["pq_score_lookup"].seconds < row.kernels["pq_score_lookup"].seconds
    assert buf.kernels["pq_score_lookup"].bound == "compute"
    # 4 tables x 512 x 2 B = 4 KiB do not fit half of 512 B: same cost as the open-row lookups.
    assert small.kernels["pq_score_lookup"].seconds == pytest.approx(row.kernels["pq_score_lookup"].seconds)


def test_area_model_trades_lanes_for_capacity():
    narrow = hw.evaluate(*hw.build(*point(hw="hbm2_pim_aquabolt", algo="fp16", hw__pim__pe__bank__lanes=8)))
    wide = hw.evaluate(*hw.build(*point(hw="hbm2_pim_aquabolt", algo="fp16")))
    gib = 1 << 30
    assert wide.pim_capacity_bytes == pytest.approx(4 * 8 * gib * (1 - 128 * 16 * 0.0898 / 736), rel=1e-12)
    assert narrow.pim_capacity_bytes > wide.pim_capacity_bytes
    assert narrow.max_context_tokens > wide.max_context_tokens
    assert narrow.kernels["attn_score"].seconds > wide.kernels["attn_score"].seconds


def test_crossbar_projections_take_input_bits_mvm_steps_per_token():
    c = hw.evaluate(*hw.build(*point(hw="pimllm_edge", model="bitnet_b158_2b", algo="uniform", algo__bits=8)))
    # One input cycle: the array read (2 ns), then 128 / 8 columns per ADC x 8 SAR steps of 125 ps.
    cycle_s = 2e-9 + 16 * 8 * 125e-12
    assert c.kernels["qkv_proj"].seconds == pytest.approx(30 * 8 * cycle_s, rel=1e-12)
    assert c.kernels["ffn"].seconds == pytest.approx(30 * 2 * 8 * cycle_s, rel=1e-12)
    assert c.kernels["ffn"].device == "xbar"
    too_small = hw.evaluate(*hw.build(*point(hw="pimllm_edge", model="bitnet_b158_2b", hw__xbar__tiles=1000)))
    assert too_small.fits is False


def test_hugging_face_config_loads_into_the_same_shapes(tmp_path):
    config = {
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "vocab_size": 32000,
    }
    path = tmp_path / "Mistral-7B" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config))
    loaded = hw.load_hf_config(path)
    assert loaded["name"] == "Mistral-7B"
    expected = point()[2]
    assert {k: v for k, v in loaded.items() if k != "name"} == {
        k: v for k, v in expected.items() if k != "name"
    }


def test_pcie_link_from_generation_and_lanes():
    cfg = point(hw="gpu_offload_pcie", algo="fp16")
    del cfg[0]["host_link"]["bw_bytes_per_s"]
    cfg[0]["host_link"] |= {"pcie_generation": 5, "lanes": 16}
    system, _, _ = hw.build(*cfg)
    assert system.host_link.bw_bytes_per_s == pytest.approx(16 * 3.938e9)
    cfg[0]["host_link"]["bw_bytes_per_s"] = 64e9
    with pytest.raises(hw.SpecError, match=r"^hw\.host_link\.bw_bytes_per_s=.*not both"):
        hw.build(*cfg)
    del cfg[0]["host_link"]["bw_bytes_per_s"]
    cfg[0]["host_link"]["pcie_generation"] = 7
    with pytest.raises(hw.SpecError, match=r"^hw\.host_link\.pcie_generation=7: must be one of 3, 4, 5, 6$"):
        hw.build(*cfg)


def test_integer_macs_skip_dequantisation_and_cost_area():
    fp_only = hw.evaluate(*hw.build(*point(hw="hbm2_pim_aquabolt", algo="uniform")))
    with_int = hw.evaluate(
        *hw.build(*point(hw="hbm2_pim_aquabolt", algo="uniform", hw__pim__pe__bank__int_mac=True))
    )
    assert with_int.kernels["attn_score"].seconds < fp_only.kernels["attn_score"].seconds
    # 128 PCUs x 16 lanes x 0.0898 mm2 x 126/50 = 463 mm2 of 736: 37 % of the capacity left.
    lost = 128 * 16 * 0.0898 * 126 / 50 / 736
    assert with_int.pim_capacity_bytes == pytest.approx(4 * 8 * (1 << 30) * (1 - lost), rel=1e-12)
