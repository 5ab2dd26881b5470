"""Config validation: bad input gives one-line errors that name the field."""

import pytest
import yaml

import models
from models.spec import parse_proxy

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _algo(name: str, **over: object) -> dict:
    d = yaml.safe_load((ROOT / "conf" / "algo" / f"{name}.yaml").read_text())
    return d | over


def _proxy(**over: object) -> dict:
    d = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    d["cache_dir"] = "/nonexistent-never-used"
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


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(models.SpecError, ValueError)


def test_cache_key_ignores_cache_dir_and_device() -> None:
    a = parse_proxy(_proxy(cache_dir="/a"))
    b = parse_proxy(_proxy(cache_dir="/b", model={"source": "gguf", "path": None, "device": "cuda"}))
    assert a.key_dict() == b.key_dict()
    assert a.key_dict() != parse_proxy(_proxy(seed=1)).key_dict()
