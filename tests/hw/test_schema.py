"""The schema printed by hw.schema is the specs' own: every key documented and bounded, the docs table
generated from it, and the defaults it names are the ones a build applies."""

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hwpoints import point

import hw
from hw import schema
from hw.model_shape import ModelShape
from hw.system import System
from hw.workload import Workload
from spec.algo import ALGORITHMS
from spec.fields import Rule, config_fields

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "hw.md"


def all_rules(cls: type, path: str) -> list[tuple[str, Rule]]:
    """Every (dotted key, rule) of a spec class, nested sections included."""
    out = []
    for f, rule in config_fields(cls):
        out.append((f"{path}.{f.name}", rule))
        if rule.spec is not None:
            out += all_rules(rule.spec, f"{path}.{f.name}")
    return out


RULES = all_rules(System, "hw") + all_rules(ModelShape, "model") + all_rules(Workload, "workload")


def test_docs_table_is_the_generated_one():
    text = DOCS.read_text()
    begin, end = text.index(schema.DOCS_BEGIN), text.index(schema.DOCS_END) + len(schema.DOCS_END)
    assert text[begin:end] == schema.docs_block(), (
        "docs/hw.md's key table is stale: run `python -m hw.schema --update-docs docs/hw.md`"
    )


@pytest.mark.parametrize(("key", "rule"), RULES, ids=[k for k, _ in RULES])
def test_every_key_has_a_doc_and_every_number_both_bounds(key, rule):
    assert rule.doc and "\n" not in rule.doc
    if rule.kind == "number":
        assert rule.gt is not None or rule.ge is not None, key
        assert rule.le is not None, key
        assert "<= " in rule.allowed() and ">" in rule.allowed()


def test_every_number_is_bounded_away_from_zero_where_it_divides():
    """Rates, clocks, periods and efficiencies divide work: their lower bound is positive."""
    divisors = [
        k for k, r in RULES if k.endswith(("_hz", "_per_s", "efficiency", "tck_s", "t_mvm_s", "peak_flops"))
    ]
    assert len(divisors) == 10
    for key in divisors:
        rule = dict(RULES)[key]
        assert (rule.ge is not None and rule.ge > 0) or (rule.gt is not None and rule.gt >= 0), key


def test_a_section_prints_only_its_keys(capsys):
    assert schema.main(["hw.pim.timings"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "hw.pim.timings (conf/hw)"
    keys = [line.split()[0] for line in lines[2:]]
    assert keys[0] == "hw.pim.timings" and len(keys) == 22
    assert all(k.startswith("hw.pim.timings") for k in keys)
    assert "tck_s" in lines[3] and ">= 1e-11, <= 1e-06" in lines[3]


def test_a_pe_placement_selects_the_pe_keys(capsys):
    assert schema.main(["hw.pim.pe.buffer_die"]) == 0
    keys = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]]
    assert len(keys) == 14 and all(k.startswith("hw.pim.pe.<bank|bank_group|buffer_die>.") for k in keys)
    assert schema.main(["hw.pim.pe.bank_die"]) == 2


def test_algo_prints_every_algorithm(capsys):
    assert schema.main(["algo", "--markdown"]) == 0
    out = capsys.readouterr().out
    titles = [line for line in out.splitlines() if line.startswith("#### ")]
    assert titles == [f"#### algo.{n} (conf/algo, name: {n})" for n in ALGORITHMS]
    assert {"fp16", "uniform", "pq", "cluster_sparse"} <= set(ALGORITHMS)
    assert "| algo.n_centroids |  | 512 | >= 2, <= 65536, integer |" in out


def test_an_unknown_section_is_one_line_naming_the_known_ones(capsys):
    assert schema.main(["hw.pim.timing"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("pimdse-schema: error: section='hw.pim.timing': not a config section; known: hw, ")
    assert "hw.pim.timings" in err


def test_update_docs_rewrites_only_the_block(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{schema.DOCS_BEGIN}\nold table\n{schema.DOCS_END}\noutro\n")
    assert schema.main(["--update-docs", str(doc)]) == 0
    assert doc.read_text() == f"intro\n{schema.docs_block()}\noutro\n"


def test_console_script_is_declared_and_the_module_runs():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["pimdse-schema"] == "hw.schema:main"
    run = subprocess.run(
        [sys.executable, "-m", "hw.schema", "workload"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert run.stdout.splitlines()[0] == "workload (conf/workload)"
    assert [line.split()[0] for line in run.stdout.splitlines()[2:]] == [
        "workload.context_tokens",
        "workload.batch",
        "workload.decode_steps",
    ]


def test_derived_defaults_are_the_ones_the_schema_names():
    rows = {r.key: r.default for t in schema.tables()[:3] for r in t.rows}
    assert rows["hw.pim.gemv_pe"] == "attention_pe"
    assert rows["hw.pim.move_interval_cycles"] == "timings.t_ccd_s_cycles"
    assert rows["model.op_weight_bits.lm_head"] == "weight_bits"
    hw_cfg, algo, model, workload = point(hw="gddr6_aim", model="bitnet_b158_2b")
    for key in ("gemv_pe", "move_interval_cycles"):
        hw_cfg["pim"].pop(key, None)
    system, _, wl = hw.build(hw_cfg, algo, model, workload)
    assert system.pim.gemv_pe == system.pim.attention_pe == "bank"
    assert system.pim.move_interval_cycles == system.pim.timings.t_ccd_s_cycles == 2
    assert wl.model.op_weight_bits == {"qkv_proj": 1.58, "o_proj": 1.58, "ffn": 1.58, "lm_head": 16}


def test_plain_defaults_are_applied():
    hw_cfg, algo, model, workload = point()
    del hw_cfg["gpu"]["static_power_w"], hw_cfg["pim"]["pe"]["bank"]["area_mm2_per_lane"]
    del hw_cfg["pim"]["refresh"], hw_cfg["mapping"]["overlap"], hw_cfg["pim"]["link"]["kind"]
    system = hw.build(hw_cfg, algo, model, workload)[0]
    assert system.gpu.static_power_w == 0.0
    assert system.pim.pes["bank"].area_mm2_per_lane == 0.0 and system.pim.pes["bank"].cycles_per_mac == 1.0
    assert system.pim.refresh is True and system.mapping.overlap is False and system.mapping.prefill_overlap
    assert system.pim.link.kind == "link"


def test_whole_numbers_are_held_as_floats_and_grids_as_float_arrays():
    system, _, wl = hw.build(*point(hw__pim__stacks=np.array([1, 2]), workload__batch=3))
    assert type(system.pim.channels_per_stack) is float and type(wl.batch) is float
    assert system.pim.stacks.dtype == np.float64
