"""Config validation: bad input gives one-line errors that name the field."""

import json
import sys
import tempfile
import types
from pathlib import Path

import pytest
import torch
import yaml

import models
import models.quick
import spec
from models.cache import result_key
from models.documents import DocumentCut, plan_documents
from models.formats import FORMATS, format_for
from models.loader import load_tokenizer
from models.result import Accuracy, ModeResult
from models.spec import (
    DEFAULT_METRIC,
    METRICS,
    ProxySpec,
    RetrievalSpec,
    metric_value,
    mode_metrics,
    parse_proxy,
)
from models.text import KNOWN_DOCUMENT_TOKENS, corpus_path, document_tokens, model_path
from models.wiki import DEFAULT_WIKI, read_articles
from spec.algo import ALGORITHMS, parse_algo
from spec.fields import config_fields, default_of

ROOT = Path(__file__).resolve().parents[2]


def _algo(name: str, **over: object) -> dict:
    d = yaml.safe_load((ROOT / "conf" / "algo" / f"{name}.yaml").read_text())
    return d | over


LEE_1K = {"text": {"source": "lee"}, "seq_tokens": 1024, "prefill_tokens": 768}
"""The news text at the old default length: its limits are stated in tokens of one stream."""


def _proxy(**over: object) -> dict:
    d = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    d["cache_dir"] = str(Path(tempfile.gettempdir()) / "pimdse-never-used")  # validation creates nothing
    return d | over


@pytest.mark.parametrize("name", ["fp16", "uniform", "pq", "cluster_sparse"])
def test_shipped_algo_configs_validate(name: str) -> None:
    models.validate(_algo(name), _proxy())


@pytest.mark.parametrize(("algo", "proxy", "field"), [
    (_algo("pq", subvector_dim=5), {}, "algo.subvector_dim"),
    (_algo("pq", n_centroids=3577), {}, "algo.n_centroids"),
    (_algo("pq", window_tokens=3600), {}, "algo.window_tokens"),
    (_algo("pq", refresh="sometimes"), {}, "algo.refresh"),
    (_algo("pq", kmeans_iters=0), {}, "algo.kmeans_iters"),
    (_algo("pq", importance_queries=4096), {}, "algo.importance_queries"),
    (_algo("pq", colour="red"), {}, "algo.colour"),
    (_algo("uniform", bits=0), {}, "algo.bits"),
    (_algo("uniform", bits=12), {}, "algo.bits"),
    ({"name": "magic"}, {}, "algo.name"),
    (_algo("fp16"), {"prefill_tokens": 4096}, "proxy.prefill_tokens"),
    (_algo("fp16"), {"metric": "bleu"}, "proxy.metric"),
    (_algo("fp16"), {"layers": [0, 30]}, "proxy.layers"),
    (_algo("fp16"), {"model": {"source": "onnx"}}, "proxy.model.source"),
    (_algo("fp16"), {"model": {"source": "gguf", "path": "/no/such/model.gguf"}}, "proxy.model.path"),
    (_algo("fp16"), {"model": {"source": "hf", "path": "/no/such/dir"}}, "proxy.model.path"),
])
def test_bad_input_names_the_field(algo: dict, proxy: dict, field: str) -> None:
    with pytest.raises(models.SpecError) as e:
        models.validate(algo, _proxy(**proxy))
    msg = str(e.value)
    assert msg.startswith(field + "=")
    assert "\n" not in msg


def test_spec_error_is_the_project_error() -> None:
    assert models.SpecError is spec.SpecError
    assert issubclass(models.SpecError, ValueError)


