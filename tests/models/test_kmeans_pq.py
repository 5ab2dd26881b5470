"""k-means and product quantization on synthetic data (no model needed)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models.kmeans import KMeansConfig, assign, kmeans
from models.pq import StreamGeometry, decode, from_subspaces, ip_table_scores, quantize_stream, to_subspaces


@settings(max_examples=15, deadline=None)
@given(n_distinct=st.integers(2, 12), extra=st.integers(0, 4), seed=st.integers(0, 1000))
def test_k_at_least_distinct_reconstructs_exactly(n_distinct: int, extra: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    pts = torch.randn(3, n_distinct, 2, generator=gen)
    x = pts.repeat(1, 5, 1)  # every vector appears 5 times
    c = kmeans(x, KMeansConfig(n_distinct + extra, iters=30, seed=seed))
    d = (x[:, :, None, :] - c[:, None, :, :]).abs().amax(-1).amin(-1)  # distance to nearest centroid
    assert d.max().item() < 1e-6


def _nearest_float64(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Brute-force nearest centroid in float64, first index on ties (the definition assign implements)."""
    return (x.double()[:, :, None, :] - c.double()[:, None, :, :]).pow(2).sum(-1).argmin(-1)


@settings(max_examples=15, deadline=None)
@given(s=st.sampled_from([1, 2, 3, 4, 8, 16]), k=st.sampled_from([2, 5, 64, 127, 128, 130, 256, 1024]),
       n=st.integers(1, 200), seed=st.integers(0, 1000))
def test_assign_matches_float64_nearest_centroid(s: int, k: int, n: int, seed: int) -> None:
    # points on the 1/8 grid, centroids on it shifted by 1/32: ||c||^2 - 2 x.c is exact in float32
    # (few-bit dyadic values), so the kernel must give the float64 brute-force codes, exact ties
    # (duplicate centroids, equidistant ones) included
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(-16, 16, (3, n, s), generator=gen) / 8
    c = torch.randint(-16, 16, (3, k, s), generator=gen) / 8 + 1 / 32
    assert torch.equal(assign(x, c), _nearest_float64(x, c))


def test_assign_ties_go_to_the_lowest_index() -> None:
    # K = 256 (the grouped argmin: 32 groups of 8): centroid 200 (at 2000) duplicated at 3, 37 and 255;
    # 1295 is equidistant from centroids 129 and 130, 1995 from 199 and the four copies at 2000: the
    # lowest index wins every tie
    c = torch.arange(256, dtype=torch.float32)[None, :, None].expand(1, 256, 2).clone() * 10
    c[0, 3] = c[0, 37] = c[0, 255] = c[0, 200]
    x = torch.tensor([[[2000.0, 2000.0], [1295.0, 1295.0], [1995.0, 1995.0], [-5.0, -5.0]]])
    assert assign(x, c).tolist() == [[3, 129, 3, 0]]
    assert assign(x[:, :, :1].contiguous(), c[:, :, :1].contiguous()).tolist() == [[3, 129, 3, 0]]
    assert assign(x.repeat(1, 1, 4), c.repeat(1, 1, 4)).tolist() == [[3, 129, 3, 0]]  # s = 8: matrix product


def test_assign_chunks_over_points_and_problems_alike() -> None:
    # 1,100 points x 1,024 centroids exceed one distance chunk: the codes are the same computed
    # whole or one problem and a few points at a time
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(2, 1100, 2, generator=gen)
    c = torch.randn(2, 1024, 2, generator=gen)
    whole = assign(x, c)
    parts = torch.cat([torch.cat([assign(x[b:b + 1, i:i + 7], c[b:b + 1]) for i in range(0, 1100, 7)], 1)
                       for b in range(2)])
    assert torch.equal(whole, parts)
    assert (whole == _nearest_float64(x, c)).float().mean() > 0.999


def test_pq_stream_exact_when_codebook_covers_every_vector() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 3, (4, 40, 8), generator=gen).float()  # 2-dim subvectors: 9 distinct values
    res = quantize_stream(x, 2, KMeansConfig(9, 30, 0), StreamGeometry(prefill=40, sinks=0), "static")
    assert torch.allclose(res.recon, x)


def test_uniform_weights_equal_plain_kmeans() -> None:
    x = torch.randn(5, 200, 4, generator=torch.Generator().manual_seed(1))
    cfg = KMeansConfig(16, 4, seed=3)
    plain = kmeans(x, cfg)
    weighted = kmeans(x, cfg, torch.full((5, 200), 2.5))
    assert torch.allclose(plain, weighted, atol=1e-6)


