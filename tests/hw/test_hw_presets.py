"""Every preset builds, costs and cites its sources; the published figures they encode hold."""

import re
from pathlib import Path

import pytest
from hwpoints import CONF, point

import hw

PRESETS = sorted(p.stem for p in (CONF / "hw").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
REQUIRED = {
    "aqpim_hbm3",
    "gpu_offload_pcie",
    "attacc_hbm3_bank",
    "attacc_hbm3_bankgroup",
    "attacc_hbm3_bufferdie",
    "hbm2_pim_aquabolt",
    "gddr6_aim",
    "upmem_dimm",
    "starc_hbm_pim",
    "pimllm_edge",
}


def test_the_issue_presets_exist():
    assert set(PRESETS) >= REQUIRED
    assert {"llama2_7b", "mistral_7b", "llama32_3b", "smollm2_135m", "bitnet_b158_2b"} <= set(MODELS)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("algo", ["fp16", "uniform", "pq", "cluster_sparse"])
def test_every_preset_costs_every_format(preset, algo):
    c = hw.evaluate(*hw.build(*point(hw=preset, algo=algo)))
    assert c.latency_s > 0
    assert c.energy_j > 0
    assert c.kv_bytes > 0
    assert c.max_context_tokens > 0
    assert sum(k.seconds for k in c.kernels.values()) >= c.latency_s * (1 - 1e-12)
    for name, k in c.kernels.items():
        assert k.seconds >= 0, name
        assert k.bound in {
            "compute",
            "internal_bw",
            "activation",
            "command",
            "link",
            "memory_bw",
            "hidden",
            "none",
        }


@pytest.mark.parametrize(
    "path", sorted((CONF / "hw").glob("*.yaml")) + sorted((CONF / "model").glob("*.yaml"))
)
def test_every_number_in_conf_cites_a_source_or_says_estimate(path: Path):
    """A numeric leaf needs a comment on its line, or sits in a block whose header line has one."""
    block_comment = False
    for line in path.read_text().splitlines():
        body, _, comment = line.partition("#")
        if not body.strip():
            continue
        if body.rstrip().endswith(":"):
            block_comment = bool(comment.strip()) if body.startswith("  ") else False
            continue
        value = body.split(":", 1)[1].strip() if ":" in body else ""
        if re.fullmatch(r"-?[0-9][0-9.e+\-_]*", value):
            assert comment.strip() or block_comment, f"{path.name}: '{line.strip()}' has no source"


def test_aquabolt_loses_a_quarter_of_its_capacity_to_the_pcus():
    system, _, _ = hw.build(*point(hw="hbm2_pim_aquabolt"))
    assert system.pim.capacity_bytes / system.pim.stacks == pytest.approx(6 * (1 << 30), rel=1e-3)
