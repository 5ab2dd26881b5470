"""Config validation: bad input gives one-line errors that name the field."""

import tempfile
from pathlib import Path

import pytest
import torch
import yaml

import models
import spec
from models.cache import result_key
from models.formats import FORMATS, format_for
from models.spec import ProxySpec, parse_proxy
from spec.algo import ALGORITHMS, parse_algo
from spec.fields import config_fields, default_of

ROOT = Path(__file__).resolve().parents[2]


def _algo(name: str, **over: object) -> dict:
    d = yaml.safe_load((ROOT / "conf" / "algo" / f"{name}.yaml").read_text())
    return d | over


def _proxy(**over: object) -> dict:
    d = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    d["cache_dir"] = str(Path(tempfile.gettempdir()) / "pimdse-never-used")  # validation creates nothing
    return d | over


@pytest.mark.parametrize("name", ["fp16", "uniform", "pq", "cluster_sparse"])
def test_shipped_algo_configs_validate(name: str) -> None:
    models.validate(_algo(name), _proxy())


@pytest.mark.parametrize(("algo", "proxy", "field"), [
    (_algo("pq", subvector_dim=5), {}, "algo.subvector_dim"),
    (_algo("pq", n_centroids=2048), {}, "algo.n_centroids"),
    (_algo("pq", window_tokens=800), {}, "algo.window_tokens"),
    (_algo("pq", refresh="sometimes"), {}, "algo.refresh"),
    (_algo("pq", kmeans_iters=0), {}, "algo.kmeans_iters"),
    (_algo("pq", importance_queries=4096), {}, "algo.importance_queries"),
    (_algo("pq", colour="red"), {}, "algo.colour"),
    (_algo("uniform", bits=0), {}, "algo.bits"),
    (_algo("uniform", bits=12), {}, "algo.bits"),
    ({"name": "magic"}, {}, "algo.name"),
    (_algo("fp16"), {"prefill_tokens": 2048}, "proxy.prefill_tokens"),
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
    ({"n_seqs": 1000}, "proxy.n_seqs", "must be <= 71: lee_background.cor has 75680 tokens"),
    ({"text": {"eval_offset_tokens": 10**6}}, "proxy.text.eval_offset_tokens", "must be <= 72608"),
    ({"text": {"calib_seqs": 80}}, "proxy.text.calib_seqs", "must be <= 72"),
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
        models.validate(_algo("pq", sink_tokens=1000), _proxy())
    with pytest.raises(models.SpecError, match=r"^algo.window_tokens=760: "):
        models.validate(_algo("pq", window_tokens=760), _proxy())


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
    """Keys recorded before the formats moved onto spec.algo: cached results and figures stay valid;
    scale_bytes (cost model only) does not enter the accuracy key."""
    proxy = parse_proxy(_proxy())
    keys = {name: result_key(format_for(parse_algo(_algo(name)), proxy), proxy)
            for name in ("fp16", "uniform", "pq")}
    assert keys == {"fp16": "c19c63fae8dc0ee01182d6ff1450deba", "uniform": "1367f106a10ca93e97de0632b8e275ff",
                    "pq": "9cfe0fb9097f2f0aa7372eb62ef7cf69"}
    wide_scales = format_for(parse_algo(_algo("uniform", scale_bytes=4)), proxy)
    assert result_key(wide_scales, proxy) == keys["uniform"]


def test_cache_key_ignores_cache_dir_and_device() -> None:
    a = parse_proxy(_proxy(cache_dir="/a"))
    b = parse_proxy(_proxy(cache_dir="/b", model={"source": "gguf", "path": None, "device": "cuda"}))
    assert a.key_dict() == b.key_dict()
    assert a.key_dict() != parse_proxy(_proxy(seed=1)).key_dict()
