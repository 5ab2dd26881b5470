"""Kernel costs computed by hand from the preset numbers."""

import math

import numpy as np
import pytest
from hwpoints import point

import hw
from hw.presets import isolated_mapping

TCK = 0.769e-9
REFRESH = 1 / (1 - 455 / 5070)  # tRFC / tREFI of the HBM3 preset


def gemv_point(m_rows, n_cols, channels, device="pim"):
    """One FP16 GEMV of m_rows x n_cols alone: the LM head of a one-layer model, nothing else mapped."""
    mapping = isolated_mapping(lm_head=device)
    return point(
        algo="fp16",
        hw__pim__stacks=1,
        hw__pim__channels_per_stack=channels,
        hw__mapping=mapping,
        model__n_layers=1,
        model__hidden_size=n_cols,
        model__vocab_size=m_rows,
    )


def test_pim_gemv_is_row_by_row_stream_at_the_all_bank_command_interval():
    c = hw.evaluate(*hw.build(*gemv_point(4096, 4096, channels=1)))
    k = c.kernels["lm_head"]
    # 32 MiB of FP16 weights over 1 channel x 2 pCH x 32 banks = 64 banks -> 512 KiB = 512 rows a bank.
    # A row: tRCD + 32 columns nCCDAB(6) apart (the last waits no interval) + tRTP, then tRP:
    # 19 + 31 x 6 + 8 + 19 = 232 cycles.
    # First the 4096 FP16 inputs (8 KiB) are written into the buffers of each of the 2 pCHs, one
    # 32 B column per 4-tCK move: 256 x 4 = 1024 cycles.
    expected = (512 * 232 + 1024) * TCK * REFRESH
    assert k.seconds == pytest.approx(expected, rel=1e-12)
    assert k.bound == "internal_bw"
    assert k.device == "pim"
    # 16M MACs over 64 PEs at 16 lanes x 666 MHz = 24.6 us < 91.3 us: not compute bound.
    assert expected > 4096 * 4096 / 64 / (16 * 666e6)
    assert set(c.kernels) == {"lm_head"}
    assert c.latency_s == k.seconds


