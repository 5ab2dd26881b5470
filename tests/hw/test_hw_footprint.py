"""KV footprints computed by hand."""

import numpy as np
import pytest
from hwpoints import point

import hw

GIB = 1 << 30


def cost(**kw):
    return hw.evaluate(*hw.build(*point(**kw)))


def test_llama2_7b_fp16_kv_at_32k_is_16_gib():
    c = cost(algo="fp16", model="llama2_7b", workload__context_tokens=32768)
    # 2 (K,V) x 32 layers x 32 heads x 128 dims x 32768 tokens x 2 bytes
    assert c.kv_bytes == 16 * GIB
    assert c.kv_bytes_split == {"codes": 0.0, "codebooks": 0.0, "full_precision": 16 * GIB}


@pytest.mark.parametrize(
    ("model", "per_token_bytes"),
    [
        ("llama2_7b", 512 * 1024),
        ("mistral_7b", 128 * 1024),
        ("llama32_3b", 112 * 1024),
        ("smollm2_135m", 22.5 * 1024),
    ],
)
def test_fp16_bytes_per_token_match_domain_table(model, per_token_bytes):
    c = cost(algo="fp16", model=model, workload__context_tokens=1)
    assert c.kv_bytes == per_token_bytes


def test_pq_footprint_with_codebooks_by_hand():
    # Mistral-7B, L = 32768, d = 128, s = 4 -> m = 32, K = 512 -> 9-bit codes, 8 sinks + 32 recent in FP16.
    # Attention on the GPU (offload preset): one codebook per slice.
    c = cost(hw="gpu_offload_pcie", algo="pq", model="mistral_7b", workload__context_tokens=32768)
    slices = 2 * 32 * 8  # K/V x layers x kv heads, batch 1
    codes = slices * (32768 - 40) * 32 * 9 / 8  # 36 bytes a vector
    codebooks = slices * 512 * 128 * 2  # 128 KiB a slice
    fp = slices * 40 * 128 * 2
    assert c.kv_bytes_split == {"codes": codes, "codebooks": codebooks, "full_precision": fp}
    assert c.kv_bytes == codes + codebooks + fp
    assert codebooks == 64 * (1 << 20)  # 64 MiB of codebooks for 512 slices


REPLICATED = 1 << 20  # pq_codebook_copies above any bank count: every bank keeps its own copy
SLICE_CODEBOOKS = 64 * (1 << 20)  # Mistral-7B: 2 x 32 layers x 8 KV heads x 128 KiB, one sequence


@pytest.mark.parametrize(("copies", "stored"), [(1, 1), (4, 4), (32, 32), (REPLICATED, 32)])
def test_pq_codebook_copies_among_the_banks_holding_a_subspace(copies, stored):
    # On 8 stacks (8192 bank PEs) one sequence's 8 KV heads x 32 subspaces = 256 slices are split
    # over 32 banks each; `copies` of them (at most 32) keep each subspace's codebooks. Shared (1):
    # 64 MiB, as AQPIM counts; replicated (every bank): 32 copies, 2 GiB.
    c = cost(workload__context_tokens=32768, hw__pim__pq_codebook_copies=copies)
    assert c.kv_bytes_split["codebooks"] == stored * SLICE_CODEBOOKS
    assert c.kv_bytes_split["codes"] == 2 * 32 * 8 * (32768 - 40) * 32 * 9 / 8


@pytest.mark.parametrize(("batch", "banks"), [(16, 2), (32, 1), (64, 1)])
def test_pq_codebook_copies_vanish_once_slices_outnumber_banks(batch, banks):
    # From batch 32 on, every PE already has a slice of its own: one copy whatever the placement.
    for copies, stored in ((1, 1), (REPLICATED, banks)):
        c = cost(workload__context_tokens=32768, workload__batch=batch, hw__pim__pq_codebook_copies=copies)
        assert c.kv_bytes_split["codebooks"] == batch * stored * SLICE_CODEBOOKS


