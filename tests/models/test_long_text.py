"""Long sequences: the Wikipedia text source, the native-context limit and position-chunked metrics."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

import models
import models.full as full
from models.documents import DocumentCut, DocumentPlan, plan_documents
from models.loader import load_tokenizer
from models.spec import parse_proxy
from models.text import corpus_path, document_tokens, make_splits, model_path
from models.wiki import DEFAULT_WIKI, read_articles

ROOT = Path(__file__).resolve().parents[2]
LENGTHS = [10, 25, 3, 40, 9]  # articles' tokens; with seq 10 they hold 1, 2, 0, 4, 0 sequences


def _wiki_proxy(tmp_path: Path, **over: object) -> dict:
    cfg = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    cfg["text"] = cfg["text"] | {"source": "wiki"}
    return cfg | {"cache_dir": str(tmp_path / "cache")} | over


def test_calibration_takes_the_first_articles_and_evaluation_the_next() -> None:
    assert plan_documents(LENGTHS, 10, 2, 4, "d") == DocumentPlan(
        calib=(DocumentCut(0, 1), DocumentCut(1, 1)), eval=(DocumentCut(3, 4),))
    assert plan_documents(LENGTHS, 10, 1, 3, "d") == DocumentPlan(
        calib=(DocumentCut(0, 1),), eval=(DocumentCut(1, 2), DocumentCut(3, 1)))
    assert plan_documents(LENGTHS, 20, 1, 2, "d") == DocumentPlan(  # short articles are skipped
        calib=(DocumentCut(1, 1),), eval=(DocumentCut(3, 2),))


@pytest.mark.parametrize(("seq", "calib", "n", "message"), [
    (26, 1, 1, "proxy.seq_tokens=26: must be <= 25: a calibration and an evaluation document of d"),
    (10, 4, 1, "proxy.text.calib_seqs=4: must be <= 3: calibration documents of d must leave"),
    (10, 2, 5, "proxy.n_seqs=5: must be <= 4: d holds 4 sequences of 10 tokens"),
    (10, 1, 7, "proxy.n_seqs=7: must be <= 6: "),
])
def test_a_split_that_does_not_fit_names_the_field_and_the_limit(seq: int, calib: int, n: int, message: str
                                                                  ) -> None:
    with pytest.raises(models.SpecError) as e:
        plan_documents(LENGTHS, seq, calib, n, "d")
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_wiki_offset_is_rejected_before_any_work(tmp_path: Path, algo_cfg) -> None:
    cfg = _wiki_proxy(tmp_path)
    cfg["text"] = cfg["text"] | {"eval_offset_tokens": 5}
    with pytest.raises(models.SpecError, match=r"^proxy.text.eval_offset_tokens=5: must be 0 with "):
        models.validate(algo_cfg("fp16"), cfg)
    assert not (tmp_path / "cache").exists()


def test_the_shipped_dump_reads_as_plain_articles() -> None:
    arts = read_articles(corpus_path(parse_proxy({"text": {"source": "wiki"}})))
    assert corpus_path(parse_proxy({"text": {"source": "wiki"}})).name == DEFAULT_WIKI
    assert len(arts) == 106 and arts[0].startswith("Anarchism\n\nAnarchism is a political philosophy")
    assert not any("'''" in a or "[[" in a or a.upper().startswith("#REDIRECT") for a in arts)


def test_sequence_longer_than_the_native_context_is_rejected(tmp_path: Path, algo_cfg) -> None:
    with pytest.raises(models.SpecError, match=r"^proxy.seq_tokens=8193: must be <= 8192: the model"):
        models.validate(algo_cfg("fp16"), _wiki_proxy(tmp_path, seq_tokens=8193))
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"hidden_size": 576, "num_attention_heads": 9,
                                                "num_hidden_layers": 30, "max_position_embeddings": 512}))
    with pytest.raises(models.SpecError, match=r"^proxy.seq_tokens=4096: must be <= 512: the model's native"):
        models.validate(algo_cfg("fp16"), _wiki_proxy(tmp_path, model={"source": "hf", "path": str(hf)}))


def test_long_sequences_are_cut_inside_real_articles(tmp_path: Path, algo_cfg) -> None:
    """4K sequences: article 0 (Anarchism, 15,111 tokens: 3 sequences, 2 used) calibrates; the other
    articles hold 125 of the dump's 128 (sum of tokens // 4096). Evaluation reads article 1
    (10,162 tokens: two sequences) then article 4 (articles 2 and 3 are shorter than 4,096 tokens)."""
    cfg = _wiki_proxy(tmp_path, seq_tokens=4096, prefill_tokens=3584, n_seqs=3)
    models.validate(algo_cfg("pq", n_centroids=1024), cfg)
    spec = parse_proxy(cfg)
    assert document_tokens(spec)[:5] == (15111, 10162, 3934, 2550, 19719)
    with pytest.raises(models.SpecError, match=r"^proxy.n_seqs=200: must be <= 125: "):
        models.validate(algo_cfg("fp16"), cfg | {"n_seqs": 200})
    tokenizer = load_tokenizer("gguf", model_path(spec))  # shared with the other tests of the session
    arts = read_articles(corpus_path(spec))
    ids = [torch.tensor(tokenizer(arts[i]).input_ids) for i in (0, 1, 4)]
    splits = make_splits(tokenizer, spec)
    assert torch.equal(splits.calib, ids[0][:8192].view(2, 4096))
    assert torch.equal(splits.eval, torch.stack([ids[1][:4096], ids[1][4096:8192], ids[2][:4096]]))


def test_chunked_metrics_equal_the_whole_sequence_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 3 positions over 7 give the same sums (to float rounding) as one chunk; a sequence
    no longer than the chunk is bit-identical to one chunk by construction."""
    g = torch.Generator().manual_seed(0)
    w = SimpleNamespace(lm_head=torch.randn(11, 4, generator=g))
    hidden, ref = torch.randn(2, 7, 4, generator=g), torch.randn(2, 7, 4, generator=g)
    targets = torch.randint(0, 11, (2, 7), generator=g)
    whole, nll, ref_nll = full.next_token_metrics(w, hidden, ref, targets)
    monkeypatch.setattr(full, "POSITION_CHUNK", 3)
    chunked, chunked_nll, _ = full.next_token_metrics(w, hidden, ref, targets)
    assert whole.keys() == chunked.keys() and whole["kl"] > 0.1 and whole["top1_agree"] < 1
    for key, value in whole.items():
        assert chunked[key] == pytest.approx(value, rel=1e-6), key
    assert torch.allclose(chunked_nll, nll)
    # the loss increase is the mean per-token NLL difference, and perplexities are its exponentials
    assert whole["loss_increase"] == pytest.approx(float((nll - ref_nll).mean()))
    assert math.log(whole["ppl_ratio"]) == pytest.approx(whole["loss_increase"])
    assert whole["ppl_increase_pct"] == pytest.approx(100 * (whole["ppl_ratio"] - 1))


def test_wiki_results_have_their_own_cache_key() -> None:
    """text.source enters the result key (the default lee key is the one written before the key existed)."""
    lee, wiki = parse_proxy({"text": {"source": "lee"}}), parse_proxy({"text": {"source": "wiki"}})
    assert wiki.key_dict()["text"]["source"] == "wiki" and "source" not in lee.key_dict()["text"]
    assert {k: v for k, v in wiki.key_dict()["text"].items() if k != "source"} == lee.key_dict()["text"]
