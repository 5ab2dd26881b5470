"""Invariants over random design points (hypothesis)."""

import json

import numpy as np
import pytest
from hwpoints import point
from hypothesis import given, settings
from hypothesis import strategies as st

import hw

FORMATS = st.sampled_from(["fp16", "uniform", "pq", "cluster_sparse"])
PIM_PRESETS = st.sampled_from(
    ["aqpim_hbm3", "attacc_hbm3_bank", "attacc_hbm3_bankgroup", "hbm2_pim_aquabolt"]
)
FAST = settings(max_examples=25, deadline=None)


def cost(**kw):
    return hw.evaluate(*hw.build(*point(**kw)))


@FAST
@given(
    preset=PIM_PRESETS,
    algo=FORMATS,
    stacks=st.integers(1, 16),
    ctx=st.integers(1, 1 << 18),
    batch=st.integers(1, 16),
    factor=st.floats(1.0, 100.0),
)
def test_more_bandwidth_never_costs_time(preset, algo, stacks, ctx, batch, factor):
    base = {"hw": preset, "algo": algo, "hw__pim__stacks": stacks, "workload__context_tokens": ctx}
    base["workload__batch"] = batch
    slow = cost(**base)
    cfg = point(**base)
    cfg[0]["pim"]["link"]["bw_bytes_per_s"] *= factor
    cfg[0]["host_link"]["bw_bytes_per_s"] *= factor
    cfg[0]["gpu"]["mem_bw_bytes_per_s"] *= factor
    fast = hw.evaluate(*hw.build(*cfg))
    assert fast.latency_s <= slow.latency_s * (1 + 1e-12)


@FAST
@given(algo=st.sampled_from(["fp16", "pq"]), start=st.integers(64, 1 << 16), step=st.integers(1, 1 << 14))
def test_footprint_is_affine_in_context_above_the_knee(algo, start, step):
    tokens = np.array([start, start + step, start + 2 * step])
    kv = cost(algo=algo, workload__context_tokens=tokens).kv_bytes
    assert kv[2] - kv[1] == pytest.approx(kv[1] - kv[0], rel=1e-12)


@FAST
@given(algo=FORMATS, ctx=st.integers(1, 1 << 18), batch=st.integers(1, 64))
def test_footprint_is_proportional_to_batch(algo, ctx, batch):
    # Attention on the GPU: no PIM layout, so no codebook replicas (tested in test_hw_footprint).
    one = cost(hw="gpu_offload_pcie", algo=algo, workload__context_tokens=ctx)
    many = cost(hw="gpu_offload_pcie", algo=algo, workload__context_tokens=ctx, workload__batch=batch)
    assert many.kv_bytes == pytest.approx(batch * one.kv_bytes, rel=1e-12)


@FAST
@given(
    algo=FORMATS,
    stacks=st.lists(st.integers(1, 16), min_size=4, max_size=4),
    ctx=st.lists(st.integers(1, 1 << 18), min_size=4, max_size=4),
    lanes=st.lists(st.integers(1, 64), min_size=4, max_size=4),
)
def test_scattered_points_in_one_call_equal_one_call_each(algo, stacks, ctx, lanes):
    grid = cost(
        algo=algo,
        hw__pim__stacks=np.array(stacks),
        workload__context_tokens=np.array(ctx),
        hw__pim__pe__bank__lanes=np.array(lanes),
    )
    for i in range(4):
        one = cost(
            algo=algo,
            hw__pim__stacks=stacks[i],
            workload__context_tokens=ctx[i],
            hw__pim__pe__bank__lanes=lanes[i],
        )
        assert grid.latency_s[i] == pytest.approx(one.latency_s, rel=1e-12)
        assert grid.energy_j[i] == pytest.approx(one.energy_j, rel=1e-12)
        assert grid.max_context_tokens[i] == one.max_context_tokens
        assert bool(grid.fits[i]) == one.fits
        assert {k: str(v.bound[i]) for k, v in grid.kernels.items()} == {
            k: v.bound for k, v in one.kernels.items()
        }


@FAST
@given(algo=FORMATS, stacks=st.integers(1, 8), batch=st.integers(1, 64))
def test_max_context_always_fits(algo, stacks, batch):
    top = cost(algo=algo, hw__pim__stacks=stacks, workload__batch=batch).max_context_tokens
    assert cost(
        algo=algo, hw__pim__stacks=stacks, workload__batch=batch, workload__context_tokens=max(top, 1)
    ).fits


ALL_PRESETS = st.sampled_from(
    [
        "aqpim_hbm3",
        "attacc_hbm3_bank",
        "attacc_hbm3_bankgroup",
        "attacc_hbm3_bufferdie",
        "starc_hbm_pim",
        "gpu_offload_pcie",
        "hbm2_pim_aquabolt",
        "gddr6_aim",
        "upmem_dimm",
        "pimllm_edge",
    ]
)


@settings(max_examples=80, deadline=None)
@given(preset=ALL_PRESETS, algo=FORMATS, ctx=st.integers(1, 300), batch=st.integers(1, 3))
def test_tiny_contexts_give_finite_non_negative_costs(preset, algo, ctx, batch):
    """Contexts shorter than the sinks, window, buffer or a cluster must not divide by zero."""
    c = cost(hw=preset, algo=algo, workload__context_tokens=ctx, workload__batch=batch)
    d = c.to_dict()
    assert json.dumps(d, allow_nan=False)
    assert d["latency_s"] > 0
    assert all(k["seconds"] >= 0 and k["energy_j"] >= 0 for k in d["kernels"].values())