def test_pq_shared_footprint_is_at_most_replicated_everywhere():
    ctx = np.array([64, 1000, 4096, 32768, 131072])[:, None, None]
    batch = np.array([1, 3, 16, 40])[None, :, None]
    refresh_window = np.array([512, 1024, 4096])[None, None, :]
    for refresh in ("static", "windowed"):
        kw = dict(workload__context_tokens=ctx, workload__batch=batch, algo__refresh=refresh)
        kw["algo__refresh_window_tokens"] = refresh_window
        shared = cost(hw__pim__pq_codebook_copies=1, **kw)
        replicated = cost(hw__pim__pq_codebook_copies=REPLICATED, **kw)
        assert np.all(shared.kv_bytes <= replicated.kv_bytes)
        assert np.all(shared.max_context_tokens >= replicated.max_context_tokens)


def test_pq_windowed_refresh_keeps_a_codebook_per_window():
    slice_codebook = 512 * 128 * 2
    slices = 2 * 32 * 8

    def codebooks(hw_name, ctx, refresh, copies=1):
        c = cost(
            hw=hw_name,
            workload__context_tokens=ctx,
            algo__refresh=refresh,
            algo__refresh_window_tokens=1024,
            **({"hw__pim__pq_codebook_copies": copies} if hw_name == "aqpim_hbm3" else {}),
        )
        return c.kv_bytes_split["codebooks"] / (slices * slice_codebook)

    # Attention on the GPU: a codebook per window of 1024 tokens.
    assert codebooks("gpu_offload_pcie", 4096, "static") == 1
    assert codebooks("gpu_offload_pcie", 4096, "windowed") == 4
    # On PIM a slice's tokens are split over 32 banks: at 4K tokens each window spans 8 banks. Shared:
    # one copy a window (4); two copies: 8; replicated: each bank keeps its window's codebook (32, as
    # many as with a static codebook). At 64K each bank holds two whole windows: 64 whatever the copies.
    assert codebooks("aqpim_hbm3", 4096, "windowed") == 4
    assert codebooks("aqpim_hbm3", 4096, "windowed", copies=2) == 8
    assert codebooks("aqpim_hbm3", 4096, "windowed", REPLICATED) == codebooks(
        "aqpim_hbm3", 4096, "static", 32
    )
    assert codebooks("aqpim_hbm3", 4096, "windowed", REPLICATED) == 32
    assert codebooks("aqpim_hbm3", 65536, "windowed") == codebooks(
        "aqpim_hbm3", 65536, "windowed", REPLICATED
    )
    assert codebooks("aqpim_hbm3", 65536, "windowed") == 64


def test_uniform_int4_footprint_by_hand():
    # KIVI int4, group 32, 32 recent tokens FP16, FP16 scale + zero per group.
    c = cost(algo="uniform", model="llama2_7b", workload__context_tokens=1056)
    slices = 2 * 32 * 32
    q = 1056 - 32
    codes = slices * q * 128 * 4 / 8
    key_groups = (q / 32) * 128  # per channel, per 32 tokens
    value_groups = q * (128 / 32)  # per token, per 32 channels
    scales = slices / 2 * (key_groups + value_groups) * 2 * 2
    assert c.kv_bytes_split["codes"] == codes
    assert c.kv_bytes_split["codebooks"] == scales
    assert c.kv_bytes_split["full_precision"] == slices * 32 * 128 * 2


def test_footprint_is_linear_in_context_above_the_knee():
    tokens = np.array([1024, 2048, 4096, 8192])
    for algo in ("fp16", "pq"):
        c = cost(algo=algo, workload__context_tokens=tokens)
        steps = np.diff(c.kv_bytes) / np.diff(tokens)
        assert np.allclose(steps, steps[0])
        assert steps[0] > 0


def test_max_context_fp16_fills_capacity_exactly():
    # One 16 GiB stack, nothing else resident: Llama-2-7B FP16 takes 512 KiB a token -> 32768 tokens.
    c = cost(algo="fp16", model="llama2_7b", hw__pim__stacks=1)
    assert c.max_context_tokens == 32768


@pytest.mark.parametrize("copies", [1, REPLICATED])
def test_max_context_pq_fits_and_one_more_window_does_not(copies):
    kw = dict(algo="pq", hw__pim__stacks=1, hw__pim__pq_codebook_copies=copies)
    top = int(cost(**kw).max_context_tokens)
    assert cost(workload__context_tokens=top, **kw).fits
    assert not cost(workload__context_tokens=top + 1, **kw).fits
