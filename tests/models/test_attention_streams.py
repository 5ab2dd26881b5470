"""Compressed attention, stream simulation (refresh policies), baselines and importance weights."""

import pytest
import torch

from models.attention import ExactRegion, compressed_attention, reference_attention
from models.capture import check_finite
from models.cluster_sparse import build_clusters, read_mask
from models.errors import ActivationError
from models.importance import importance_weights
from models.kmeans import KMeansConfig
from models.pq import StreamGeometry, quantize_stream
from models.uniform import fake_quant_groups, quantize_kivi
from spec.algo import ClusterSparse

GEN = torch.Generator().manual_seed(0)


def _qkv(n: int = 2, h: int = 4, g: int = 2, length: int = 64, t: int = 8, d: int = 16):
    q = torch.randn(n, h, t, d, generator=GEN)
    k = torch.randn(n, g, length, d, generator=GEN)
    v = torch.randn(n, g, length, d, generator=GEN)
    return q, k, v, torch.arange(length - t, length)


def test_sink_and_window_tokens_are_read_exactly() -> None:
    q, k, v, pos = _qkv()
    region = ExactRegion(sinks=4, window=8, prefill=32)
    exact = region.mask(pos, k.shape[2])
    garbage_k = torch.randn(k.shape, generator=GEN) * 100
    garbage_v = torch.randn(v.shape, generator=GEN) * 100
    # compressed copies equal the exact cache except where the region says "exact"
    cols = exact.all(0)  # sinks and the window of every scored query
    k_hat = torch.where(cols[:, None], garbage_k, k)
    v_hat = torch.where(cols[:, None], garbage_v, v)
    out, p = compressed_attention(q, k, v, k_hat, v_hat, pos, region)
    ref_out, ref_p = reference_attention(q, k, v, pos)
    assert torch.allclose(out, ref_out, atol=1e-5) and torch.allclose(p, ref_p, atol=1e-6)
    assert cols[:4].all() and cols[-8:].all() and cols.sum() == 12 and not exact[-1, 10:40].any()


def test_compressed_tokens_change_the_output() -> None:
    q, k, v, pos = _qkv()
    out, _ = compressed_attention(q, k, v, k + 1.0, v, pos, ExactRegion(4, 8, 32))
    ref, _ = reference_attention(q, k, v, pos)
    assert (out - ref).abs().max() > 1e-2


def test_prefill_queries_see_an_exact_cache() -> None:
    region = ExactRegion(sinks=0, window=0, prefill=32)
    assert region.mask(torch.tensor([31]), 64).all()
    assert not region.mask(torch.tensor([32]), 64)[0, :32].any()


def _stream(policy: str, **kw):
    x = torch.randn(3, 200, 8, generator=torch.Generator().manual_seed(1))
    geo = StreamGeometry(prefill=120, sinks=4)
    return x, quantize_stream(x, 2, KMeansConfig(16, 3, 0), geo, policy, **kw)


def test_refresh_counts_per_policy() -> None:
    assert _stream("static")[1].refreshes == 0
    assert _stream("windowed", refresh_window=32)[1].refreshes == 3  # 80 decode tokens: 32 + 32 + 16
    assert _stream("online", refresh_interval=10)[1].refreshes == 8
    assert _stream("online", refresh_interval=1)[1].refreshes == 80


def test_windowed_keeps_prefill_codes_and_refits_decode_windows() -> None:
    x, static = _stream("static")
    _, win = _stream("windowed", refresh_window=32)
    assert torch.equal(static.recon[:, :120], win.recon[:, :120])
    err_static = (static.recon[:, 120:] - x[:, 120:]).pow(2).mean()
    err_win = (win.recon[:, 120:] - x[:, 120:]).pow(2).mean()
    assert err_win < err_static  # each window's codebook is fitted to that window


def test_online_updates_move_prefill_reconstructions() -> None:
    _, static = _stream("static")
    _, online = _stream("online", refresh_interval=4)
    assert not torch.equal(static.recon[:, :120], online.recon[:, :120])


def test_uniform_quantization_error_is_bounded_by_half_a_step() -> None:
    x = torch.randn(4, 64, 16, generator=GEN)
    for bits in (2, 4, 8):
        y = fake_quant_groups(x, bits, dim=1, group=32)
        step = (x.view(4, 2, 32, 16).amax(2) - x.view(4, 2, 32, 16).amin(2)) / (2**bits - 1)
        bound = step.repeat_interleave(32, dim=1) / 2 + 1e-6
        assert ((y - x).abs() <= bound).all()
    k16, v16 = quantize_kivi(x, x, 16, 32)
    assert torch.equal(k16, x) and torch.equal(v16, x)


def test_kivi_groups_keys_per_channel_and_values_per_token() -> None:
    x = torch.zeros(1, 32, 8)
    x[0, :, 3] = 1000.0  # one outlier channel
    x[0, :, :3] = torch.randn(32, 3, generator=GEN)
    k, v = quantize_kivi(x, x, 2, 32)
    # per-channel key scales: the outlier channel does not blur the small channels
    assert (k[0, :, :3] - x[0, :, :3]).abs().max() < 1.5
    # per-token value scales over all 8 channels: the small channels are crushed by the outlier
    assert (v[0, :, :3] - x[0, :, :3]).abs().max() > 1.5


def test_cluster_sparse_reads_everything_under_a_large_budget_and_less_under_a_small_one() -> None:
    q, k, _, pos = _qkv(length=256, t=4)
    spec = ClusterSparse(cluster_tokens=16, token_budget=4096, recluster_interval=64, kmeans_iters=2)
    cl = build_clusters(k, prefill=128, spec=spec, seed=0)
    assert cl.reclusters == 2
    full = read_mask(q, pos, cl, 128, spec)
    visible = torch.arange(256)[None, :] <= pos[:, None]
    assert torch.equal(full, visible.expand_as(full))
    small = ClusterSparse(cluster_tokens=16, token_budget=64, recluster_interval=64, kmeans_iters=2,
                              sink_tokens=2, window_tokens=4)
    m = read_mask(q, pos, build_clusters(k, 128, small, 0), 128, small)
    assert m[..., :2].all() and m[..., -1, -4:].all()
    n_read = m.sum(-1)
    assert (n_read < 256).all()
    # whole clusters are read while under budget: at most one cluster past it
    assert (n_read <= 64 + int(cl.sizes.max())).all()


def test_importance_weights_follow_attention() -> None:
    d = 8
    k = torch.zeros(1, 1, 16, d)
    k[0, 0, 5, 0] = 10.0  # one key every query attends to
    q = torch.zeros(1, 2, 4, d)
    q[..., 0] = 1.0
    w = importance_weights(q, k, prefill=16, n_queries=4)
    assert w.shape == (1, 1, 16)
    assert torch.allclose(w.mean(-1), torch.ones(1, 1))
    assert int(w[0, 0].argmax()) == 5


def test_non_finite_activations_name_layer_and_head() -> None:
    cap = {"k": torch.zeros(2, 3, 4, 8, 2), "v": torch.zeros(2, 3, 4, 8, 2),
           "q_tail": torch.zeros(2, 3, 4, 2, 2)}
    cap["v"][1, 2, 3, 5, 0] = float("nan")
    with pytest.raises(ActivationError, match="v activations in layer 20 head 3"):
        check_finite(cap, [0, 10, 20])