@pytest.mark.parametrize(("proxy", "field", "says"), [
    ({"model": 5}, "proxy.model", "must be a mapping"),
    ({"model": {"path": 5}}, "proxy.model.path", "non-empty string"),
    ({"text": {"path": "/nonexistent/corpus.txt"}}, "proxy.text.path", "does not exist"),
    (LEE_1K | {"n_seqs": 1000}, "proxy.n_seqs", "must be <= 71: lee_background.cor has 75680 tokens"),
    (LEE_1K | {"text": {"source": "lee", "eval_offset_tokens": 10**6}}, "proxy.text.eval_offset_tokens",
     "must be <= 72608"),
    (LEE_1K | {"text": {"source": "lee", "calib_seqs": 80}}, "proxy.text.calib_seqs", "must be <= 72"),
    ({"n_seqs": 1000}, "proxy.n_seqs", "must be <= 125: enwiki-latest-pages-articles1.xml-p000000010p00003"),
    ({"text": {"eval_offset_tokens": 5}}, "proxy.text.eval_offset_tokens", "must be 0 with proxy.text"),
    ({"mode": "retrieval", "metric": "retrieval_acc", "retrieval": {"lengths": [2048, 16384]}},
     "proxy.retrieval.lengths", "every length must be <= 8192: the model's native context"),
    ({"retrieval": {"lengths": [128]}}, "proxy.retrieval.lengths", "=128: must be >= 256"),
    ({"retrieval": {"depths_pct": [50, 101]}}, "proxy.retrieval.depths_pct", "=101: must be <= 100"),
    ({"retrieval": {"keys": []}}, "proxy.retrieval.keys", "must list at least one value"),
    ({"retrieval": {"keys": [0, 1]}}, "proxy.retrieval.keys", "=0: must be >= 1"),
    ({"retrieval": {"prompts_per_cell": 0}}, "proxy.retrieval.prompts_per_cell", "must be >= 1"),
    ({"metric": "neg_kl"}, "proxy.metric", "in quick mode must be one of neg_attn_loss, attn_snr_db, cosine"),
    ({"mode": "full"}, "proxy.metric",
     "in full mode must be one of loss_increase, ppl_increase_pct, long_range_loss_increase, neg_kl, "),
    ({"mode": "retrieval"}, "proxy.metric", "mode must be one of retrieval_acc, answer_nll_increase"),
    ({"seq_tokens": 40000, "prefill_tokens": 768}, "proxy.seq_tokens", "must be <= 8192: the model's native"),
    ({"layers": 0}, "proxy.layers", "must be a list"),
    ({"layers": [True]}, "proxy.layers", "must be a list"),
    ({"layers": [10, 30]}, "proxy.layers", "must be < 30"),
    ({"model": {"device": "tpu"}}, "proxy.model.device", "cpu, cuda, cuda:N or mps"),
    ({"model": {"device": "cuda:x"}}, "proxy.model.device", "cpu, cuda, cuda:N or mps"),
    ({"cache_dir": 5}, "proxy.cache_dir", "non-empty string"),
    ({"cache_dir": ""}, "proxy.cache_dir", "non-empty string"),
    ({"cache_dir": "/etc/hostname/sub"}, "proxy.cache_dir", ": '/etc/hostname' is a file, not a directory"),
    ({"cache_dir": "/tmp/" + "x" * 300}, "proxy.cache_dir", "usable directory path (File name too long)"),
    ({"kmeans_tol": 1}, "proxy.kmeans_tol", "must be < 1"),
    ({"seed": -1}, "proxy.seed", "must be >= 0"),
])
def test_bad_proxy_names_the_field(proxy: dict, field: str, says: str) -> None:
    cfg = _proxy()
    for key, value in proxy.items():  # nested keys override one leaf of the shipped section
        cfg[key] = cfg[key] | value if isinstance(value, dict) and isinstance(cfg.get(key), dict) else value
    with pytest.raises(models.SpecError) as e:
        models.validate(_algo("fp16"), cfg)
    assert e.value.path == field and says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line() -> None:
    with pytest.raises(models.SpecError, match=r"^proxy.model.device='cuda': torch sees 0 CUDA device"):
        models.validate(_algo("fp16"), _proxy(model={"source": "gguf", "path": None, "device": "cuda"}))


