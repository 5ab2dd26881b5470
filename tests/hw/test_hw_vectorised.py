"""Grids of design points broadcast; results equal the scalar evaluations; monotone invariants."""

import numpy as np
import pytest
from hwpoints import point

import hw

ALGOS = ["fp16", "uniform", "pq", "cluster_sparse"]


def _scalar(algo, stacks, lanes, ctx):
    return hw.evaluate(
        *hw.build(
            *point(
                algo=algo,
                hw__pim__stacks=stacks,
                hw__pim__pe__bank__lanes=lanes,
                workload__context_tokens=ctx,
            )
        )
    )


@pytest.mark.parametrize("algo", ALGOS)
def test_grid_equals_scalar_points(algo):
    stacks = np.array([1, 2, 8])[:, None, None]
    lanes = np.array([8, 16])[None, :, None]
    ctx = np.array([2048, 32768, 131072])[None, None, :]
    grid = hw.evaluate(
        *hw.build(
            *point(
                algo=algo,
                hw__pim__stacks=stacks,
                hw__pim__pe__bank__lanes=lanes,
                workload__context_tokens=ctx,
            )
        )
    )
    assert np.shape(grid.latency_s) == (3, 2, 3)
    for i, j, k in [(0, 0, 0), (1, 1, 1), (2, 0, 2), (0, 1, 2)]:
        one = _scalar(algo, int(stacks[i, 0, 0]), int(lanes[0, j, 0]), int(ctx[0, 0, k]))
        assert grid.latency_s[i, j, k] == pytest.approx(one.latency_s, rel=1e-12)
        assert grid.energy_j[i, j, k] == pytest.approx(one.energy_j, rel=1e-12)
        assert grid.kv_bytes[i, j, k] == one.kv_bytes
        assert bool(grid.fits[i, j, k]) == one.fits
        assert grid.max_context_tokens[i, j, k] == one.max_context_tokens
        for name, kernel in one.kernels.items():
            g = grid.kernels[name]
            assert np.broadcast_to(g.seconds, (3, 2, 3))[i, j, k] == pytest.approx(kernel.seconds, rel=1e-12)
            assert str(np.broadcast_to(g.bound, (3, 2, 3))[i, j, k]) == kernel.bound


@pytest.mark.parametrize("algo", ALGOS)
def test_latency_non_increasing_in_link_and_gpu_bandwidth(algo):
    bw = np.array([100e9, 300e9, 900e9, 2e12])
    gpu_bw = np.array([1e12, 2e12, 3.35e12])[:, None]
    c = hw.evaluate(
        *hw.build(*point(algo=algo, hw__pim__link__bw_bytes_per_s=bw, hw__gpu__mem_bw_bytes_per_s=gpu_bw))
    )
    assert np.all(np.diff(c.latency_s, axis=1) <= 0)
    assert np.all(np.diff(c.latency_s, axis=0) <= 0)


def test_latency_non_increasing_in_host_link_bandwidth_for_offload():
    bw = np.array([16e9, 32e9, 64e9, 128e9])
    c = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", algo="fp16", hw__host_link__bw_bytes_per_s=bw)))
    assert np.all(np.diff(c.latency_s) < 0)


def test_attention_latency_non_increasing_in_internal_bandwidth():
    # A shorter all-bank command interval is more internal bandwidth.
    interval = np.array([12, 8, 6, 4, 2])
    c = hw.evaluate(
        *hw.build(*point(algo="fp16", model="llama2_7b", hw__pim__pe__bank__cmd_interval_cycles=interval))
    )
    assert np.all(np.diff(c.kernels["attn_score"].seconds) <= 0)
    assert np.all(np.diff(c.latency_s) <= 0)


def test_to_dict_is_json_ready_for_a_scalar_point():
    import json

    d = hw.evaluate(*hw.build(*point())).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert set(d) >= {"latency_s", "energy_j", "kv_bytes", "kv_bytes_split", "fits", "max_context_tokens"}
    assert d["breakdown"] == {k: v["seconds"] for k, v in d["kernels"].items()}
    assert d["latency_s"] == pytest.approx(sum(d["breakdown"].values()))
    assert "pq_score_lookup" in text


@pytest.mark.parametrize(
    "preset",
    [
        "aqpim_hbm3",
        "attacc_hbm3_bank",
        "attacc_hbm3_bankgroup",
        "attacc_hbm3_bufferdie",
        "gpu_offload_pcie",
        "hbm2_pim_aquabolt",
        "gddr6_aim",
        "upmem_dimm",
        "starc_hbm_pim",
        "pimllm_edge",
    ],
)
@pytest.mark.parametrize("algo", ALGOS)
def test_latency_and_footprint_never_fall_as_the_context_grows(preset, algo):
    ctx = np.arange(1, 70000, 37)
    c = hw.evaluate(*hw.build(*point(hw=preset, algo=algo, workload__context_tokens=ctx)))
    assert np.all(np.diff(c.latency_s) >= 0)
    assert np.all(np.diff(c.kv_bytes) >= 0)
    assert c.latency_s[-1] > c.latency_s[0]


@pytest.mark.parametrize("refresh", ["static", "windowed"])
def test_pq_codebook_copies_sweep_as_a_grid_axis(refresh):
    copies = np.array([1, 2, 8, 32, 1024])[:, None]
    batch = np.array([1, 3, 16])[None, :]
    kw = dict(algo="pq", algo__refresh=refresh, workload__context_tokens=16384)
    grid = hw.evaluate(*hw.build(*point(hw__pim__pq_codebook_copies=copies, workload__batch=batch, **kw)))
    assert np.shape(grid.kv_bytes) == (5, 3)
    for i, j in [(0, 0), (1, 1), (3, 0), (4, 2), (2, 1)]:
        one = hw.evaluate(
            *hw.build(
                *point(hw__pim__pq_codebook_copies=int(copies[i, 0]), workload__batch=int(batch[0, j]), **kw)
            )
        )
        assert grid.kv_bytes[i, j] == one.kv_bytes
        assert grid.latency_s[i, j] == pytest.approx(one.latency_s, rel=1e-12)
        assert grid.energy_j[i, j] == pytest.approx(one.energy_j, rel=1e-12)
        assert grid.max_context_tokens[i, j] == one.max_context_tokens
        assert str(grid.kernels["pq_table_movement"].bound[i, j]) == one.kernels["pq_table_movement"].bound
    # More copies: never less footprint, never more table movement.
    assert np.all(np.diff(grid.kv_bytes, axis=0) >= 0)
    assert np.all(np.diff(grid.kernels["pq_table_movement"].seconds, axis=0) <= 0)