def test_pim_gemv_weights_split_over_channels_but_every_channel_gets_the_whole_input():
    one = hw.evaluate(*hw.build(*gemv_point(4096, 4096, channels=1))).kernels["lm_head"].seconds
    four = hw.evaluate(*hw.build(*gemv_point(4096, 4096, channels=4))).kernels["lm_head"].seconds
    assert one == pytest.approx((512 * 232 + 1024) * TCK * REFRESH, rel=1e-12)
    assert four == pytest.approx((512 // 4 * 232 + 1024) * TCK * REFRESH, rel=1e-12)


def test_pim_gemv_restreams_weights_when_the_batch_inputs_overflow_the_buffer():
    def cell_j(batch):
        cfg = gemv_point(4096, 4096, channels=1)
        cfg[3]["batch"] = batch
        return hw.evaluate(*hw.build(*cfg)).energy_by_component["cell"]

    # A 32 B column carries 16 FP16 weights; their inputs for the batch must sit in the 512 B buffer:
    # 16 x 16 x 2 B = 512 B fits (one pass), 16 x 32 x 2 B = 1 KiB takes two, 16 x 48 x 2 B three.
    one_pass = 4096 * 4096 * 2 * 8 * 0.44e-12
    assert cell_j(16) == pytest.approx(one_pass, rel=1e-12)
    assert cell_j(32) == pytest.approx(2 * one_pass, rel=1e-12)
    assert cell_j(48) == pytest.approx(3 * one_pass, rel=1e-12)


def test_gpu_gemv_is_bandwidth_bound_on_its_weight_bytes():
    c = hw.evaluate(*hw.build(*gemv_point(32000, 4096, channels=1, device="gpu")))
    k = c.kernels["lm_head"]
    weight_bytes = 32000 * 4096 * 2
    assert k.seconds == pytest.approx(weight_bytes / (3.35e12 * 0.8), rel=1e-12)
    assert k.bound == "memory_bw"
    assert k.energy_j == pytest.approx(weight_bytes * 8 * 3.59e-12 + 2 * 32000 * 4096 * 0.5e-12, rel=1e-12)


def test_offload_reads_the_whole_kv_over_pcie_each_step():
    c = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", algo="fp16")))
    k = c.kernels["kv_host_transfer"]
    assert c.kv_bytes == 4 * (1 << 30)  # Mistral-7B at 32K
    assert k.seconds == pytest.approx(c.kv_bytes / 64e9 + 32 * 1e-6, rel=1e-12)
    assert k.bound == "link"
    share = k.seconds / c.latency_s
    assert 0.90 <= share <= 0.985  # AQPIM: host traffic is 90-98.5 % of decode latency


def test_gqa_queries_fit_a_split_head_and_overflow_a_whole_one():
    # Mistral-7B at 32K on 8 stacks: K per layer = 8 heads x 32768 x 128 x 2 B = 64 MiB over 8192 banks
    # = 8 rows a bank. The head dim is split over 4 banks, so a bank keeps 4 queries x 32 dims x 2 B
    # = 256 B in its 512 B buffer: one pass, and the PE's 4 x 4096 MACs (1.54 us) outlast the rows.
    c = hw.evaluate(*hw.build(*point(algo="fp16")))
    k = c.kernels["attn_score"]
    stream_s = 8 * 232 * TCK
    compute_s = 4 * 4096 / 16 / 666e6
    assert compute_s > stream_s
    assert k.seconds == pytest.approx(32 * compute_s * REFRESH, rel=1e-12)
    assert k.bound == "compute"
    # Whole heads in a bank: 4 x 256 B overflow the buffer, K streams twice (2.85 us > 1.54 us).
    whole = hw.evaluate(*hw.build(*point(algo="fp16", hw__pim__pe__bank__head_split=1)))
    k = whole.kernels["attn_score"]
    assert k.seconds == pytest.approx(32 * 2 * stream_s * REFRESH, rel=1e-12)
    assert k.bound == "internal_bw"


def test_pq_lookups_cost_one_command_each_in_the_open_row():
    c = hw.evaluate(*hw.build(*point(algo="pq")))
    wide = hw.evaluate(*hw.build(*point(algo="pq", hw__pim__pe__bank__lookups_per_cmd=16)))
    act = hw.evaluate(*hw.build(*point(algo="pq", hw__pim__pq_lookup="per_lookup_activation")))
    lookups = c.kernels["pq_score_lookup"].seconds
    assert c.kernels["pq_score_lookup"].bound == "command"
    assert wide.kernels["pq_score_lookup"].seconds < lookups
    assert act.kernels["pq_score_lookup"].seconds > 5 * lookups
    assert act.kernels["pq_score_lookup"].bound == "activation"


def test_pq_table_of_512_centroids_fills_exactly_one_row():
    # K = 512 FP16 inner products = 1 KiB = one HBM3 row: no row misses inside the table.
    base = hw.evaluate(*hw.build(*point(algo="pq"))).kernels["pq_score_lookup"].seconds
    two_rows = (
        hw.evaluate(*hw.build(*point(algo="pq", algo__n_centroids=1024))).kernels["pq_score_lookup"].seconds
    )
    assert two_rows > 1.5 * base


def test_link_carries_q_kv_in_and_outputs_back_each_layer():
    c = hw.evaluate(*hw.build(*point(algo="fp16")))
    per_layer = (2 * 32 + 2 * 8) * 128 * 2
    assert c.kernels["link_gpu_pim"].seconds == pytest.approx(32 * (per_layer / 900e9 + 2 * 1e-6), rel=1e-12)


def test_latency_is_the_serial_sum_without_overlap_and_the_busiest_device_with_it():
    serial = hw.evaluate(*hw.build(*point(algo="fp16")))
    assert serial.latency_s == pytest.approx(math.fsum(k.seconds for k in serial.kernels.values()), rel=1e-12)
    overlap = hw.evaluate(*hw.build(*point(algo="fp16", hw__mapping__overlap=True)))
    gpu = math.fsum(k.seconds for k in overlap.kernels.values() if k.device == "gpu")
    assert overlap.latency_s == pytest.approx(gpu, rel=1e-12)


def test_offload_moves_the_compressed_footprint_and_cluster_sparse_only_what_it_reads():
    fp16 = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", algo="fp16")))
    pq = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", algo="pq")))
    cs = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", algo="cluster_sparse")))
    assert pq.kernels["kv_host_transfer"].seconds == pytest.approx(pq.kv_bytes / 64e9 + 32e-6, rel=1e-12)
    # Cluster-sparse reads 32 clusters of 32 + 4 sinks + 64 buffer tokens of 32768, plus the key centroids.
    read = 2 * 32 * 8 * (32 * 32 + 4 + 64) * 128 * 2 + cs.kv_bytes_split["codebooks"]
    assert cs.kernels["kv_host_transfer"].seconds == pytest.approx(read / 64e9 + 32e-6, rel=1e-12)
    assert cs.latency_s < pq.latency_s < fp16.latency_s


@pytest.mark.parametrize("algo", ["fp16", "uniform", "pq", "cluster_sparse"])
def test_nothing_spills_when_the_kv_fits(algo):
    c = hw.evaluate(*hw.build(*point(algo=algo)))
    assert c.fits
    assert c.spill_bytes == 0
    for name in ("attention_spill_gpu", "kv_spill_transfer"):
        assert (c.kernels[name].seconds, c.kernels[name].energy_j, c.kernels[name].bound) == (
            0.0,
            0.0,
            "none",
        )


def test_prefill_kmeans_is_hidden_under_the_gpu_prefill_unless_the_system_forbids_it():
    hidden = hw.evaluate(*hw.build(*point(algo="pq"))).kernels["pq_prefill_kmeans"]
    exposed = hw.evaluate(*hw.build(*point(algo="pq", hw__mapping__prefill_overlap=False))).kernels[
        "pq_prefill_kmeans"
    ]
    assert (hidden.seconds, hidden.bound) == (0.0, "hidden")
    assert exposed.seconds > 0
    assert exposed.bound == "compute"
    # Same work either way: the energy is amortised over the 1024 decode steps regardless.
    assert exposed.energy_j == pytest.approx(hidden.energy_j, rel=1e-12)


def test_bitnet_lm_head_reads_16_bit_weights_beside_ternary_projections():
    c = hw.evaluate(*hw.build(*point(algo="fp16", model="bitnet_b158_2b")))
    bw = 3.35e12 * 0.8  # H100 HBM at the preset's achievable fraction; both are bandwidth bound
    lm_head_bytes = 2560 * 128256 * 2  # BF16
    qkv_bytes = 30 * 2560 * (20 + 2 * 5) * 128 * 1.58 / 8  # ternary, log2(3) bits a weight
    assert c.kernels["lm_head"].seconds == pytest.approx(lm_head_bytes / bw, rel=1e-12)
    assert c.kernels["qkv_proj"].seconds == pytest.approx(qkv_bytes / bw, rel=1e-12)


def test_aqpim_beats_attacc_only_past_attaccs_capacity_wall():
    # validation.md section 6: Mistral-7B at 32K tokens on 8 stacks (128 GiB), FP16 KV 4 GiB a sequence.
    def both(batch):
        a = hw.evaluate(
            *hw.build(*point(hw="attacc_hbm3_bank", algo="fp16", hw__pim__stacks=8, workload__batch=batch))
        )
        q = hw.evaluate(*hw.build(*point(algo="pq", workload__batch=batch)))
        return a, q

    a, q = both(32)  # 128 GiB: fits exactly, and PQ's lookups make it the slower one
    assert a.fits and a.spill_bytes == 0 and q.fits
    assert q.latency_s > a.latency_s
    a, q = both(44)  # 176 GiB: 48 GiB read over PCIe5 every step (one transfer a layer)
    assert a.spill_bytes == 48 * (1 << 30)
    assert a.kernels["kv_spill_transfer"].seconds == pytest.approx(48 * (1 << 30) / 128e9 + 32e-6, rel=1e-12)
    assert q.fits and q.spill_bytes == 0
    assert q.latency_s < a.latency_s


def test_windowed_codebooks_need_a_table_per_window_a_bank_holds():
    def table_s(refresh, ctx):
        cfg = point(algo="pq", algo__refresh=refresh, workload__context_tokens=ctx)
        return hw.evaluate(*hw.build(*cfg)).kernels["pq_ip_table"].seconds

    # 8 stacks: a slice's tokens over 32 banks. At 32K a bank holds 1024 tokens, one window of 1024:
    # one table per query head as with a static codebook; at 128K it holds 4 windows: 4 tables.
    assert table_s("windowed", 32768) == pytest.approx(table_s("static", 32768), rel=1e-12)
    assert table_s("windowed", 131072) == pytest.approx(4 * table_s("static", 131072), rel=1e-12)


BUS_BYTES_PER_S = 8 * 16 * 2 * 32 / (4 * TCK)  # 256 pseudo-channels, a 32 B column per 4-tCK move
REPLICATED = 1 << 20  # pq_codebook_copies above any bank count: every bank keeps its own copy


def pq_cost(**kw):
    return hw.evaluate(*hw.build(*point(algo="pq", **({"workload__context_tokens": 32768} | kw))))


@pytest.mark.parametrize(
    ("copies", "pq_value", "sets_moved"),
    [(1, "histogram", 32), (4, "histogram", 32), (20, "histogram", 24), (1, "reconstruct", 32)],
)
def test_pq_shared_codebook_tables_cross_the_bus_by_hand(copies, pq_value, sets_moved):
    # Mistral-7B, batch 1, 8 stacks: a subspace's tokens over 32 banks, `copies` of which keep its
    # codebooks. Each copy builds its table set (4 query heads x 512 x 2 B = 4 KiB) and sends it up
    # once; each of the 32 - copies other banks receives one: 1 + 31, 4 + 28, or 12 + 12 with 20
    # copies (20 senders for 12 receivers). V the other way: each 4 KiB set of histograms up, sums
    # down (reconstruct: the 512 x 4 x 2 B = 4 KiB V codebook down instead). 8 KV heads x 32 subspaces.
    c = pq_cost(hw__pim__pq_codebook_copies=copies, hw__pim__pq_value=pq_value)
    moved_per_layer = 8 * 32 * sets_moved * (4 * 1024 + 4 * 1024)
    k = c.kernels["pq_table_movement"]
    assert k.seconds == pytest.approx(32 * moved_per_layer / BUS_BYTES_PER_S * REFRESH, rel=1e-12)
    assert k.energy_j == pytest.approx(32 * moved_per_layer * 8 * (1.01 + 1.23 + 0.5) * 1e-12, rel=1e-12)
    assert k.bound == "internal_bw"


def test_pq_replicated_codebooks_move_no_tables():
    for kw in ({"hw__pim__pq_codebook_copies": REPLICATED}, {"workload__batch": 32}):
        k = pq_cost(**kw).kernels["pq_table_movement"]
        assert (k.seconds, k.energy_j, k.bound) == (0.0, 0.0, "none")


def test_pq_shared_codebooks_cost_table_movement_only():
    # Where both fit, sharing adds the table movement and takes no time off any other kernel.
    ctx = np.array([1024, 8192, 32768, 131072])[:, None]
    batch = np.array([1, 2, 5, 16, 32])[None, :]
    shared = pq_cost(workload__context_tokens=ctx, workload__batch=batch, hw__pim__pq_codebook_copies=1)
    replicated = pq_cost(
        workload__context_tokens=ctx, workload__batch=batch, hw__pim__pq_codebook_copies=REPLICATED
    )
    assert np.all(shared.fits & replicated.fits)
    assert np.all(shared.latency_s >= replicated.latency_s)
    extra = shared.kernels["pq_table_movement"].seconds
    assert np.allclose(shared.latency_s - replicated.latency_s, extra, rtol=1e-9, atol=0)
    for name in ("pq_ip_table", "pq_value_accumulate", "pq_score_lookup"):
        assert np.array_equal(shared.kernels[name].seconds, replicated.kernels[name].seconds)
    # Only the banks with a copy build tables and multiply histograms by the codebook.
    assert np.all(shared.kernels["pq_ip_table"].energy_j <= replicated.kernels["pq_ip_table"].energy_j)
    assert np.all(
        shared.kernels["pq_value_accumulate"].energy_j <= replicated.kernels["pq_value_accumulate"].energy_j
    )
