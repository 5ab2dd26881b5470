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


def test_pq_codebooks_are_replicated_in_every_bank_holding_a_subspace():
    # On 8 stacks (8192 bank PEs) one sequence's 8 KV heads x 32 subspaces = 256 slices are split
    # over 32 banks each, and each bank keeps its subspace's codebooks: 32 copies, 2 GiB.
    one = cost(algo="pq", model="mistral_7b", workload__context_tokens=32768)
    assert one.kv_bytes_split["codebooks"] == 32 * 64 * (1 << 20)
    # From batch 32 on, every PE already has a slice of its own: no copies beyond one a slice.
    for batch, copies in ((16, 2), (32, 1), (64, 1)):
        many = cost(algo="pq", model="mistral_7b", workload__context_tokens=32768, workload__batch=batch)
        assert many.kv_bytes_split["codebooks"] == batch * copies * 64 * (1 << 20)
        assert many.kv_bytes_split["codes"] == batch * one.kv_bytes_split["codes"]


def test_pq_windowed_refresh_keeps_a_codebook_per_window():
    slice_codebook = 512 * 128 * 2
    slices = 2 * 32 * 8

    def codebooks(hw_name, ctx, refresh):
        c = cost(
            hw=hw_name,
            algo="pq",
            workload__context_tokens=ctx,
            algo__refresh=refresh,
            algo__refresh_window_tokens=1024,
        )
        return c.kv_bytes_split["codebooks"] / (slices * slice_codebook)

    # Attention on the GPU: a codebook per window of 1024 tokens.
    assert codebooks("gpu_offload_pcie", 4096, "static") == 1
    assert codebooks("gpu_offload_pcie", 4096, "windowed") == 4
    # On PIM a slice's tokens are split over 32 banks: at 4K tokens each bank's 128 tokens sit in one
    # window, so each bank keeps one codebook, as with static ones; at 64K each holds two whole windows.
    assert codebooks("aqpim_hbm3", 4096, "windowed") == codebooks("aqpim_hbm3", 4096, "static") == 32
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


def test_max_context_pq_fits_and_one_more_window_does_not():
    c = cost(algo="pq", hw__pim__stacks=1)
    top = int(c.max_context_tokens)
    at = cost(algo="pq", hw__pim__stacks=1, workload__context_tokens=top)
    over = cost(algo="pq", hw__pim__stacks=1, workload__context_tokens=top + 1)
    assert at.fits
    assert not over.fits
