"""models.score on real SmolLM2 activations (one shared capture per test session)."""

import json
from pathlib import Path

import pytest
import torch

import models
from models.capture import CaptureKey, load_capture
from models.loader import load_tokenizer
from models.spec import parse_proxy
from models.text import KNOWN_TOKEN_COUNTS, corpus_path, model_path, tokenize

PQ_SMALL = {"n_centroids": 32, "sink_tokens": 4, "window_tokens": 16}


def test_fp16_is_near_exact_and_pq_is_not(tiny_proxy: dict, algo_cfg) -> None:
    fp16 = models.score(algo_cfg("fp16"), tiny_proxy)
    pq = models.score(algo_cfg("pq", **PQ_SMALL), tiny_proxy)
    assert fp16.higher_is_better and fp16.name == "neg_attn_loss"
    assert fp16.metrics["rel_err"] < 2e-3 and fp16.metrics["attn_snr_db"] > 50
    assert -1e-5 < fp16.value <= 0
    assert fp16.metrics["topk_recall"] > 0.99
    assert 0.01 < pq.metrics["rel_err"] < 0.5
    assert pq.value < -1e-3 and pq.metrics["attn_snr_db"] < fp16.metrics["attn_snr_db"] - 10
    assert json.loads(json.dumps(pq.to_dict()))["metrics"]["rel_err"] == pq.metrics["rel_err"]


def test_same_seed_same_numbers_and_result_cache(tiny_proxy: dict, algo_cfg) -> None:
    cfg = tiny_proxy | {"result_cache": False}
    a = models.score(algo_cfg("pq", **PQ_SMALL), cfg)
    b = models.score(algo_cfg("pq", **PQ_SMALL), cfg)
    assert a.metrics == b.metrics
    c = models.score(algo_cfg("pq", **PQ_SMALL), cfg | {"seed": 1})
    assert c.metrics != a.metrics
    first = models.score(algo_cfg("pq", **PQ_SMALL), tiny_proxy)
    again = models.score(algo_cfg("pq", **PQ_SMALL), tiny_proxy)
    assert again.cached and again.to_dict() == first.to_dict() and first.metrics == a.metrics
    assert list((Path(tiny_proxy["cache_dir"]) / "results").glob("*.json"))


def test_more_bits_is_more_accurate(tiny_proxy: dict, algo_cfg) -> None:
    vals = [models.score(algo_cfg("uniform", bits=b), tiny_proxy).value for b in (2, 3, 4, 8)]
    assert vals == sorted(vals), vals
    pq = [models.score(algo_cfg("pq", **PQ_SMALL | {"n_centroids": k}), tiny_proxy).value
          for k in (8, 64, 240)]
    assert pq == sorted(pq), pq


def test_capture_holds_post_rope_keys_and_real_shapes(tiny_proxy: dict, algo_cfg) -> None:
    spec = parse_proxy(tiny_proxy)
    cap = load_capture(spec, CaptureKey("eval", spec.layers))
    assert cap["k"].shape == (2, 2, 3, 320, 64)
    assert cap["q_dec"].shape == (2, 2, 9, 64, 64)
    assert torch.isfinite(cap["k"]).all()
    assert cap["layers"].tolist() == [1, 20]


def test_missing_model_path_is_a_clear_error(tiny_proxy: dict, algo_cfg) -> None:
    cfg = tiny_proxy | {"model": {"source": "gguf", "path": "/no/such.gguf", "device": "cpu"}}
    with pytest.raises(models.SpecError, match="proxy.model.path"):
        models.score(algo_cfg("fp16"), cfg)


def test_full_mode_kl_is_zero_for_fp16_and_grows_with_compression(tiny_proxy: dict, algo_cfg) -> None:
    full = tiny_proxy | {"mode": "full", "metric": "neg_kl", "layers": []}
    fp16 = models.score(algo_cfg("fp16"), full)
    two_bit = models.score(algo_cfg("uniform", bits=2, window_tokens=8), full)
    four_bit = models.score(algo_cfg("uniform", bits=4, window_tokens=8), full)
    assert fp16.mode == "full" and fp16.name == "neg_kl" and fp16.value == -fp16.metrics["kl"]
    assert fp16.metrics["kl"] < 1e-4 and abs(fp16.metrics["ppl_ratio"] - 1) < 1e-3
    assert fp16.metrics["ppl_ref"] == two_bit.metrics["ppl_ref"]
    assert 10 < fp16.metrics["ppl_ref"] < 100  # a working 135M model on news text
    assert two_bit.metrics["kl"] > four_bit.metrics["kl"] > 10 * fp16.metrics["kl"]


def test_short_prefill_captures_every_prefill_query(tiny_proxy: dict, algo_cfg) -> None:
    """A prefill under 128 tokens: the capture keeps all of it as tail queries and importance-weighted
    PQ scores (the tail slice used to start at a negative index and capture no query)."""
    short = tiny_proxy | {"seq_tokens": 128, "prefill_tokens": 64, "n_seqs": 1, "layers": [1],
                          "queries_per_seq": 16, "result_cache": False}
    pq = models.score(algo_cfg("pq", n_centroids=16, sink_tokens=4, window_tokens=16, importance_queries=64),
                      short)
    assert 0.01 < pq.metrics["rel_err"] < 0.5 and pq.value < 0
    spec = parse_proxy(short)
    assert load_capture(spec, CaptureKey("eval", spec.layers))["q_tail"].shape == (1, 1, 9, 64, 64)


def test_known_token_count_is_the_real_one(tiny_proxy: dict, algo_cfg) -> None:
    """The shipped model on the shipped corpus: the count validate uses without a tokenizer."""
    models.score(algo_cfg("fp16"), tiny_proxy)  # the capture has loaded the tokenizer
    spec = parse_proxy(tiny_proxy)
    model, corpus = model_path(spec), corpus_path(spec)
    ids = tokenize(load_tokenizer("gguf", model), corpus)
    shipped = (model.name, model.stat().st_size, corpus.name, corpus.stat().st_size)
    assert {shipped: ids.numel()} == KNOWN_TOKEN_COUNTS


def test_another_corpus_is_counted_once_and_checked(tiny_proxy: dict, algo_cfg, tmp_path: Path) -> None:
    text = tmp_path / "short.txt"
    text.write_text("The quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")  # 401 tokens
    cfg = tiny_proxy | {"text": {"source": "lee", "path": str(text), "calib_seqs": 1}, "seq_tokens": 200,
                        "prefill_tokens": 150, "n_seqs": 1, "cache_dir": str(tmp_path / "cache")}
    models.validate(algo_cfg("fp16"), cfg)
    assert [json.loads(p.read_text())["tokens"] for p in (tmp_path / "cache" / "corpus").iterdir()] == [401]
    with pytest.raises(models.SpecError, match=r"^proxy.n_seqs=2: must be <= 1: short.txt has 401 tokens"):
        models.validate(algo_cfg("fp16"), cfg | {"n_seqs": 2})
