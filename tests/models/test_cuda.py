"""proxy.model.device=cuda: the model forward (capture, full mode) runs on the GPU and gives the CPU's
numbers to float rounding. Skipped where torch sees no CUDA device."""

from pathlib import Path

import pytest
import torch

import models

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="torch sees no CUDA device here (torch.cuda.is_available() is False)")


def _on(tiny_proxy: dict, device: str, cache_dir: Path, **over: object) -> dict:
    """The tiny proxy on `device` with its own cache: captures are keyed without the device, so a
    shared cache would hand the GPU run the CPU's activations and never run the forward on it."""
    model = tiny_proxy["model"] | {"device": device}
    return tiny_proxy | {"model": model, "cache_dir": str(cache_dir), "result_cache": False} | over


def test_cuda_is_accepted_and_cuda_n_is_checked(tiny_proxy: dict, algo_cfg, tmp_path: Path) -> None:
    models.validate(algo_cfg("fp16"), _on(tiny_proxy, "cuda", tmp_path))
    n = torch.cuda.device_count()
    with pytest.raises(models.SpecError, match=rf"^proxy.model.device=.cuda:{n}.: torch sees {n} CUDA"):
        models.validate(algo_cfg("fp16"), _on(tiny_proxy, f"cuda:{n}", tmp_path))


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_a_tiny_proxy_on_cuda_gives_the_cpu_numbers(tiny_proxy: dict, algo_cfg, tmp_path: Path, mode: str
                                                    ) -> None:
    over = {"mode": mode, "metric": "neg_kl", "layers": [], "n_seqs": 1} if mode == "full" else {}
    algo = algo_cfg("uniform", bits=4, window_tokens=8)
    cpu = models.score(algo, _on(tiny_proxy, "cpu", tmp_path / "cpu", **over))
    gpu = models.score(algo, _on(tiny_proxy, "cuda", tmp_path / "cuda", **over))
    assert gpu.metrics.keys() == cpu.metrics.keys() and gpu.name == cpu.name
    for key, value in cpu.metrics.items():
        assert gpu.metrics[key] == pytest.approx(value, rel=1e-3, abs=1e-5), key
