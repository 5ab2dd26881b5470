"""Energy per decode step split by component: the parts sum to the total, and hand-computed cases."""

import json

import numpy as np
import pytest
from hwpoints import CONF, point

import hw
from hw.energy import COMPONENTS
from hw.presets import isolated_mapping

PRESETS = sorted(p.stem for p in (CONF / "hw").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("algo", ["fp16", "uniform", "pq", "cluster_sparse"])
def test_components_sum_to_the_step_energy(preset, algo):
    c = hw.evaluate(*hw.build(*point(hw=preset, algo=algo)))
    parts = c.energy_by_component
    assert set(parts) == set(COMPONENTS)
    assert min(parts.values()) >= 0
    assert sum(parts.values()) == pytest.approx(c.energy_j, rel=1e-12)


def test_components_of_a_spilling_grid_sum_elementwise():
    batch = np.array([1.0, 64.0])  # Mistral-7B at 32K: 4 GiB fits 128 GiB, 256 GiB spills over PCIe5
    c = hw.evaluate(*hw.build(*point(algo="fp16", workload__batch=batch)))
    parts = c.energy_by_component
    assert np.allclose(sum(parts.values()), c.energy_j, rtol=1e-12)
    assert parts["host_memory"][0] == 0 and parts["host_memory"][1] > 0


def test_pim_gemv_energy_by_hand():
    mapping = isolated_mapping(lm_head="pim")
    cfg = point(
        algo="fp16",
        hw__pim__stacks=1,
        hw__pim__channels_per_stack=1,
        hw__mapping=mapping,
        model__n_layers=1,
        model__hidden_size=4096,
        model__vocab_size=4096,
    )
    parts = hw.evaluate(*hw.build(*cfg)).energy_by_component
    # 4096 x 4096 FP16 = 32 MiB over 64 banks: 512 rows opened in each (1 KiB, 0.11 pJ/bit), every
    # bit read from cells (0.44 pJ/bit) into the bank PE (no wire beyond the bank), one MAC a weight.
    assert parts["act_pre"] == pytest.approx(64 * 512 * 1024 * 8 * 0.11e-12, rel=1e-12)
    assert parts["cell"] == pytest.approx(4096 * 4096 * 2 * 8 * 0.44e-12, rel=1e-12)
    assert parts["fp16_ops"] == pytest.approx(4096 * 4096 * 0.32e-12, rel=1e-12)
    # The 8 KiB input vector goes down to the bank PEs of both pCHs: TSV, global I/O, bank-group mux.
    down_bits = 2 * 4096 * 2 * 8
    assert parts["tsv"] == pytest.approx(down_bits * 0.5e-12, rel=1e-12)
    assert parts["bg_to_gio"] == pytest.approx(down_bits * 1.23e-12, rel=1e-12)
    assert parts["bank_to_bg"] == pytest.approx(down_bits * 1.01e-12, rel=1e-12)
    assert parts["interposer"] == parts["link"] == parts["gpu"] == 0


def test_offload_energy_is_the_link_host_memory_and_gpu():
    c = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", algo="fp16")))
    parts = c.energy_by_component
    kv_bits = 4 * (1 << 30) * 8  # Mistral-7B FP16 KV at 32K tokens
    assert parts["link"] == pytest.approx(kv_bits * 5.0e-12, rel=1e-12)  # PCIe 5 pJ/bit (preset)
    assert parts["host_memory"] == pytest.approx(kv_bits * 20.0e-12, rel=1e-12)  # DDR5 20 pJ/bit
    assert parts["gpu"] == pytest.approx(c.energy_j - parts["link"] - parts["host_memory"], rel=1e-12)
    assert parts["cell"] == 0


def test_static_power_is_its_own_component():
    c = hw.evaluate(*hw.build(*point(hw__gpu__static_power_w=100.0)))
    assert c.energy_by_component["static"] == pytest.approx(100.0 * c.latency_s, rel=1e-12)


def test_to_dict_reports_components_and_keeps_the_old_keys():
    d = hw.evaluate(*hw.build(*point())).to_dict()
    json.dumps(d)
    assert sum(d["energy_by_component"].values()) == pytest.approx(d["energy_j"], rel=1e-12)
    assert {"energy_j", "energy_by_device", "kernels", "breakdown", "power_w"} <= set(d)