def test_weights_pull_centroids_towards_heavy_points() -> None:
    x = torch.tensor([[[0.0], [1.0], [10.0]]])
    c = kmeans(x, KMeansConfig(1, 3, 0), torch.tensor([[1.0, 1.0, 8.0]]))
    assert abs(c.item() - 81.0 / 10.0) < 1e-5


def test_same_seed_same_codebook_and_different_seed_differs() -> None:
    x = torch.randn(2, 300, 4, generator=torch.Generator().manual_seed(2))
    a = kmeans(x, KMeansConfig(8, 2, seed=7))
    b = kmeans(x, KMeansConfig(8, 2, seed=7))
    c = kmeans(x, KMeansConfig(8, 2, seed=8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def _pq_err(x: torch.Tensor, s: int, k: int) -> float:
    res = quantize_stream(x, s, KMeansConfig(k, 8, 0), StreamGeometry(x.shape[1], 0), "static")
    return (res.recon - x).pow(2).mean().item()


def test_error_does_not_grow_with_k_or_m() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 512, 16, generator=gen) @ torch.randn(16, 16, generator=gen)
    errs_k = [_pq_err(x, 4, k) for k in (4, 16, 64, 256)]
    assert all(a >= b for a, b in zip(errs_k, errs_k[1:], strict=False)), errs_k
    errs_m = [_pq_err(x, s, 16) for s in (16, 8, 4, 2)]  # m = 1, 2, 4, 8
    assert all(a >= b for a, b in zip(errs_m, errs_m[1:], strict=False)), errs_m
    assert errs_k[-1] < 0.5 * errs_k[0]


def test_subspace_split_roundtrip() -> None:
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)
    xs = to_subspaces(x, 2)
    assert xs.shape == (8, 3, 2)
    assert torch.equal(xs[1, 0], torch.tensor([2.0, 3.0]))
    assert torch.equal(from_subspaces(xs, 2), x)


def test_attention_through_ip_tables_equals_reconstructed_keys() -> None:
    gen = torch.Generator().manual_seed(5)
    m, k, s, n = 4, 16, 2, 50
    codebook = torch.randn(m, k, s, generator=gen)
    codes = torch.randint(0, k, (n, m), generator=gen)
    q = torch.randn(3, m * s, generator=gen)
    keys = decode(codebook, codes.T.contiguous()).permute(1, 0, 2).reshape(n, m * s)
    scores = ip_table_scores(q, codebook, codes)
    assert torch.allclose(scores, q @ keys.T, atol=1e-5)
    assert torch.allclose(torch.softmax(scores, -1), torch.softmax(q @ keys.T, -1), atol=1e-6)


def test_channel_sort_groups_correlated_channels_and_never_loses_on_calibration() -> None:
    from models.channel_sort import calibrated_sort, pq_error

    gen = torch.Generator().manual_seed(6)
    base = torch.randn(2, 600, 4, generator=gen) * torch.tensor([4.0, 2.0, 1.0, 0.5])
    x = torch.cat([base, base + 0.05 * torch.randn(2, 600, 4, generator=gen)], dim=-1)  # i ~ i + 4
    perm = calibrated_sort(x, 2)
    pairs = {frozenset(p) for p in perm.view(2, 4, 2).tolist()[0]}
    assert pairs == {frozenset((i, i + 4)) for i in range(4)}
    w = torch.ones(2, 8)
    ident = torch.arange(8).expand(2, 8)
    assert (pq_error(x, perm, 2, w, 0) <= pq_error(x, ident, 2, w, 0)).all()


def test_sampled_fit_uses_only_the_sample_and_whole_samples_change_nothing() -> None:
    # K = train_tokens: every sampled point seeds its own cluster and stays its centroid, so the
    # centroids are 8 distinct points of x; a sample as large as x is no sample at all
    x = torch.randn(2, 100, 2, generator=torch.Generator().manual_seed(6))
    c = kmeans(x, KMeansConfig(8, 3, seed=1, train_tokens=8))
    hits = (c[:, :, None, :] == x[:, None, :, :]).all(-1)  # [B, K, N]: centroid k is point n
    assert hits.any(-1).all() and (hits.sum(1) <= 1).all()
    assert torch.equal(c, kmeans(x, KMeansConfig(8, 3, seed=1, train_tokens=8)))
    whole = kmeans(x, KMeansConfig(8, 3, seed=1))
    assert torch.equal(whole, kmeans(x, KMeansConfig(8, 3, seed=1, train_tokens=100)))
    assert not torch.equal(whole, c)