def test_the_larger_of_sinks_and_window_is_blamed() -> None:
    with pytest.raises(models.SpecError, match=r"^algo.sink_tokens=1000: sink_tokens \(1000\) \+ window"):
        models.validate(_algo("pq", sink_tokens=1000), _proxy(**LEE_1K))
    with pytest.raises(models.SpecError, match=r"^algo.window_tokens=3576: sink_tokens \(8\) \+ "
                       r"window_tokens \(3576\) must be < proxy.prefill_tokens \(3584\)$"):
        models.validate(_algo("pq", window_tokens=3576), _proxy())


def test_short_prefill_is_supported_with_its_query_limit() -> None:
    """A prefill under 128 tokens captures that many tail queries; importance_queries is capped there."""
    short = _proxy(seq_tokens=128, prefill_tokens=64, queries_per_seq=16)
    models.validate(_algo("pq", n_centroids=16, window_tokens=16), short)
    with pytest.raises(models.SpecError, match=r"^algo.importance_queries=100: must be <= 64"):
        models.validate(_algo("pq", n_centroids=16, window_tokens=16, importance_queries=100), short)


def test_proxy_defaults_are_the_quick_config() -> None:
    shipped = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    shipped["cache_dir"] = ".cache/pimdse"  # the file's value is ${oc.env:PIMDSE_CACHE_DIR,.cache/pimdse}
    assert parse_proxy({}) == parse_proxy(shipped)
    assert {f.name for f, _ in config_fields(ProxySpec)} == set(shipped)
    assert default_of(next(f for f, _ in config_fields(ProxySpec) if f.name == "layers")) == (10, 26)


def test_every_algorithm_has_one_format() -> None:
    assert set(FORMATS) == set(ALGORITHMS)


def test_cache_keys_are_those_of_the_cached_results() -> None:
    """Keys of the default (wiki, 4K, k-means on 1,024 sampled tokens) quick proxy at CACHE_VERSION 2
    (pq: channel_sort VERSION 3) and the shipped models/quick_fit.json, as recorded: a change that moves
    them must bump a version (or refit) on purpose; scale_bytes (cost model only) does not enter the
    accuracy key."""
    proxy = parse_proxy(_proxy())
    keys = {name: result_key(format_for(parse_algo(_algo(name)), proxy), proxy)
            for name in ("fp16", "uniform", "pq")}
    assert keys == {"fp16": "c356e38cac0e16aff7e9a5aab4474bd6", "uniform": "e50ada897ac7f18d68932b90fe2e9d53",
                    "pq": "7c446dc3b3ed9ac83fbf51429c6dae8d"}
    wide_scales = format_for(parse_algo(_algo("uniform", scale_bytes=4)), proxy)
    assert result_key(wide_scales, proxy) == keys["uniform"]


