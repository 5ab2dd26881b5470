"""Retrieval mode: pass-key prompts (deterministic, needle at its depth, answer = the key) and their
teacher-forced scores on the real model over short haystacks."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models.formats import format_for
from models.loader import load_tokenizer
from models.locate import default_gguf
from models.retrieval import ItemScore, load_exact, load_items, retrieval_metrics, score_items
from models.retrieval_prompts import RetrievalItem, build_items, haystack_articles, sentence_starts
from models.spec import ProxySpec, parse_proxy
from spec.algo import parse_algo

TOLERANCE = 32  # tokens: the target sits at the sentence start nearest its depth (models.retrieval_prompts)


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer("gguf", default_gguf())


@pytest.fixture(scope="session")
def spec(tmp_path_factory: pytest.TempPathFactory) -> ProxySpec:
    """Short prompts: 2 lengths x 2 depths x single and 3-key prompts, one each (8 items)."""
    return parse_proxy({"mode": "retrieval", "seq_tokens": 320, "prefill_tokens": 256,
                        "cache_dir": str(tmp_path_factory.mktemp("retrieval-cache")),
                        "retrieval": {"lengths": [320, 512], "depths_pct": [10, 90], "keys": [1, 3],
                                      "prompts_per_cell": 1}})


@pytest.fixture(scope="session")
def items(spec: ProxySpec) -> tuple[RetrievalItem, ...]:
    return load_items(spec)


def test_prompts_are_deterministic_for_a_seed(spec: ProxySpec, items, tokenizer) -> None:
    assert build_items(spec, tokenizer) == items  # built again: the same token ids
    other = build_items(replace(spec, seed=1), tokenizer)
    assert [i.key for i in other] != [i.key for i in items]
    assert len({i.key for i in items}) == len(items)


def test_prompt_length_answer_and_needle(items, tokenizer) -> None:
    assert [(i.length, i.depth_pct, i.keys) for i in items] == [
        (n, d, k) for n in (320, 512) for d in (10, 90) for k in (1, 3)]
    for it in items:
        assert len(it.prompt) == it.length
        assert tokenizer.decode(list(it.answer)) == it.key and len(it.key) == 5
        needle = tokenizer.decode(list(it.prompt[it.needle_pos:it.needle_pos + 16]))
        assert needle.startswith(" The pass key ") and it.key in needle
        text = tokenizer.decode(list(it.prompt))
        assert text.count(" The pass key") == it.keys and all(c.isdigit() for c in it.key)
        assert text.endswith(" door is " if it.keys > 1 else "The pass key is ")
        if it.keys == 1:  # no distractor before it: the haystack tokens before the needle set the depth
            assert abs(it.needle_pos - it.hay_start - it.depth_pct / 100 * it.hay_tokens) <= TOLERANCE


def test_haystacks_skip_the_calibration_articles(spec: ProxySpec, items) -> None:
    usable = {i for i, _ in haystack_articles(spec)}
    assert 0 not in usable  # the first article of the dump holds the 320-token calibration sequences
    assert {it.article for it in items} <= usable


def test_sentence_starts_follow_a_sentence_end_and_a_word() -> None:
    pieces = ["He", "Ġleft", ".", "ĠThe", "Ġend", "!", "Ġ", "1", ".", "ĠOk"]
    assert sentence_starts(pieces).tolist() == [3, 9]


def _score(item_key: str, exact: float, nll: float, exact_right: bool, right: bool, length: int = 512,
           depth: int = 50) -> ItemScore:
    item = RetrievalItem(length, depth, 1, 0, 0, item_key, 0, 0, 0, (), ())
    return ItemScore(item, exact, nll, exact_right, right)


def test_metrics_count_only_items_the_exact_cache_gets_right() -> None:
    scores = [_score("1", 0.1, 0.3, True, True, 512, 10), _score("2", 0.2, 1.2, True, False, 1024, 10),
              _score("3", 0.3, 0.6, True, True, 1024, 90), _score("4", 2.0, 0.0, False, True, 1024, 90)]
    m = retrieval_metrics(scores)
    assert m["retrieval_items"] == 3 and m["exact_acc"] == 0.75
    assert m["retrieval_acc"] == pytest.approx(2 / 3)
    assert m["answer_nll_increase"] == pytest.approx((0.2 + 1.0 + 0.3) / 3)
    assert (m["retrieval_acc@512"], m["retrieval_acc@1024"]) == (1.0, 0.5)
    assert (m["retrieval_acc@d0.1"], m["retrieval_acc@d0.9"]) == (0.5, 1.0)
    with pytest.raises(ValueError, match="answers none of the 1 retrieval items"):
        retrieval_metrics(scores[3:])


def test_exact_run_matches_one_unchunked_forward(spec: ProxySpec, items, monkeypatch) -> None:
    import models.retrieval as retrieval
    from models.runtime import get_model

    item = items[0]
    whole = load_exact(spec, item)
    monkeypatch.setattr(retrieval, "EXACT_CHUNK", 100)  # 4 prefill chunks instead of one
    chunked = retrieval.exact_run(get_model(spec.model).weights, item, "cpu")
    for name in ("k", "v", "q_tail", "answer_lp"):
        assert torch.allclose(whole[name].float(), chunked[name].float(), rtol=2e-3, atol=2e-3), name
    assert torch.equal(whole["answer_top"], chunked["answer_top"])
    assert whole["k"].shape == (30, 3, item.length - 1, 64) and whole["q_tail"].shape == (30, 9, 128, 64)


@pytest.fixture(scope="session")
def fp16_scores(spec: ProxySpec):
    return score_items(format_for(parse_algo({"name": "fp16"}), spec), spec)[0]


def test_the_exact_cache_answers_short_prompts(fp16_scores) -> None:
    assert sum(s.exact_right for s in fp16_scores) >= len(fp16_scores) // 2


def test_fp16_keeps_every_answer_the_exact_cache_gets_right(fp16_scores) -> None:
    m = retrieval_metrics(fp16_scores)
    assert m["retrieval_acc"] == 1.0
    assert abs(m["answer_nll_increase"]) < 1e-3


def test_a_destructive_format_loses_answer_log_prob(spec: ProxySpec, fp16_scores) -> None:
    algo = parse_algo({"name": "uniform", "bits": 1, "group_size": 128, "window_tokens": 8})
    scores, _ = score_items(format_for(algo, spec), spec)
    m = retrieval_metrics(scores)
    assert m["answer_nll_increase"] > 0.5
    assert m["retrieval_acc"] < 1.0
    right = [s for s in scores if s.exact_right]
    assert np.mean([s.nll for s in right]) > np.mean([s.exact_nll for s in right])


def test_a_prompt_too_short_for_its_keys_names_the_field(spec: ProxySpec, tokenizer) -> None:
    short = replace(spec, retrieval=replace(spec.retrieval, lengths=(256,), keys=(16,)))
    with pytest.raises(Exception, match=r"^proxy.retrieval.lengths=256: too short for 16 pass keys"):
        build_items(short, tokenizer)


def test_items_are_kept_on_disk(spec: ProxySpec, items) -> None:
    assert len(list((Path(spec.cache_dir) / "retrieval").glob("items-*.json"))) == 1
    assert load_items(spec) == items
