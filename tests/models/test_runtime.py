"""The model runtime: own Llama forward vs transformers' reference, GGUF layout, bad model paths."""

from pathlib import Path

import numpy as np
import pytest
import torch

from models.errors import ModelLoadError
from models.llama import forward, logits
from models.loader import _unpermute_gguf_qk, load_hf_dir


def _llamacpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """The Q/K row permutation llama.cpp's HF->GGUF converter applies (rotate-half -> interleaved)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def test_gguf_unpermute_inverts_the_converter() -> None:
    w = np.arange(4 * 8 * 3, dtype=np.float32).reshape(4 * 8, 3)
    assert np.array_equal(_unpermute_gguf_qk(_llamacpp_permute(w, 4), 4), w)
    assert not np.array_equal(_llamacpp_permute(w, 4), w)


@pytest.fixture(scope="module")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
                      max_position_embeddings=128, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).eval()
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    (path / "tokenizer_missing").write_text("")  # tokenizer is not needed for the forward check
    return path


def test_forward_matches_transformers_llama(tiny_hf_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoTokenizer, LlamaForCausalLM

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", staticmethod(lambda *a, **k: None))
    loaded = load_hf_dir(tiny_hf_dir)
    ref = LlamaForCausalLM.from_pretrained(tiny_hf_dir).eval()
    ids = torch.randint(0, 97, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref(ids).logits
    got = logits(loaded.weights, forward(loaded.weights, ids))
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_forward_with_past_equals_one_pass(tiny_hf_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoTokenizer

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", staticmethod(lambda *a, **k: None))
    w = load_hf_dir(tiny_hf_dir).weights
    ids = torch.randint(0, 97, (1, 20), generator=torch.Generator().manual_seed(2))
    past: list[tuple[torch.Tensor, torch.Tensor]] = []
    forward(w, ids[:, :12], on_qkv=lambda i, q, k, v: past.append((k, v)))
    assert torch.allclose(forward(w, ids[:, 12:], past=past), forward(w, ids)[:, 12:], atol=1e-5)


def test_model_dir_that_is_not_a_causal_lm(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}')
    with pytest.raises(ModelLoadError, match="proxy.model.path.*not a supported causal LM"):
        load_hf_dir(tmp_path)


def test_model_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_hf_dir(tmp_path / "nope")


def test_rope_tables_live_on_the_positions_device() -> None:
    """A cuda forward builds its RoPE tables there (checked on the meta device, which needs no GPU)."""
    from models.llama import rope_cos_sin

    cos, sin = rope_cos_sin(torch.arange(5, device="meta"), 8, 1e4)
    assert cos.device.type == sin.device.type == "meta" and cos.shape == (5, 8)
