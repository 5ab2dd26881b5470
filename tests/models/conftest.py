"""Shared fixtures: a tiny real-model proxy config whose activation capture is made once per session."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _algo_cfg(name: str, **over: object) -> dict:
    return yaml.safe_load((ROOT / "conf" / "algo" / f"{name}.yaml").read_text()) | over


@pytest.fixture(scope="session")
def algo_cfg():
    """algo_cfg(name, **overrides) -> the shipped conf/algo/<name>.yaml as a dict, with overrides."""
    return _algo_cfg


@pytest.fixture(scope="session")
def tiny_proxy(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Real SmolLM2 on real text, kept small: 2 sequences x 320 tokens of the news text, 2 layers, scored
    by neg_attn_loss (every setting explicit: the shipped defaults are 4K-token Wikipedia sequences)."""
    cfg = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    cfg.update(seq_tokens=320, prefill_tokens=256, n_seqs=2, layers=[1, 20], queries_per_seq=16,
               metric="neg_attn_loss", cache_dir=str(tmp_path_factory.mktemp("pimdse-cache")))
    cfg["text"] = cfg["text"] | {"source": "lee", "calib_seqs": 1}
    return cfg