def test_a_refit_moves_quick_keys_only(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick records carry the calibrated estimate, so a new models/quick_fit.json must not reuse them;
    full-mode records do not depend on it."""
    import models.cache

    quick, full = parse_proxy(_proxy()), parse_proxy(_proxy(mode="full", metric="loss_increase", layers=[]))
    fmt_q, fmt_f = (format_for(parse_algo(_algo("uniform")), p) for p in (quick, full))
    before = result_key(fmt_q, quick), result_key(fmt_f, full)
    refit = tmp_path / "quick_fit.json"
    refit.write_text(models.cache.FIT_FILE.read_text().replace('"points": ', '"points": 1 + '))  # other bytes
    monkeypatch.setattr(models.cache, "FIT_FILE", refit)
    assert result_key(fmt_q, quick) != before[0] and result_key(fmt_f, full) == before[1]


def test_cache_key_ignores_cache_dir_and_device() -> None:
    a = parse_proxy(_proxy(cache_dir="/a"))
    b = parse_proxy(_proxy(cache_dir="/b", model={"source": "gguf", "path": None, "device": "cuda"}))
    assert a.key_dict() == b.key_dict()
    assert a.key_dict() != parse_proxy(_proxy(seed=1)).key_dict()


def test_metric_table_covers_the_contract_and_says_direction_and_unit() -> None:
    assert mode_metrics("quick") == ("neg_attn_loss", "attn_snr_db", "cosine", "neg_rel_err", "neg_attn_kl",
                                     "topk_recall", "attn_rkl", "loss_increase_est")
    assert mode_metrics("full") == ("loss_increase", "ppl_increase_pct", "long_range_loss_increase", "neg_kl",
                                    "neg_ppl_ratio")
    assert mode_metrics("retrieval") == ("retrieval_acc", "answer_nll_increase")
    higher = {name for name, m in METRICS.items() if m.higher_is_better}
    assert higher == {n for n in METRICS if n.startswith("neg_")} | {"attn_snr_db", "cosine", "topk_recall",
                                                                     "retrieval_acc"}
    assert {n: METRICS[n].unit for n in ("loss_increase_est", "loss_increase", "ppl_increase_pct",
                                         "answer_nll_increase", "retrieval_acc")} == {
        "loss_increase_est": "nats/token", "loss_increase": "nats/token", "ppl_increase_pct": "%",
        "answer_nll_increase": "nats/token", "retrieval_acc": ""}
    assert metric_value("neg_kl", {"kl": 0.25}) == -0.25
    assert metric_value("loss_increase", {"loss_increase": 0.5}) == 0.5
    with pytest.raises(KeyError, match="proxy.metric=neg_attn_loss reads 'attn_loss', which the scoring mode "
                       "did not return \\(it returned cosine, rel_err\\)"):
        metric_value("neg_attn_loss", {"rel_err": 0.1, "cosine": 0.9})


def test_each_mode_defaults_to_its_metric_and_the_shipped_files_agree() -> None:
    assert [parse_proxy({"mode": m}).metric for m in ("quick", "full", "retrieval")] == [
        "loss_increase_est", "loss_increase", "retrieval_acc"]
    for name, mode, n_seqs in (("quick", "quick", 1), ("full", "full", 4), ("retrieval", "retrieval", 1)):
        cfg = yaml.safe_load((ROOT / "conf" / "proxy" / f"{name}.yaml").read_text()) | {"cache_dir": "/x"}
        p = parse_proxy(cfg)
        assert (p.mode, p.metric, p.text.source, p.seq_tokens, p.prefill_tokens, p.n_seqs) == (
            mode, DEFAULT_METRIC[mode], "wiki", 4096, 3584, n_seqs)
        assert p.retrieval == RetrievalSpec()
    assert RetrievalSpec() == RetrievalSpec(lengths=(2048, 4096, 8192), depths_pct=(10, 50, 90), keys=(1, 4),
                                            prompts_per_cell=2)


def test_the_default_length_takes_1024_centroids_and_the_limit_is_one_line() -> None:
    """Prefill 3,584 tokens minus 8 sinks leaves 3,576 for k-means (was 760 at the 1K default)."""
    for proxy in ("quick", "full", "retrieval"):
        cfg = yaml.safe_load((ROOT / "conf" / "proxy" / f"{proxy}.yaml").read_text()) | {"cache_dir": "/x"}
        models.validate(_algo("pq", n_centroids=1024), cfg)
    with pytest.raises(models.SpecError) as e:
        models.validate(_algo("pq", n_centroids=3577), _proxy())
    assert str(e.value) == "algo.n_centroids=3577: must be <= prefill tokens available for k-means (3576)"


def test_the_default_split_fits_the_wiki_dump_at_4k() -> None:
    """Calibration: 2 sequences from article 0 (15,111 tokens); evaluation: 125 sequences after it."""
    plan = plan_documents(document_tokens(parse_proxy(_proxy())), 4096, 2, 4, DEFAULT_WIKI)
    assert plan.calib == (DocumentCut(0, 2),) and sum(c.seqs for c in plan.eval) == 4
    with pytest.raises(models.SpecError, match=r"^proxy.text.calib_seqs=128: must be <= 125"):
        models.validate(_algo("fp16"), _proxy(text={"source": "wiki", "path": None, "calib_seqs": 128,
                                                    "eval_offset_tokens": 0}))


def test_known_wiki_article_counts_are_the_real_ones() -> None:
    """Validation of the default text reads the known counts; the tokenizer gives the same."""
    spec = parse_proxy(_proxy())
    tokenizer = load_tokenizer("gguf", model_path(spec))
    counted = tuple(len(tokenizer(a).input_ids) for a in read_articles(corpus_path(spec)))
    known = KNOWN_DOCUMENT_TOKENS[("SmolLM2-135M-Instruct.Q4_1.gguf", 98362432, DEFAULT_WIKI, 1695871)]
    assert counted == document_tokens(spec) == known
    assert len(counted) == 106 and sum(counted) == 720473


def test_retrieval_settings_key_only_retrieval_results() -> None:
    quick = parse_proxy(_proxy())
    assert quick.key_dict() == parse_proxy(_proxy(retrieval={"keys": [1]})).key_dict()
    ret = _proxy(mode="retrieval", metric="retrieval_acc")
    assert parse_proxy(ret).key_dict()["retrieval"]["keys"] == (1, 4)
    assert parse_proxy(ret).key_dict() != parse_proxy(ret | {"retrieval": {"keys": [1]}}).key_dict()


def test_accuracy_records_round_trip_with_their_unit() -> None:
    acc = Accuracy("loss_increase", 0.125, False, {"loss_increase": 0.125}, 3, "full", "nats/token")
    assert Accuracy.from_dict(json.loads(json.dumps(acc.to_dict()))) == acc
    old = {"name": "neg_kl", "value": -0.5, "higher_is_better": True, "metrics": {"kl": 0.5}, "refreshes": 0,
           "mode": "full"}  # a record written before `unit` existed
    assert Accuracy.from_dict(old).unit == "nats/token"
    assert Accuracy.from_dict(old | {"name": "snr"}, cached=True).unit == ""


@pytest.mark.parametrize(("mode", "metric", "value", "higher", "unit"), [
    ("retrieval", "retrieval_acc", 0.75, True, ""),
    ("retrieval", "answer_nll_increase", 0.25, False, "nats/token"),
    ("quick", "loss_increase_est", 0.125, False, "nats/token"),
    ("quick", "neg_attn_loss", -0.5, True, ""),
])
def test_score_dispatches_the_mode_and_reads_direction_and_unit_from_the_table(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str, metric: str, value: float, higher: bool,
        unit: str) -> None:
    metrics = {"retrieval_acc": 0.75, "answer_nll_increase": 0.25, "loss_increase_est": 0.125,
               "attn_loss": 0.5}
    seen = []

    def fake(fmt: object, spec: ProxySpec) -> ModeResult:
        seen.append(spec.mode)
        return ModeResult(metrics, 2)

    monkeypatch.setitem(sys.modules, "models.retrieval", types.SimpleNamespace(score_retrieval=fake))
    monkeypatch.setattr(models.quick, "score_quick", fake)
    cfg = _proxy(mode=mode, metric=metric, cache_dir=str(tmp_path), result_cache=False)
    acc = models.score(_algo("uniform", bits=4), cfg)
    assert seen == [mode]
    assert (acc.name, acc.value, acc.higher_is_better, acc.unit, acc.mode, acc.refreshes) == (
        metric, value, higher, unit, mode, 2)
    assert acc.to_dict()["unit"] == unit and not list(tmp_path.iterdir())


def test_retrieval_checks_the_algorithm_at_the_shortest_prompt() -> None:
    """Each prompt but its last token is compressed: 2,048-token prompts leave 2,047 - 8 sinks = 2,039
    tokens for k-means, below the 3,576 the quick geometry allows."""
    ret = _proxy(mode="retrieval", metric="retrieval_acc")
    models.validate(_algo("pq", n_centroids=2039), ret)
    models.validate(_algo("pq", n_centroids=3000), _proxy())
    with pytest.raises(models.SpecError) as e:
        models.validate(_algo("pq", n_centroids=3000), ret)
    assert str(e.value) == "algo.n_centroids=3000: must be <= prefill tokens available for k-means (2039)"
    models.validate(_algo("pq", n_centroids=3000), ret | {"retrieval": {"lengths": [4096, 8192]}})
