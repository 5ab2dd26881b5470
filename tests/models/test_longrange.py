"""Long-range tokens: the short-context NLL, the rule, and the loss increase restricted to them."""

import pytest
import torch

from models.full import long_range_metrics
from models.llama import forward
from models.longrange import LongRangeRule, long_range, short_context_nll, token_nll
from models.runtime import get_model
from models.spec import ModelSpec

TEXT = ("The harbour master of Vellington is Oskar Brandt. The town has a market, a church and a "
        "small school. Fishing boats leave before dawn and return at noon. "
        "The harbour master of Vellington is Oskar")


@pytest.fixture(scope="module")
def model():
    return get_model(ModelSpec())


@pytest.fixture(scope="module")
def weights(model):
    return model.weights


@pytest.fixture(scope="module")
def ids(model) -> torch.Tensor:
    return torch.tensor([model.tokenizer(TEXT).input_ids])


def test_long_range_metrics_by_hand() -> None:
    nll = torch.tensor([[2.0, 3.0, 1.5], [4.0, 1.0, 2.5]], dtype=torch.float64)
    ref = torch.tensor([[1.5, 3.0, 1.0], [3.0, 1.0, 2.5]], dtype=torch.float64)
    mask = torch.tensor([[True, False, True], [True, False, False]])
    m = long_range_metrics(nll, ref, mask)
    assert m["long_range_loss_increase"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert m["long_range_tokens"] == 3 and m["long_range_share"] == pytest.approx(0.5)
    assert long_range_metrics(nll, ref, torch.zeros_like(mask))["long_range_loss_increase"] == 0.0


def test_a_window_covering_the_prefix_reads_the_whole_context(weights, ids) -> None:
    """sinks + window reaching back to token 0: the short context is the full one, nothing is long-range."""
    prefill = 20
    full = token_nll(weights, forward(weights, ids)[:, prefill:-1], ids[:, prefill + 1:])
    short = short_context_nll(weights, ids, prefill, LongRangeRule(sinks=2, window=64, chunk=3))
    assert short.shape == full.shape == (1, ids.shape[1] - prefill - 1)
    assert torch.allclose(short, full, atol=1e-3)


def test_each_position_sees_sinks_and_its_recent_window(weights, ids) -> None:
    """Chunk 1: position p reads exactly the sinks and tokens p - window .. p (checked one by one)."""
    prefill, rule = 16, LongRangeRule(sinks=2, window=5, chunk=1)
    short = short_context_nll(weights, ids, prefill, rule)
    for p in range(prefill, ids.shape[1] - 1):
        ctx = torch.cat([ids[:, :2], ids[:, p - 5:p + 1]], dim=1)
        one = token_nll(weights, forward(weights, ctx)[:, -1:], ids[:, p + 1:p + 2])
        assert short[0, p - prefill].item() == pytest.approx(one.item(), abs=1e-3)


def test_rule_and_cache(weights, ids, tmp_path) -> None:
    prefill = 16
    hidden = forward(weights, ids)[:, prefill:]
    rule = LongRangeRule(sinks=2, window=4, chunk=4, margin_nats=0.5)
    first = long_range(weights, ids, hidden, prefill, rule, tmp_path, "capture-digest")
    assert torch.equal(first.mask, first.nll_short - first.nll_full >= 0.5)
    assert bool(first.mask.any())  # the repeated sentence: its first copy makes the name far likelier
    again = long_range(weights, ids, hidden, prefill, rule, tmp_path, "capture-digest")
    assert torch.equal(again.nll_short, first.nll_short)
    assert len(list((tmp_path / "activations").glob("longrange-*.safetensors"))) == 1
