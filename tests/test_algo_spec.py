"""Both rooms see the same algorithm: every conf/algo file, with and without each optional key, is
parsed once by spec.algo and the cost model (hw/) and the accuracy proxy (models/) hold that spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import hw
from hw.presets import load_preset
from models.formats import FORMATS as MODEL_FORMATS
from models.formats import format_for
from models.spec import parse_proxy
from spec.algo import ALGORITHMS, parse_algo
from spec.fields import config_fields, default_of, has_default

ALGO_DIR = Path(__file__).resolve().parent.parent / "conf" / "algo"
ALGO_FILES = sorted(ALGO_DIR.glob("*.yaml"))


def variants(cfg: dict) -> list[tuple[str, dict]]:
    """The file as shipped, then the file without each key that has a default."""
    cls = ALGORITHMS[cfg["name"]]
    optional = [f.name for f, _ in config_fields(cls) if has_default(f) and f.name in cfg]
    dropped = [(f"without {k}", {x: v for x, v in cfg.items() if x != k}) for k in optional if k != "name"]
    return [("as shipped", cfg), *dropped]


def both_rooms(algo_cfg: dict):
    model = load_preset("model", "mistral_7b")
    workload = load_preset("workload", "default")
    _, hw_format, _ = hw.build(load_preset("hw", "aqpim_hbm3"), algo_cfg, model, workload)
    proxy = parse_proxy(load_preset("proxy", "quick"))
    return hw_format.algo, format_for(parse_algo(algo_cfg), proxy).algo


def test_every_algorithm_file_is_found():
    assert {p.stem for p in ALGO_FILES} == set(ALGORITHMS) == set(MODEL_FORMATS) == set(hw.FORMATS)


@pytest.mark.parametrize("path", ALGO_FILES, ids=lambda p: p.stem)
def test_hw_and_models_hold_the_same_spec_with_and_without_each_optional_key(path):
    cfg = yaml.safe_load(path.read_text())
    cls = ALGORITHMS[cfg["name"]]
    for label, variant in variants(cfg):
        hw_algo, models_algo = both_rooms(variant)
        assert type(hw_algo) is cls and hw_algo == models_algo, label
        for f, _ in config_fields(cls):
            expected = variant[f.name] if f.name in variant else default_of(f)
            assert getattr(hw_algo, f.name) == expected, f"{label}: {f.name}"


@pytest.mark.parametrize("path", ALGO_FILES, ids=lambda p: p.stem)
def test_shipped_files_set_the_spec_defaults(path):
    """conf/algo and the spec defaults agree, so omitting a key never changes the algorithm."""
    cfg = yaml.safe_load(path.read_text())
    defaults = {f.name: default_of(f) for f, _ in config_fields(ALGORITHMS[cfg["name"]]) if has_default(f)}
    assert {k: v for k, v in cfg.items() if k in defaults} == {k: defaults[k] for k in cfg if k in defaults}
