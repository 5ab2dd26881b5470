"""Per-kernel FLOPs and bytes (KernelCost.flops, .bytes) and the device roofs (Cost.devices): closed
forms from the preset numbers, and every kernel on or under its device's roof."""

import numpy as np
import pytest
from hwpoints import CONF, point

import hw
from hw.roofline import BOUND, KernelCost

TCK = 0.769e-9
REFRESH = 1 / (1 - 455 / 5070)  # tRFC / tREFI of the HBM3 presets
LAYERS, Q_HEADS, KV_HEADS, HEAD_DIM, HIDDEN = 32, 32, 8, 128, 4096  # Mistral-7B
PRESETS = sorted(p.stem for p in (CONF / "hw").glob("*.yaml"))


def cost(hw_name="aqpim_hbm3", algo="pq", **overrides):
    model = "bitnet_b158_2b" if hw_name.startswith("pimllm") else "mistral_7b"
    return hw.evaluate(*hw.build(*point(hw_name, algo, model, **overrides)))


@pytest.mark.parametrize("hw_name", PRESETS)
def test_every_kernel_attains_at_most_its_device_roof(hw_name):
    """flops / seconds <= peak and bytes / seconds <= bandwidth for every kernel that computes, in
    every format, with the KV in PIM and spilled (1M tokens); hidden kernels report no work."""
    for algo in ("fp16", "uniform", "pq", "cluster_sparse"):
        for context in (4096, 1 << 20):
            c = cost(hw_name, algo, workload__context_tokens=context)
            assert set(c.devices) == {k.device for k in c.kernels.values()}
            for name, k in c.kernels.items():
                roof = c.devices[k.device]
                if k.seconds == 0:
                    assert (k.flops, k.bytes) == (0.0, 0.0), name
                elif k.flops > 0:
                    assert k.flops / k.seconds <= roof.peak_flops * (1 + 1e-12), (algo, context, name)
                    assert k.bytes / k.seconds <= roof.bw_bytes_per_s * (1 + 1e-12), (algo, context, name)


def test_gpu_projection_reads_each_fp16_weight_once_for_one_mac():
    c = cost()
    qkv_params = LAYERS * HIDDEN * (Q_HEADS + 2 * KV_HEADS) * HEAD_DIM
    k = c.kernels["qkv_proj"]
    assert k.flops == 2 * qkv_params  # batch 1: one MAC a weight
    assert k.bytes == 2 * qkv_params  # FP16 weights
    assert k.flops / k.seconds == pytest.approx(k.flops / k.bytes * 3.35e12 * 0.8, rel=1e-12)  # memory-bound


def test_pim_fp16_attention_reads_each_kv_head_once_for_its_four_query_heads():
    ctx = 32768
    c = cost("attacc_hbm3_bank", "fp16", workload__context_tokens=ctx)
    score = c.kernels["attn_score"]
    assert score.flops == 2 * LAYERS * Q_HEADS * ctx * HEAD_DIM
    # 4 query heads x 128 FP16 / head_split 4 = 256 B fit the 512 B buffer: one pass over K.
    assert score.bytes == LAYERS * KV_HEADS * ctx * HEAD_DIM * 2
    assert c.kernels["attn_value"].bytes == score.bytes


def test_transfers_count_link_bytes_and_no_flops():
    c = cost()
    link = c.kernels["link_gpu_pim"]
    # q (32 heads) and output (32) out and back, new k and v (8 + 8), FP16, every layer.
    assert link.bytes == LAYERS * (2 * Q_HEADS + 2 * KV_HEADS) * HEAD_DIM * 2
    assert link.flops == 0.0
    assert link.bytes / link.seconds < 900e9


def test_softmax_under_the_broadcast_counts_only_its_exposed_share():
    """AttAcc!'s softmax streams into the probability broadcast: its FLOPs over its shown seconds
    are the buffer-die PEs' own rate (256 pCHs x 16 lanes x 666 MHz, refresh included)."""
    c = cost("attacc_hbm3_bank", "fp16", workload__context_tokens=32768)
    k = c.kernels["attn_softmax"]
    scores = LAYERS * Q_HEADS * 32768
    assert 0 < k.flops < scores
    pchs = 5 * 16 * 2
    assert k.flops / k.seconds == pytest.approx(pchs * 16 * 666e6 / REFRESH, rel=1e-9)


def test_prefill_kmeans_reports_work_only_where_it_shows():
    hidden = cost().kernels["pq_prefill_kmeans"]
    assert hidden.bound == "hidden"
    assert (hidden.seconds, hidden.flops, hidden.bytes) == (0.0, 0.0, 0.0)
    shown = cost(hw__mapping__prefill_overlap=False).kernels["pq_prefill_kmeans"]
    # PQ defaults: K = 512 centroids of s = 4 dims, 32 subspaces; K and V of 8 KV heads, 32 layers;
    # per subvector and iteration K (2 s + 1) + s FLOPs; over decode_steps = 1024 steps.
    algo = point()[1]
    iters, ctx = algo["kmeans_iters"], 32768
    subvectors = iters * 2 * KV_HEADS * LAYERS * ctx * (HEAD_DIM / 4)
    assert shown.flops == pytest.approx(subvectors * (512 * 9 + 4) / 1024, rel=1e-12)
    assert shown.bytes == pytest.approx(iters * 2 * KV_HEADS * LAYERS * ctx * HEAD_DIM * 2 / 1024, rel=1e-12)


def test_spread_over_divides_time_energy_and_work():
    k = KernelCost.of(8.0, {"cell": 4.0, "pe_ops": 2.0}, BOUND["compute"], "pim", flops=16.0, bytes=32.0)
    per_step = k.spread_over(4.0)
    assert (per_step.seconds, per_step.energy_j, per_step.flops, per_step.bytes) == (2.0, 1.5, 4.0, 8.0)
    assert per_step.energy_parts == {"cell": 1.0, "pe_ops": 0.5}


def test_to_dict_reports_each_devices_roof_from_the_preset():
    d = cost().to_dict()
    assert d["devices"]["gpu"] == {"peak_flops": 989e12, "bw_bytes_per_s": 3.35e12}
    banks = 8 * 16 * 2 * 2 * 4 * 4
    bank_pes, buffer_pes = banks, banks / 32
    pim = d["devices"]["pim"]
    assert pim["peak_flops"] == pytest.approx(2 * (bank_pes + buffer_pes) * 16 * 666e6, rel=1e-12)
    # The bank PEs' reads: a 32 B column per bank every nCCDAB = 6 tCK.
    assert pim["bw_bytes_per_s"] == pytest.approx(banks * 32 / (6 * TCK), rel=1e-12)
    assert d["devices"]["link"]["bw_bytes_per_s"] == 900e9
    assert d["kernels"]["pq_score_lookup"]["flops"] > 0 and d["kernels"]["pq_score_lookup"]["bytes"] > 0


def test_grid_work_matches_each_point_costed_alone():
    stacks = np.array([2.0, 4.0, 8.0])
    grid = cost(hw__pim__stacks=stacks)
    for i, s in enumerate(stacks):
        alone = cost(hw__pim__stacks=float(s))
        for name, k in alone.kernels.items():
            assert grid.kernels[name].flops[i] == k.flops, name
            assert grid.kernels[name].bytes[i] == k.bytes, name
        assert grid.devices["pim"].peak_flops[i] == alone.devices["pim"].peak_flops
