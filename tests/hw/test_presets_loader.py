"""hw.presets: conf/ files as fresh dicts, overrides at nested paths."""

from hw.presets import load_preset, preset_parts


def test_overrides_set_nested_keys_and_leave_the_preset_untouched():
    hw_cfg, algo, model, workload = preset_parts(
        "aqpim_hbm3", "pq", "llama2_7b", {"hw.pim.stacks": 3, "algo.n_centroids": 64}
    )
    assert hw_cfg["pim"]["stacks"] == 3 and algo["n_centroids"] == 64
    assert model["n_layers"] == 32 and workload["context_tokens"] == 32768
    hw_cfg["pim"]["channels_per_stack"] = 1
    fresh = load_preset("hw", "aqpim_hbm3")
    assert fresh["pim"]["stacks"] == 8 and fresh["pim"]["channels_per_stack"] == 16


def test_separator_is_configurable():
    hw_cfg = preset_parts(overrides={"hw__pim__stacks": 2}, sep="__")[0]
    assert hw_cfg["pim"]["stacks"] == 2
