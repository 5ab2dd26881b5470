"""The analog datapath on the real model (SmolLM2-135M, 16 tokens of held-out news text): a lossless
crossbar costs only the input quantisation, a 1-bit ADC breaks the model, results are cached."""

import pytest

from models.analog import METRICS, score_datapath

LOSSLESS = dict(rows_per_tile=256, cols_per_tile=256, cells_per_weight=2, input_bits=16, dac_bits=1,
                adc_bits=16)
SHORT = {"seq_tokens": 16, "n_seqs": 1, "weight_bits": 8, "adc_range": "full_scale"}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    return {"cache_dir": str(tmp_path_factory.mktemp("datapath-cache"))}


def test_lossless_datapath_is_the_mapped_model_and_cached(proxy):
    acc = score_datapath(LOSSLESS, ["qkv_proj", "o_proj", "ffn"], proxy, SHORT)
    m = acc.metrics
    assert set(m) == set(METRICS) and not acc.cached
    # 16-bit inputs on a 16-bit ADC: only the input rounding (1 part in 32767 of each token's max) is left.
    assert abs(acc.value) < 1e-3 and m["kl"] < 1e-4 and m["top1_agree"] == 1.0
    # 8-bit per-channel weights cost little; the total is the weights' share plus the datapath's.
    assert 0 < m["weight_kl"] < 0.05
    assert m["loss_increase_vs_exact"] == pytest.approx(m["weight_loss_increase"] + acc.value, abs=1e-9)
    again = score_datapath(LOSSLESS, ["ffn", "o_proj", "qkv_proj"], proxy, SHORT)  # operator order is not key
    assert again.cached and again.to_dict() == acc.to_dict()
    assert acc.to_dict()["higher_is_better"] is False and acc.to_dict()["unit"] == "nats/token"


def test_one_bit_adc_breaks_the_model(proxy):
    acc = score_datapath(LOSSLESS | {"adc_bits": 1, "input_bits": 8}, ["ffn"], proxy, SHORT)
    assert acc.value > 1.0 and acc.metrics["top1_agree"] < 0.5
    assert acc.metrics["ppl_emulated"] > 2 * acc.metrics["ppl_mapped"]
